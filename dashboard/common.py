"""What every page shares: the store, the chosen variant, the sidebar and the gate.

UI glue only; the work is done by moments_core.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from moments_core.agents import Agent
from moments_core.agents.config import AgentConfig
from moments_core.agents.registry import default_key, list_configs, load_agent_config
from moments_core.auth import secret_matches
from moments_core.settings import Settings, get_settings
from moments_core.store import LogStore, open_store
from moments_core.store.describe import describe_store

Key = tuple[str, str, str]

VARIANT = "moments_variant"
DEV_VIEW = "moments_dev_view"
AUTHED = "moments_authed"


def settings() -> Settings:
    """Environment settings, with ``st.secrets`` able to supply the same names."""
    base = get_settings()
    try:
        secret_password = str(st.secrets.get("MOMENTS_DASHBOARD_PASSWORD", ""))
    except Exception:  # noqa: BLE001 - no secrets.toml is the normal case
        secret_password = ""
    if secret_password and not base.dashboard_password:
        from dataclasses import replace

        return replace(base, dashboard_password=secret_password)
    return base


@st.cache_resource(show_spinner=False)
def _open_store(url: str) -> LogStore:
    return open_store(url)


def store() -> LogStore:
    return _open_store(get_settings().database_url)


def name_of(key: Key) -> str:
    return "-".join(key)


def variant_keys() -> list[Key]:
    """Variants from configs/ and those created in the editor (stored versions)."""
    keys: dict[Key, None] = {c.key: None for c in list_configs()}
    for cv in store().list_config_versions():
        keys[(cv.agent_kind, cv.agent_id, cv.agent_variant)] = None
    return sorted(keys)


def selected_key() -> Key:
    key = st.session_state.get(VARIANT)
    if isinstance(key, tuple) and len(key) == 3:
        return key
    return default_key()


def config_for(key: Key) -> AgentConfig:
    """The newest version of the variant (so an edit shows up on the next turn)."""
    return load_agent_config(*key, store=store()).config


def agent_for(key: Key, **kwargs: Any) -> Agent:
    """A fresh Agent on the newest config version; the model itself is shared."""
    return Agent.from_name(*key, store=store(), **kwargs)


def dev_view() -> bool:
    return bool(st.session_state.get(DEV_VIEW, False))


def password_gate() -> None:
    """Stop the page unless the password (when one is set) was given this session."""
    expected = settings().dashboard_password
    if not expected or st.session_state.get(AUTHED):
        return
    st.title("Moments")
    with st.form("login"):
        given = st.text_input("Password", type="password", key="moments_password")
        submitted = st.form_submit_button("Enter")
    if submitted:
        if secret_matches(given, expected):
            st.session_state[AUTHED] = True
            st.rerun()
        st.error("Wrong password.")
    st.stop()


def sidebar() -> None:
    """Variant picker, store in use, developer view, and whether the dashboard is open."""
    keys = variant_keys()
    current = selected_key()
    if current not in keys:
        keys.insert(0, current)
    with st.sidebar:
        chosen = st.selectbox(
            "Agent variant", keys, index=keys.index(current), format_func=name_of,
            key="moments_variant_picker",
        )
        st.session_state[VARIANT] = chosen
        try:
            config = config_for(chosen)
            st.caption(f"provider **{config.provider}** · model **{config.model or '-'}** · "
                       f"mode {config.mode}")
        except Exception as err:  # noqa: BLE001 - a broken config must not hide the sidebar
            st.warning(f"Cannot load {name_of(chosen)}: {err}")
        st.toggle("Developer view", key=DEV_VIEW)
        st.caption(f"Store: {describe_store(get_settings())}")
        if settings().dashboard_password:
            st.caption("🔒 Password protected")
        else:
            st.caption("🔓 Open dashboard: set MOMENTS_DASHBOARD_PASSWORD (or use st.login "
                       "with OIDC) to restrict it")
