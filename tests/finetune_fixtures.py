"""Helpers for the fine-tuning tests: a tiny GPT-2 with a byte-level BPE tokenizer, both
built here (no download), and a SQLite store filled with cafe conversations."""

from __future__ import annotations

import uuid
from pathlib import Path

from moments_core.store.base import LogStore
from moments_core.store.synthetic import _ASKS, _REPLIES, agent_info, conversation

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def build_tiny_gpt2(folder: Path, seed: int = 0) -> Path:
    """A 2-layer GPT-2 (random weights) and a byte-level BPE trained on cafe lines."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    torch.manual_seed(seed)
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    corpus = [*_ASKS, *_REPLIES, "system user assistant Instructions Begin barista cafe"]
    raw.train_from_iterator(corpus, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
        bos_token="<|endoftext|>",
    )
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(folder)
    config = GPT2Config(vocab_size=raw.get_vocab_size(), n_positions=512, n_embd=32,
                        n_layer=2, n_head=2, bos_token_id=0, eos_token_id=0)
    GPT2LMHeadModel(config).save_pretrained(folder)
    return folder


def fill_store(store: LogStore, conversations: int = 12, turns: int = 3,
               agent_id: str = "cafebot", variant: str = "01") -> None:
    """Chat-shaped conversations; every second reply is regenerated, so the store also
    holds Rejected lines (DPO pairs)."""
    for n in range(conversations):
        info = agent_info(str(uuid.uuid4()), agent_id, variant, "chat")
        for snap in conversation(turns, info, seed=n, regenerate_every=2):
            store.save_snapshot(snap, info)
