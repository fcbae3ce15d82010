"""Write a synthetic ConvoKit Reddit corpus, in either format generation.

No real Reddit corpus can be downloaded here, so tests and the benchmark use this. The
shape follows ConvoKit's Reddit corpora: each post followed by its comments (grouped by
conversation), nested replies of varied depth, deleted and removed comments, replies whose
parent is missing, link posts with empty text, unicode, quotes, newlines and long texts.
The same seed gives the same data in both generations, only spelled differently.

    python benchmarks/make_convokit_corpus.py OUT_DIR --posts 8300 [--older] [--zip]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_VOCABULARY = (
    "the a coffee I you it think really good that is this was what not just like people "
    "would know time but do get they have one more don't my can so about if out your "
    "reddit post thread edit: source? agreed lol exactly because since thanks "
    "café naïve jalapeño résumé 👍 😂 🤔 日本語 Ελληνικά русский \"quoted\" it's (aside)"
)
WORDS = tuple(_VOCABULARY.split(" "))
SUBREDDITS = ("AskReddit", "Coffee", "personalfinance", "learnpython", "science", "movies")
DELETED_TEXTS = ("[deleted]", "[removed]")


@dataclass(frozen=True, slots=True)
class Shape:
    posts: int = 100
    max_comments: int = 71  # comments per post: uniform 0..max, mean ~36
    deleted_rate: float = 0.03
    missing_parent_rate: float = 0.005
    link_post_rate: float = 0.15  # posts with empty text (a link)
    long_text_rate: float = 0.02
    top_level_rate: float = 0.3  # a comment answers the post rather than a comment
    users: int = 20_000


def _text(rng: random.Random, long_rate: float) -> str:
    n = rng.randint(300, 500) if rng.random() < long_rate else rng.randint(3, 40)
    words = rng.choices(WORDS, k=n)
    if n > 12 and rng.random() < 0.2:
        words.insert(n // 2, "\n\n")  # Reddit markdown paragraphs
    return " ".join(words).replace(" \n\n ", "\n\n")


def _records(shape: Shape, seed: int) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(utterance, conversation meta for a post else None), post first, then its comments."""
    rng = random.Random(seed)
    t = 1_535_839_576
    for p in range(shape.posts):
        sub = rng.choice(SUBREDDITS)
        post_id = f"p{p:06x}"
        author = f"user_{rng.randrange(shape.users)}"
        t += rng.randint(1, 300)
        n_comments = rng.randint(0, shape.max_comments)
        text = "" if rng.random() < shape.link_post_rate else _text(rng, shape.long_text_rate)
        meta = {"score": rng.randint(-5, 500), "top_level_comment": None,
                "retrieved_on": t + 86_400 * 30, "gilded": 0,
                "gildings": {"gid_1": 0, "gid_2": 0, "gid_3": 0}, "subreddit": sub,
                "stickied": False, "permalink": f"/r/{sub}/comments/{post_id}/a_title/",
                "author_flair_text": ""}
        conv_meta = {"title": " ".join(rng.choices(WORDS, k=8)), "num_comments": n_comments,
                     "domain": f"self.{sub}" if text else "example.com", "timestamp": t,
                     "subreddit": sub, "gilded": 0,
                     "gildings": {"gid_1": 0, "gid_2": 0, "gid_3": 0}, "stickied": False,
                     "author_flair_text": ""}
        yield (dict(id=post_id, speaker=author, conversation_id=post_id, reply_to=None,
                    timestamp=t, text=text, meta=meta), conv_meta)
        ids: list[str] = []
        top: dict[str, str] = {}
        for c in range(n_comments):
            cid = f"c{p:06x}{c:03x}"
            if not ids or rng.random() < shape.top_level_rate:
                parent = post_id
            else:  # recent comments get most replies: deep chains and bushy tops
                parent = rng.choice(ids[-6:])
            top[cid] = cid if parent == post_id else top[parent]
            if rng.random() < shape.missing_parent_rate:
                parent = f"gone{p:06x}{c:03x}"
            ids.append(cid)
            t += rng.randint(1, 120)
            if rng.random() < shape.deleted_rate:
                speaker, text = "[deleted]", rng.choice(DELETED_TEXTS)
            else:
                speaker = author if rng.random() < 0.15 else f"user_{rng.randrange(shape.users)}"
                text = _text(rng, shape.long_text_rate)
            cmeta = dict(meta, score=rng.randint(-10, 200), top_level_comment=top[cid],
                         permalink=f"/r/{sub}/comments/{post_id}/a_title/{cid}/")
            yield (dict(id=cid, speaker=speaker, conversation_id=post_id, reply_to=parent,
                        timestamp=t, text=text, meta=cmeta), None)


