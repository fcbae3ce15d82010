"""What the routes share: settings, the store, and agents built from stored configs.

Providers are cached per back end (a model loads once, an HTTP client is reused); config
versions are cached because a stored version never changes. Nothing else is kept in the
process, so several API replicas can serve the same store.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from moments_core.agents import Agent, ConfigError, VersionedConfig, load_agent_config
from moments_core.logscrub import register_secret
from moments_core.providers import Provider, make_provider
from moments_core.settings import Settings
from moments_core.store import LogStore, MomentInfo, NotFound

from .errors import ApiError

ProviderKey = tuple[str, str, str, str, str]


@dataclass
class ApiContext:
    settings: Settings
    store: LogStore
    _providers: dict[ProviderKey, Provider] = field(default_factory=dict)
    _versions: dict[tuple[str, str, str, int], VersionedConfig] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def config(self, kind: str, agent_id: str, variant: str,
               version: int | None = None) -> VersionedConfig:
        """The newest version (or ``version``) of a variant; 404 when there is none, so a
        client can only ever run a prompt that a config defines."""
        name = f"{kind}-{agent_id}-{variant}"
        if version is not None:
            cached = self._versions.get((kind, agent_id, variant, version))
            if cached is not None:
                return cached
        try:
            vc = load_agent_config(kind, agent_id, variant, self.store, version,
                                   self.settings.configs_dir)
        except (FileNotFoundError, NotFound):
            which = f"version {version} of " if version is not None else ""
            raise ApiError(404, f"there is no {which}agent variant {name};"
                                " GET /v1/variants lists them") from None
        except ConfigError as err:
            raise ApiError(503, f"the config of {name} does not load: {err}") from None
        if vc.version is not None:
            with self._lock:
                self._versions[(kind, agent_id, variant, vc.version)] = vc
        return vc

    def provider(self, vc: VersionedConfig) -> Provider:
        c = vc.config
        api_key = c.resolved_api_key()
        register_secret(api_key)  # a key named in a config is scrubbed from logs too
        key = (c.provider, c.model, c.base_url, c.device, api_key)
        with self._lock:
            found = self._providers.get(key)
            if found is None:
                found = make_provider(c.provider, c.model, api_key=api_key, base_url=c.base_url,
                                      device=c.device, settings=self.settings)
                self._providers[key] = found
        return found

    def agent(self, vc: VersionedConfig, agent_instance_id: str) -> Agent:
        return Agent(vc.config, self.provider(vc), self.store, config_version=vc.version,
                     agent_instance_id=agent_instance_id)

    def agent_for_moment(self, info: MomentInfo) -> Agent:
        """The agent a moment was started with, at the config version it started with."""
        vc = self.config(info.agent_kind, info.agent_id, info.agent_variant,
                         info.config_version)
        return self.agent(vc, info.agent_instance_id)
