"""Build a provider by name from a config's fields and the settings (keys, URLs, paths)."""

from __future__ import annotations

from pathlib import Path

from moments_core.settings import PROJECT_ROOT, Settings, get_settings

from .base import Provider

# "instant" answers at once by echoing (demos, UI tests, benchmarks); no model behind it.
PROVIDERS: tuple[str, ...] = ("local", "transformers", "openai", "cohere", "instant")


def make_provider(
    name: str,
    model: str = "",
    *,
    api_key: str = "",
    base_url: str = "",
    device: str = "auto",
    settings: Settings | None = None,
) -> Provider:
    """The provider called ``name``. ``api_key``/``base_url`` from the config win over the
    settings (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``CO_API_KEY``, ``CO_API_URL``)."""
    s = settings or get_settings()
    if name == "local":
        from .local import LocalProvider

        path = model if model.endswith(".gguf") else s.local_model_path
        return LocalProvider(_resolve(path) if path else None, n_ctx=s.local_n_ctx,
                             threads=s.local_threads)
    if name == "transformers":
        from .hf_transformers import TransformersProvider

        return TransformersProvider(_resolve(model), device=device)
    if name == "openai":
        from .openai_provider import OpenAIProvider

        return OpenAIProvider(
            model, api_key=api_key or s.openai_api_key, base_url=base_url or s.openai_base_url
        )
    if name == "cohere":
        from .cohere_provider import CohereProvider

        return CohereProvider(
            model, api_key=api_key or s.cohere_api_key, base_url=base_url or s.cohere_base_url
        )
    if name == "instant":
        from .instant import InstantProvider

        return InstantProvider()
    raise ValueError(f"unknown provider {name!r}; expected one of {', '.join(PROVIDERS)}")


def _resolve(path: str) -> Path:
    """Relative paths are relative to the project root, so configs work from any folder."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else PROJECT_ROOT / p
