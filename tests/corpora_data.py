"""A hand-written tiny Reddit corpus (either ConvoKit generation) and the synthetic writer.

Expected with default options: 4 threads; skipped: 3 deleted or removed, 1 empty text,
1 missing parent, 1 no second person, 1 too few turns.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# (id, speaker, conversation, reply_to, text, score, subreddit)
TINY: list[tuple[str, str, str, str | None, str, int, str]] = [
    ("p1", "alice", "p1", None, "How do I brew coffee?", 10, "Coffee"),
    ("c1", "bob", "p1", "p1", "Use a French press.", 5, "Coffee"),
    ("c2", "alice", "p1", "c1", "Thanks! How long?", 4, "Coffee"),
    ("c3", "bob", "p1", "c2", 'Four "long" minutes ☕\nthen press.', 3, "Coffee"),
    ("c4", "carol", "p1", "c2", "I do five.", 2, "Coffee"),
    ("c5", "[deleted]", "p1", "c1", "[deleted]", 1, "Coffee"),
    ("c6", "dave", "p1", "p1", "Pour over!", 1, "Coffee"),
    ("c7", "erin", "p1", "c6", "[removed]", 1, "Coffee"),
    ("c8", "dave", "p1", "c7", "huh?", 1, "Coffee"),
    ("c9", "carol", "p1", "p1", "   ", 1, "Coffee"),
    ("c10", "frank", "p1", "zzz", "an orphan", 1, "Coffee"),
    ("c11", "alice", "p1", "p1", "Anyone else?", 1, "Coffee"),
    ("p2", "[deleted]", "p2", None, "a post whose author is gone", 1, "Coffee"),
    ("c12", "gina", "p2", "p2", "hello?", 1, "Coffee"),
    ("p3", "hank", "p3", None, "Best movie?", 1, "AskReddit"),
    ("c13", "ivan", "p3", "p3", "Heat", -5, "AskReddit"),
    ("c14", "judy", "p3", "p3", "Alien", 3, "AskReddit"),
    ("c15", "hank", "p3", "c14", "Good one", 2, "AskReddit"),
    ("p4", "kim", "p4", None, "a lonely post", 1, "AskReddit"),
]


def utterance(row: tuple[str, str, str, str | None, str, int, str], generation: str,
              ts: int) -> dict[str, Any]:
    uid, speaker, conv, reply_to, text, score, sub = row
    meta = {"score": score, "top_level_comment": None, "retrieved_on": ts + 100, "gilded": 0,
            "gildings": {"gid_1": 0}, "subreddit": sub, "stickied": False,
            "permalink": f"/r/{sub}/comments/{conv}/x/{uid}/", "author_flair_text": ""}
    if generation == "older":
        return {"id": uid, "user": speaker, "root": conv, "reply_to": reply_to,
                "timestamp": ts, "text": text, "meta": meta}
    return {"id": uid, "conversation_id": conv, "text": text, "speaker": speaker,
            "meta": meta, "reply-to": reply_to, "timestamp": ts, "vectors": []}


def tiny_lines(generation: str = "current") -> list[str]:
    return [json.dumps(utterance(r, generation, 1_600_000_000 + i), ensure_ascii=False)
            for i, r in enumerate(TINY)]


def write_tiny(folder: Path, generation: str = "current",
               lines: list[str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    body = "\n".join(tiny_lines(generation) if lines is None else lines) + "\n"
    (folder / "utterances.jsonl").write_text(body, encoding="utf-8")
    convs: dict[str, Any] = {
        r[0]: {"title": f"post {r[0]}", "subreddit": r[6]} for r in TINY if r[3] is None
    }
    speakers: dict[str, Any] = {r[1]: {} for r in TINY}
    if generation == "older":
        (folder / "users.json").write_text(json.dumps(speakers))
        (folder / "index.json").write_text(json.dumps({"users-index": {}, "version": 1}))
    else:
        convs = {k: {"meta": v, "vectors": []} for k, v in convs.items()}
        (folder / "speakers.json").write_text(
            json.dumps({k: {"meta": {}, "vectors": []} for k in speakers}))
        (folder / "index.json").write_text(json.dumps({"speakers-index": {}, "version": 1}))
    (folder / "conversations.json").write_text(json.dumps(convs))
    (folder / "corpus.json").write_text(json.dumps({"subreddit": "tiny"}))
    return folder


def zip_folder(folder: Path) -> Path:
    archive = folder.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(folder.iterdir()):
            z.write(p, f"{folder.name}/{p.name}")
    return archive


def synthetic() -> ModuleType:
    """benchmarks/make_convokit_corpus.py as a module (benchmarks/ is not a package)."""
    name = "make_convokit_corpus"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, ROOT / "benchmarks" / "make_convokit_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
