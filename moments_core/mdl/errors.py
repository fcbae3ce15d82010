"""The one exception the MDL parser raises."""

from __future__ import annotations


class MDLSyntaxError(ValueError):
    """Bad MDL text, with the 1-based line and column where reading stopped.

    ``str(err)`` is ``"LINE:COL: message"`` so tools can print it after a file name.
    """

    def __init__(self, message: str, line: int, column: int) -> None:
        self.message = message
        self.line = line
        self.column = column
        super().__init__(f"{line}:{column}: {message}")
