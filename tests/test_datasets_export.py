"""Dataset exporters over a real store filled by the real agent runtime.

Each JSONL/Parquet output is loaded with the `datasets` library; the sft and dpo rows go
through TRL's own chat-template utilities with a tiny tokenizer made here.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from moments_core import mdl
from moments_core.agents import Agent
from moments_core.agents.config import parse_config
from moments_core.datasets import ExportFilters, export_to_files, preview
from moments_core.providers.instant import InstantProvider
from moments_core.store import Feedback, LogStore

CONFIG = """
mdl: "0.3"
kind: Agent
id: cafebot
variant: "{variant}"
provider: local
model: smollm2-135m-instruct
mode: chat
participant: Customer
init: |
  Instructions: '''
  You are a barista.
  '''
  Begin.
"""


def agent(store: LogStore, variant: str = "01", replies: list[str] | None = None) -> Agent:
    queue = list(replies or [])

    def reply(_prompt: Any) -> str:
        return queue.pop(0) if queue else "Coming right up."

    config = parse_config(CONFIG.format(variant=variant))
    return Agent(config, InstantProvider(reply), store)


def finish(events: Iterator[Any]) -> Any:
    result = None
    for item in events:
        if not isinstance(item, str):
            result = item
    assert result is not None
    return result


@dataclass
class Filled:
    store: LogStore
    regen_first: mdl.Snapshot  # the first answer, later regenerated (thumbs down)
    regen_second: mdl.Snapshot  # its replacement (thumbs up)
    excluded_moment: str
    other_variant_moment: str
    vote_winner: mdl.Snapshot
    vote_loser: mdl.Snapshot


@pytest.fixture
def filled(sqlite_store: LogStore) -> Filled:
    store = sqlite_store
    a = agent(store, replies=["Hi! What can I get you?", "A latte, coming up.",
                              "Sure, oat milk latte!", "Anything else?"])
    root = a.start()
    t1 = finish(a.respond(root, "Hello"))
    t2 = finish(a.respond(t1.snapshot, "A latte please"))
    store.add_feedback(Feedback(t2.snapshot.id, "thumbs", -1))
    t2b = finish(a.regenerate(t2.snapshot))
    store.add_feedback(Feedback(t2b.snapshot.id, "thumbs", 1))
    store.add_feedback(Feedback(t2b.snapshot.id, "rating", 5))
    store.add_feedback(Feedback(t2b.snapshot.id, "label", "good-save"))
    finish(a.respond(t2b.snapshot, "With oat milk"))

    b = agent(store, replies=["Rude answer."])
    broot = b.start()
    bt = finish(b.respond(broot, "Hi"))
    store.add_feedback(Feedback(bt.snapshot.id, "exclude", True))

    c = agent(store, variant="02", replies=["Variant two here."])
    croot = c.start(source="compare")
    ct = finish(c.respond(croot, "Hello"))
    d = agent(store, replies=["Variant one here."])
    droot = d.start(source="compare")
    dt = finish(d.respond(droot, "Hello"))
    store.add_feedback(Feedback(dt.snapshot.id, "preference", dt.snapshot.id,
                                other_snapshot_id=ct.snapshot.id))
    return Filled(store, t2.snapshot, t2b.snapshot, broot.moment_id, croot.moment_id,
                  dt.snapshot, ct.snapshot)


def export(filled: Filled, fmt: str, tmp_path: Path, suffix: str = ".jsonl",
           **filters: Any) -> tuple[list[dict[str, Any]], Any]:
    out = tmp_path / f"out{suffix}"
    summary = export_to_files(filled.store, fmt, out, ExportFilters(**filters))
    if suffix == ".csv":
        with out.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh)), summary
    import datasets

    kind = "parquet" if suffix == ".parquet" else "json"
    ds = datasets.load_dataset(kind, data_files=str(out), split="train")
    return [dict(r) for r in ds], summary


def test_csv_one_row_per_leaf_and_round_trips_through_the_parser(
    filled: Filled, tmp_path: Path
) -> None:
    rows, summary = export(filled, "csv", tmp_path, ".csv", agent_id="cafebot",
                           agent_variant="01")
    assert list(rows[0]) == ["agent_kind", "agent_id", "agent_variant", "agent_instance_id",
                             "moment_id", "snapshot_id", "moment"]
    # The regenerated chat has two leaves; the excluded chat is left out; variant 02 too.
    assert summary.rows == len(rows) == 3
    assert filled.excluded_moment not in {r["moment_id"] for r in rows}
    for row in rows:
        moment = mdl.parse_moment(row["moment"])
        assert moment.to_mdl() == row["moment"]
        stored = filled.store.get_snapshot(row["snapshot_id"])
        assert stored.moment.to_mdl() == row["moment"]
    regen = next(r for r in rows if "Rejected:" in r["moment"])
    assert 'Rejected: "A latte, coming up."' in regen["moment"]


def test_openai_chat_weights_thumbs_down_and_never_trains_on_rejected(
    filled: Filled, tmp_path: Path
) -> None:
    rows, _ = export(filled, "openai-chat", tmp_path, agent_variant="01")
    texts = {m["content"]: m for r in rows for m in r["messages"]}
    assert texts["A latte, coming up."]["weight"] == 0  # thumbs down
    assert texts["Sure, oat milk latte!"]["weight"] == 1
    for r in rows:
        assert r["messages"][0]["role"] == "system"
        assert r["messages"][0]["content"].startswith("You are a barista.\nBegin.")
        roles = [m["role"] for m in r["messages"]]
        assert "assistant" in roles
    # The regenerated branch has the old answer only as a Rejected line: not a message.
    regen_rows = [r for r in rows
                  if any(m["content"] == "Sure, oat milk latte!" for m in r["messages"])]
    assert regen_rows
    for r in regen_rows:
        assert all(m["content"] != "A latte, coming up." for m in r["messages"])


def test_sft_jsonl_and_parquet_load_and_pass_trl_chat_templates(
    filled: Filled, tmp_path: Path, tiny_tokenizer: Any
) -> None:
    from trl.data_utils import apply_chat_template, is_conversational

    for suffix in (".jsonl", ".parquet"):
        rows, summary = export(filled, "sft", tmp_path, suffix, agent_variant="01")
        # the chat's two branches (one cut at the thumbs down) and the compare lane
        assert summary.rows == len(rows) == 3
        assert all(r["messages"][-1]["role"] == "assistant" for r in rows)
        for row in rows:
            assert is_conversational(row)
            text = apply_chat_template(row, tiny_tokenizer)["text"]
            assert "<|assistant|>" in text and "You are a barista." in text
        # cut before the thumbs-down reply: that line is never an SFT target
        assert all(m["content"] != "A latte, coming up." for r in rows for m in r["messages"])


def test_prompt_completion_one_row_per_agent_turn(filled: Filled, tmp_path: Path) -> None:
    rows, _ = export(filled, "prompt-completion", tmp_path, agent_variant="01")
    completions = [r["completion"] for r in rows]
    # 4 answers in the chat (one thumbed down), the shared first turn written once.
    assert sorted(completions) == sorted(
        ['"Hi! What can I get you?"\n', '"Sure, oat milk latte!"\n', '"Anything else?"\n',
         '"Variant one here."\n']
    )
    for r in rows:
        assert r["prompt"].endswith("Self: ")
        assert "Rejected:" not in r["prompt"]
        mdl.parse_moment(r["prompt"][: -len("Self: ")])


def test_dpo_from_rejected_votes_and_sibling_thumbs(
    filled: Filled, tmp_path: Path, tiny_tokenizer: Any
) -> None:
    from trl.data_utils import apply_chat_template, is_conversational

    rows, summary = export(filled, "dpo", tmp_path)
    pairs = {(r["chosen"][0]["content"], r["rejected"][0]["content"]) for r in rows}
    # (a) Rejected -> chosen Self, and (c) siblings thumbs up/down give the same pair
    # from two sources; (b) the compare vote.
    assert ("Sure, oat milk latte!", "A latte, coming up.") in pairs
    assert ("Variant one here.", "Variant two here.") in pairs
    assert summary.preference_share == 1.0
    for row in rows:
        assert is_conversational(row)
        out = apply_chat_template(row, tiny_tokenizer)
        assert set(out) >= {"prompt", "chosen", "rejected"}
        assert row["prompt"][-1]["role"] == "user"
    openai_rows, _ = export(filled, "openai-preference", tmp_path)
    assert len(openai_rows) == len(rows)
    assert {"input", "preferred_output", "non_preferred_output"} <= set(openai_rows[0])


def test_oasst_trees_hold_the_whole_tree(filled: Filled, tmp_path: Path) -> None:
    rows, _ = export(filled, "oasst-trees", tmp_path, agent_variant="01")
    tree = next(r for r in rows if r["message_tree_id"] == filled.regen_first.moment_id)
    (first,) = tree["roots"]
    assert first["role"] == "prompter" and first["text"] == "Hello"
    (answer,) = first["replies"]
    assert answer["role"] == "assistant"
    (ask,) = answer["replies"]
    assert ask["text"] == "A latte please"
    branches = {r["text"]: r for r in ask["replies"]}
    assert set(branches) == {"A latte, coming up.", "Sure, oat milk latte!"}
    assert branches["A latte, coming up."]["thumbs"] == -1
    assert branches["Sure, oat milk latte!"]["rating"] == 5
    assert branches["Sure, oat milk latte!"]["labels"] == ["good-save"]
    assert "You are a barista." in tree["system"]


def test_filters_rating_latest_split_and_excluded(filled: Filled, tmp_path: Path) -> None:
    rows, _ = export(filled, "csv", tmp_path, ".csv", min_rating=4)
    assert len(rows) == 1  # only the branch through the 5-star answer
    path = [s.id for s in filled.store.path(rows[0]["snapshot_id"])]
    assert filled.regen_second.id in path
    rows, _ = export(filled, "csv", tmp_path, ".csv", branches="latest", agent_variant="01")
    assert len(rows) == 2  # one per moment (the excluded one is still out)
    rows, _ = export(filled, "csv", tmp_path, ".csv", include_excluded=True,
                     agent_variant="01")
    assert filled.excluded_moment in {r["moment_id"] for r in rows}
    rows, _ = export(filled, "csv", tmp_path, ".csv", agent_variant="02")
    assert {r["moment_id"] for r in rows} == {filled.other_variant_moment}

    split = ExportFilters(validation_fraction=0.5, seed=3)
    out = tmp_path / "split.csv"
    summary = export_to_files(filled.store, "csv", out, split)
    train = (tmp_path / "split-train.csv").read_text()
    validation = (tmp_path / "split-validation.csv").read_text()
    assert sum(summary.rows_by_split.values()) == summary.rows
    again = ExportFilters(validation_fraction=0.5, seed=3)
    assert all(split.split_of(m) == again.split_of(m) for m in ("a", "b", "c", "d"))
    moments_train = {r["moment_id"] for r in csv.DictReader(train.splitlines())}
    moments_val = {r["moment_id"] for r in csv.DictReader(validation.splitlines())}
    assert not moments_train & moments_val


def test_preview_counts_without_writing(filled: Filled) -> None:
    first, summary = preview(filled.store, "sft", ExportFilters(agent_variant="01"), limit=1)
    # the chat's two branches and one compare lane; turns counted along each branch
    assert len(first) == 1 and summary.rows == 3
    assert summary.conversations == 3 and summary.moments == 2 and summary.turns == 6
    assert summary.average_turns == pytest.approx(2.0)


def test_bad_output_suffix_is_refused(filled: Filled, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="csv"):
        export_to_files(filled.store, "csv", tmp_path / "x.jsonl", ExportFilters())
    with pytest.raises(ValueError, match="Parquet"):
        export_to_files(filled.store, "oasst-trees", tmp_path / "x.parquet", ExportFilters())
    with pytest.raises(ValueError, match="unknown dataset format"):
        export_to_files(filled.store, "nope", tmp_path / "x.jsonl", ExportFilters())


@pytest.fixture(scope="module")
def tiny_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A byte-level BPE tokenizer with a chat template, built here (no download)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(["You are a barista. Hello, a latte please."], trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>")
    fast.chat_template = (
        "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    return fast
