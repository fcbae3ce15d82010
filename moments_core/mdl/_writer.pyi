from collections.abc import Callable, Sequence

def write(occurrences: Sequence[object], participant_type: type, heads: dict[type, str],
          quote_emotion: Callable[[str], str]) -> str: ...
