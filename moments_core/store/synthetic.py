"""Synthetic conversations (chat-shaped snapshot chains and trees) for tests and benchmarks.

A turn is two snapshots, as chat writes them: the participant's line, then Self's reply.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

from moments_core.mdl import Begin, Moment, Occurrence, Participant, Rejected, Self, Snapshot, now

from .base import MomentInfo

# What a customer and a barista bot actually say: 60-96 characters a line (about 80 on
# average). The store's size target is relative to the MDL text, so lines of a realistic
# length matter for an honest figure; ~35-character lines made every row mostly overhead.
_ASKS = [
    "Hi! Could I get a medium oat milk latte, please? Not too hot, I'm drinking it now.",
    "Do you have any dairy-free options for the pastries, or is it only the fruit cup?",
    "A large americano with a splash of cold milk, and one of those almond croissants.",
    "What would you recommend today? I usually go for something strong but not bitter.",
    "How much is the flat white with an extra shot? I only have about five dollars on me.",
    "Make it a double, please. I've got back-to-back meetings until six tonight.",
    "Is the banana bread gluten free? My sister has celiac, so I need to be careful.",
    "My name's John, by the way. Can you write it on the cup so I don't lose it?",
    "Could you make that decaf instead? I just realised it's already past four o'clock.",
    "Can I pay with my phone, or is it cash only at this counter?",
    "Actually, can I change the croissant to a blueberry muffin if it's still warm?",
    "Do you roast the beans here, or do they come from somewhere local?",
]
_REPLIES = [
    "Good morning! One medium oat latte at drinking temperature coming right up. Anything else?",
    "We have a vegan banana loaf and a dairy-free chocolate cookie today, both baked this morning.",
    "Sure thing: a large americano with cold milk and an almond croissant. That's $7.80 in total.",
    "Try the Ethiopian pour-over today. It's bold, with a fruity "
    "finish and very little bitterness.",
    "A flat white with an extra shot is $4.60, so you're fine. Would you like it to stay or to go?",
    "A double it is. I'll make it extra quick so you can get to your first meeting on time.",
    "It isn't, I'm afraid, but our flourless almond cake is "
    "certified gluten free and very popular.",
    "Nice to meet you, John! I've written your name on the cup; "
    "it'll be ready at the end of the bar.",
    "No problem, I've switched it to decaf. Same size and milk as before?",
    "We take cards, phones and cash here, whichever is easiest for you.",
    "The blueberry muffins just came out of the oven, so I've swapped it. Still warm!",
    "We roast every Tuesday in the back room, with beans from a cooperative in Huila, Colombia.",
]


def conversation(
    turns: int, info: MomentInfo, *, seed: int = 0, regenerate_every: int = 0,
    participant: str = "Customer",
) -> list[Snapshot]:
    """Snapshots of one conversation, parents first. With ``regenerate_every`` = k, every
    k-th reply is regenerated once: the discarded reply becomes a Rejected line on a new
    branch from the participant's snapshot, which then continues (the old reply is a leaf).
    """
    rng = random.Random(seed)  # noqa: S311 - picks sample lines, not secrets
    t0 = info.created_at
    occ: list[Occurrence] = [Begin()]
    out: list[Snapshot] = []
    prev: str | None = None
    for turn in range(turns):
        occ = [*occ, Participant(participant, rng.choice(_ASKS))]
        snap = Snapshot(Moment(list(occ)), moment_id=info.moment_id, previous_snapshot_id=prev,
                        timestamp=t0 + timedelta(seconds=len(out)))
        out.append(snap)
        asked = snap.id
        reply = Self(rng.choice(_REPLIES))
        snap = Snapshot(Moment([*occ, reply]), moment_id=info.moment_id,
                        previous_snapshot_id=asked, timestamp=t0 + timedelta(seconds=len(out)))
        out.append(snap)
        if regenerate_every and (turn + 1) % regenerate_every == 0:
            occ = [*occ, Rejected(reply.says), Self(rng.choice(_REPLIES))]
            snap = Snapshot(Moment(list(occ)), moment_id=info.moment_id,
                            previous_snapshot_id=asked,
                            timestamp=t0 + timedelta(seconds=len(out)))
            out.append(snap)
        else:
            occ = [*occ, reply]
        prev = snap.id
    return out


def agent_info(moment_id: str, agent_id: str = "cafebot", variant: str = "01",
               source: str = "chat") -> MomentInfo:
    return MomentInfo(moment_id=moment_id, agent_kind="Agent", agent_id=agent_id,
                      agent_variant=variant, agent_instance_id="i1", source=source,
                      created_at=now())


def race_snapshots(
    worker: int, count: int, root: Snapshot, moment_ids: list[str]
) -> Iterator[tuple[Snapshot, MomentInfo]]:
    """What one of many concurrent writers saves in the store's race tests: every other
    snapshot a sibling under the shared ``root``, the rest new roots of the moments
    ``moment_ids``, which every worker creates at the same time (same agent info)."""
    root_info = agent_info(root.moment_id, variant="race")
    for i in range(count):
        if i % 2 == 0:
            occ = [*root.moment.occurrences, Self(f"worker {worker} sibling {i}")]
            yield (Snapshot(Moment(occ), moment_id=root.moment_id,
                            previous_snapshot_id=root.id), root_info)
        else:
            mid = moment_ids[(i // 2) % len(moment_ids)]
            snap = Snapshot(Moment([Begin(), Participant("Customer", f"w{worker} #{i}")]),
                            moment_id=mid)
            yield snap, agent_info(mid, variant="race")
