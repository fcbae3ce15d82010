"""Chat templates that mark the agent's turns for TRL's assistant-only loss.

TRL masks the loss to the tokens a template renders inside ``{% generation %}`` ...
``{% endgeneration %}``. Most base models' templates lack those tags, so a template
without them is replaced by a ChatML one that has them. ChatML is what SmolLM2 already
speaks; for other models the saved tokenizer carries the new template, so the served
checkpoint is prompted exactly as it was trained.
"""

from __future__ import annotations

import re
from typing import Any

GENERATION_TAG = re.compile(r"\{%-?\s*generation\s*-?%\}")

# The end-of-turn marker sits inside the generation block: the model must learn to stop.
_CHATML = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{ '<|im_start|>assistant\\n' }}"
    "{%- generation -%}{{ message['content'] + END }}{%- endgeneration -%}"
    "{{ '\\n' }}"
    "{%- else -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + END + '\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
)
IM_END = "<|im_end|>"


def has_generation_tags(template: str | None) -> bool:
    return bool(template) and GENERATION_TAG.search(template or "") is not None


def chatml_template(end_of_turn: str) -> str:
    """ChatML with generation tags; ``end_of_turn`` closes every message."""
    end = end_of_turn.replace("\\", "\\\\").replace("'", "\\'")
    return _CHATML.replace("END", f"'{end}'")


def end_of_turn_token(tokenizer: Any) -> str:
    """``<|im_end|>`` when the vocabulary has it as one token, else the EOS token (a
    model stops generating on EOS, so the turn end must be a token it emits)."""
    vocab = tokenizer.get_vocab()
    if IM_END in vocab:
        return IM_END
    eos = tokenizer.eos_token
    if not eos:
        raise ValueError("the tokenizer has neither <|im_end|> nor an EOS token to end a turn")
    return str(eos)


def ensure_generation_template(tokenizer: Any) -> bool:
    """Give ``tokenizer`` a template with generation tags; True when it was changed.
    Also makes the turn end the EOS token, so generation stops after one turn."""
    if has_generation_tags(getattr(tokenizer, "chat_template", None)):
        return False
    end = end_of_turn_token(tokenizer)
    tokenizer.chat_template = chatml_template(end)
    if tokenizer.eos_token != end:
        tokenizer.eos_token = end
    if tokenizer.pad_token is None:
        tokenizer.pad_token = end
    return True
