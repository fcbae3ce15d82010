"""Public conversation corpora -> moments: ConvoKit Reddit corpora and chitchat-dataset.

    from moments_core.corpora import Conversion, ThreadOptions, load_target, to_csv

    target = load_target("Agent", "cafebot", "01")
    result = to_csv(Conversion("reddit", path="reddit-corpus-small.zip"), target, "out.csv")
    result.stats.summary()

Threads stream: a corpus is never held whole in memory.
"""

from .agent_target import AgentTarget, load_target
from .chitchat import ChitchatMissing, chitchat_threads
from .convokit import ConvoKitCorpus, CorpusError, Utterance, parse_utterance
from .reddit import reddit_threads
from .reddit_threads import ThreadOptions, conversation_threads
from .run import Conversion, Result, preview, to_csv, to_store
from .seed_csv import default_s3_url, write_seed
from .stats import BadLine, ConversionStats
from .thread import END_OF_TEXT, Thread

__all__ = [
    "END_OF_TEXT",
    "AgentTarget",
    "BadLine",
    "ChitchatMissing",
    "Conversion",
    "ConversionStats",
    "ConvoKitCorpus",
    "CorpusError",
    "Result",
    "Thread",
    "ThreadOptions",
    "Utterance",
    "chitchat_threads",
    "conversation_threads",
    "default_s3_url",
    "load_target",
    "parse_utterance",
    "preview",
    "reddit_threads",
    "to_csv",
    "to_store",
    "write_seed",
]
