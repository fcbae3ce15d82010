"""The transformers provider on a tiny GPT-2 that the test builds and saves itself
(random weights, a word-level tokenizer trained here: no download)."""

from __future__ import annotations

from pathlib import Path

import pytest

from moments_core.providers import GenerationParams, Message, Prompt, make_provider
from moments_core.providers.errors import ProviderUnavailable
from moments_core.providers.hf_transformers import TransformersProvider, pick_device
from moments_core.settings import Settings

WORDS = [
    "hello", "welcome", "to", "the", "cafe", "what", "can", "i", "get", "you", "a", "latte",
    "please", "large", "small", "coffee", "tea", "customer", "self", "thanks", "sure", "size",
    "name",
]


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-gpt2")
    vocab = {w: i for i, w in enumerate(["<unk>", "<eos>", " ", "\n", ":", '"', *WORDS])}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Split(Regex(r"\s|\w+|[^\w\s]"), behavior="isolated")
    raw.decoder = decoders.Fuse()  # tokens carry their own spaces
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="<unk>",
                                        eos_token="<eos>", pad_token="<eos>")
    tokenizer.save_pretrained(folder)
    config = GPT2Config(vocab_size=len(vocab), n_positions=256, n_embd=32, n_layer=2,
                        n_head=2, bos_token_id=1, eos_token_id=1)
    GPT2LMHeadModel(config).save_pretrained(folder)
    return folder


# Random weights repeat one token under greedy decoding; seeded sampling gives words.
GREEDY = GenerationParams(temperature=1.0, max_tokens=16, seed=3)
CHAT = Prompt("chat", messages=(Message("system", "the cafe"),
                                Message("user", "a latte please", name="Customer")))


def test_streams_and_joins_to_the_complete_text(tiny_checkpoint: Path) -> None:
    provider = TransformersProvider(tiny_checkpoint, device="cpu")
    chunks = list(provider.stream(CHAT, GREEDY))
    assert len(chunks) >= 2
    assert "".join(chunks) == provider.complete(CHAT, GREEDY)  # same seed: the same text
    assert "".join(chunks).strip()


def test_stop_sequences_cut_the_turn(tiny_checkpoint: Path) -> None:
    provider = TransformersProvider(tiny_checkpoint, device="cpu")
    full = provider.complete(CHAT, GenerationParams(temperature=1.0, max_tokens=24, seed=3))
    assert len(full) > 12
    stop = full[8:12]
    cut = provider.complete(CHAT, GenerationParams(temperature=1.0, max_tokens=24, seed=3,
                                                   stop=[stop]))
    assert cut == full[: full.index(stop)]


def test_chat_template_is_used_when_the_checkpoint_has_one(tiny_checkpoint: Path) -> None:
    from transformers import AutoTokenizer

    provider = TransformersProvider(tiny_checkpoint, device="cpu")
    plain = AutoTokenizer.from_pretrained(tiny_checkpoint)
    assert provider._prompt_text(plain, CHAT) == "the cafe\nCustomer: a latte please\nSelf:"
    plain.chat_template = ("{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
                           "{% if add_generation_prompt %}assistant:{% endif %}")
    text = provider._prompt_text(plain, CHAT)
    assert text == "system: the cafe\nuser: a latte please\nassistant:"


def test_factory_resolves_the_folder_and_device(tiny_checkpoint: Path) -> None:
    provider = make_provider("transformers", str(tiny_checkpoint), device="cpu",
                             settings=Settings())
    assert isinstance(provider, TransformersProvider)
    assert provider.complete(CHAT, GREEDY) == TransformersProvider(
        tiny_checkpoint, device="cpu").complete(CHAT, GREEDY)
    assert pick_device("cpu") == "cpu" and pick_device("auto") in ("cpu", "cuda")


def test_a_folder_that_is_not_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(ProviderUnavailable, match="not a Hugging Face checkpoint"):
        TransformersProvider(tmp_path).complete(CHAT, GREEDY)


def test_usage_and_window_come_from_the_checkpoint(tiny_checkpoint: Path) -> None:
    provider = TransformersProvider(tiny_checkpoint, device="cpu")
    call = provider.generate(CHAT, GREEDY)
    assert call.text.strip()
    assert call.usage.prompt_tokens is not None and call.usage.prompt_tokens > 3
    assert call.usage.completion_tokens is not None and 0 < call.usage.completion_tokens <= 16
    assert call.usage.finish_reason in ("stop", "length")
    # n_positions 256 less the answer's room: the renderer windows long moments to it
    assert provider.prompt_budget(GREEDY) == 256 - 16 - 16
    assert provider.count_tokens("a latte please") == 5  # words and spaces, by its tokenizer
