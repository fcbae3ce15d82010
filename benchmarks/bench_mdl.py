"""MDL parse / write / round-trip throughput on a realistic corpus.

Prints MB/s for a corpus of at least 5 MB (all occurrence kinds, multi-line strings,
conversations of 500+ turns) and parse time at 1x and 10x size to show it is linear.
Run: .venv/bin/python benchmarks/bench_mdl.py
"""

from __future__ import annotations

import random
import time

from moments_core import mdl

WORDS = [
    "coffee", "espresso", "latte", "please", "medium", "large", "small", "oat", "milk",
    "sugar", "thanks", "order", "name", "ready", "cafe", "morning", "hello", "budget",
    "savings", "invest", "index", "fund", "rent", "debt", "plan", "month", "goal", "😊",
    "über", "café", "naïve", "'quoted'", '"double"', "back\\slash",
]


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def conversation(rng: random.Random, turns: int) -> mdl.Moment:
    occ: list[mdl.Occurrence] = [
        mdl.Instructions(
            "You are a barista at the cafe 'ISO Ikigai'.\n" + sentence(rng, 40) + "\n"
            + sentence(rng, 30)
        ),
        mdl.Example(
            '  Customer: "Hello."\n  Self: "Welcome! What can I get you?"\n'
            '  Customer: "A latte."',
            "An example interaction",
        ),
        mdl.Begin(),
        mdl.Context.from_value({"time": "8:01am", "weather": "rainy", "queue": 3}),
    ]
    for t in range(turns):
        if rng.random() < 0.5:
            occ.append(mdl.Participant("Customer", sentence(rng, rng.randint(4, 18)),
                                       "unknown" if rng.random() < 0.2 else ""))
        else:
            occ.append(mdl.Participant("Dr. Lee", sentence(rng, rng.randint(4, 18)), "42"))
        r = rng.random()
        if r < 0.03:
            occ.append(mdl.Thought(sentence(rng, 8)))
        elif r < 0.05:
            occ.append(mdl.Action.from_value({"submit_order": {"customer": "John",
                                                               "items": ["espresso", "latte"]}}))
            occ.append(mdl.Waiting.from_value({"coffee_ready": False}))
            occ.append(mdl.Working.from_value({"making_coffee": True}))
            occ.append(mdl.Resuming.from_value({"coffee_ready": True}))
        elif r < 0.06:
            occ.append(mdl.Identification("Customer", "John"))
            occ.append(mdl.Motivation(sentence(rng, 6)))
            occ.append(mdl.Observation(sentence(rng, 6)))
        elif r < 0.07:
            occ.append(mdl.Rejected(sentence(rng, 10)))
            occ.append(mdl.CritiqueRequest(sentence(rng, 6)))
            occ.append(mdl.Critique(sentence(rng, 6)))
            occ.append(mdl.RevisionRequest(sentence(rng, 6)))
            occ.append(mdl.Revision(sentence(rng, 10), "sorry"))
        if rng.random() < 0.15:
            says = "\n".join(sentence(rng, rng.randint(5, 15)) for _ in range(rng.randint(2, 4)))
        else:
            says = sentence(rng, rng.randint(6, 25))
        occ.append(mdl.Self(says, "😊" if rng.random() < 0.1 else ""))
        _ = t
    return mdl.Moment(occ)


def corpus(target_bytes: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    texts: list[str] = []
    size = 0
    while size < target_bytes:
        turns = 500 if len(texts) % 5 == 0 else rng.randint(5, 60)  # some long ones
        text = conversation(rng, turns).to_mdl()
        texts.append(text)
        size += len(text.encode("utf-8"))
    return texts


def best_of(n: int, fn: object) -> float:
    assert callable(fn)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    texts = corpus(5 * 1024 * 1024)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    turns = max(t.count("\nSelf: ") for t in texts)
    print(f"corpus: {len(texts)} moments, {mb:.2f} MB, longest {turns} agent turns")

    parsed: list[mdl.Moment] = []

    def do_parse() -> None:
        parsed.clear()
        parsed.extend(mdl.parse_moment(t) for t in texts)

    t_parse = best_of(3, do_parse)
    t_write = best_of(3, lambda: [m.to_mdl() for m in parsed])
    t_round = best_of(3, lambda: [mdl.parse_moment(t).to_mdl() for t in texts])
    assert all(m.to_mdl() == t for m, t in zip(parsed, texts, strict=True))
    print(f"parse:      {mb / t_parse:7.1f} MB/s  ({t_parse:.3f} s)   target >= 20 MB/s")
    print(f"write:      {mb / t_write:7.1f} MB/s  ({t_write:.3f} s)   target >= 20 MB/s")
    print(f"round-trip: {mb / t_round:7.1f} MB/s  ({t_round:.3f} s)")

    # Linearity of the parser itself: results are dropped as they come, as a streaming
    # reader would, so the figure is not about holding 10x the objects in memory.
    big = texts * 10

    def parse_big() -> None:
        for t in big:
            mdl.parse_moment(t)

    t_big = best_of(1, parse_big)
    print(f"parse 1x:  {mb:7.2f} MB in {t_parse:.3f} s")
    ratio = t_big / t_parse
    print(f"parse 10x: {mb * 10:7.2f} MB in {t_big:.3f} s  (ratio {ratio:.2f}, linear = 10)")
    one = "".join(texts[:1]) * 1
    long_text = one * 10
    t1 = best_of(3, lambda: mdl.parse_moment(one))
    t10 = best_of(3, lambda: mdl.parse_moment(long_text))
    print(f"one moment {len(one) / 1e3:.0f} kB vs 10x concatenated: ratio {t10 / t1:.2f}")


if __name__ == "__main__":
    main()