def _spell(u: dict[str, Any], generation: str) -> dict[str, Any]:
    if generation == "older":
        return {"id": u["id"], "user": u["speaker"], "root": u["conversation_id"],
                "reply_to": u["reply_to"], "timestamp": u["timestamp"], "text": u["text"],
                "meta": u["meta"]}
    return {"id": u["id"], "conversation_id": u["conversation_id"], "text": u["text"],
            "speaker": u["speaker"], "meta": u["meta"], "reply-to": u["reply_to"],
            "timestamp": u["timestamp"], "vectors": []}


def write_corpus(
    out: str | Path, shape: Shape | None = None, *, generation: str = "current",
    seed: int = 0, shuffle: bool = False, as_zip: bool = False,
) -> Path:
    """Write the corpus folder ``out`` (or ``out``.zip with the folder inside); returns it.
    ``shuffle`` writes utterances out of conversation order (small corpora only)."""
    if generation not in ("current", "older"):
        raise ValueError("generation is 'current' or 'older'")
    shape = shape or Shape()
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    convs: dict[str, Any] = {}
    speakers: set[str] = set()
    n_utts = 0
    lines: list[str] = []
    with open(folder / "utterances.jsonl", "w", encoding="utf-8") as f:
        for utt, conv_meta in _records(shape, seed):
            n_utts += 1
            speakers.add(utt["speaker"])
            if conv_meta is not None:
                convs[utt["id"]] = conv_meta if generation == "older" else {
                    "meta": conv_meta, "vectors": []}
            line = json.dumps(_spell(utt, generation), ensure_ascii=False) + "\n"
            if shuffle:
                lines.append(line)
            else:
                f.write(line)
        if shuffle:
            random.Random(seed + 1).shuffle(lines)
            f.writelines(lines)
    speaker_file = "users.json" if generation == "older" else "speakers.json"
    speaker_entry: dict[str, Any] = {} if generation == "older" else {"meta": {}, "vectors": []}
    (folder / speaker_file).write_text(json.dumps({s: speaker_entry for s in sorted(speakers)}))
    (folder / "conversations.json").write_text(json.dumps(convs, ensure_ascii=False))
    (folder / "corpus.json").write_text(json.dumps(
        {"subreddit": "synthetic", "num_posts": shape.posts, "num_comments": n_utts - shape.posts,
         "num_user": len(speakers)}))
    utt_index = {"score": "<class 'int'>", "subreddit": "<class 'str'>"}
    index: dict[str, Any] = {"utterances-index": utt_index, "conversations-index": {
        "title": "<class 'str'>"}, "overall-index": {}, "version": 1}
    if generation == "older":
        index["users-index"] = {}
    else:
        index = {**{k: ({f: [v.split("'")[1]] for f, v in d.items()} if isinstance(d, dict)
                        else d) for k, d in index.items()}, "speakers-index": {}, "vectors": []}
    (folder / "index.json").write_text(json.dumps(index))
    if not as_zip:
        return folder
    archive = folder.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.iterdir()):
            z.write(path, f"{folder.name}/{path.name}")
    shutil.rmtree(folder)
    return archive


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--posts", type=int, default=8300)
    ap.add_argument("--older", action="store_true", help="the older format generation")
    ap.add_argument("--zip", action="store_true", help="write OUT.zip instead of a folder")
    ap.add_argument("--shuffle", action="store_true", help="utterances out of order")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    path = write_corpus(args.out, Shape(posts=args.posts),
                        generation="older" if args.older else "current", seed=args.seed,
                        shuffle=args.shuffle, as_zip=args.zip)
    print(path)


if __name__ == "__main__":
    main()
