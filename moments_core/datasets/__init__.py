"""Trees -> training data. One module per format, all fed by the same tree walk."""

from .export import ExportSummary, export_dataset, export_to_files, iter_rows, preview
from .formats import FORMATS, get_format
from .walk import Conversation, ExportFilters, TreeView, conversations_of

__all__ = [
    "FORMATS",
    "Conversation",
    "ExportFilters",
    "ExportSummary",
    "TreeView",
    "conversations_of",
    "export_dataset",
    "export_to_files",
    "get_format",
    "iter_rows",
    "preview",
]
