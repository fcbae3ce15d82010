"""What every page shares: the store, the chosen variant, the sidebar and the gate.

UI glue only; the work is done by moments_core.
"""

from __future__ import annotations

import logging
import re
import threading
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
VARIANT_PICKER = "moments_variant_picker"
VARIANT_PENDING = "moments_variant_pending"
TOAST = "moments_toast"
PAGE = "moments_page"
PREVIOUS_PAGE = "moments_previous_page"
DEV_VIEW = "moments_dev_view"
AUTHED = "moments_authed"

log = logging.getLogger(__name__)

_ID = re.compile(r"[0-9A-Za-z-]{1,64}")


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


def note_page(url_path: str) -> None:
    """Remember which page this run shows (``came_from_another_page`` reads it)."""
    st.session_state[PREVIOUS_PAGE] = st.session_state.get(PAGE)
    st.session_state[PAGE] = url_path


def came_from_another_page() -> bool:
    """Whether the session's previous run showed another page."""
    return st.session_state.get(PREVIOUS_PAGE) != st.session_state.get(PAGE)


def select_variant(key: Key) -> None:
    """Make ``key`` the chosen variant from the next run on (the sidebar's picker is a
    widget: its value can only be set before it is drawn, so the caller reruns)."""
    st.session_state[VARIANT_PENDING] = key
    st.session_state[VARIANT] = key


def toast_next_run(message: str) -> None:
    """A toast shown after the rerun a button starts (one shown now would vanish)."""
    st.session_state[TOAST] = message


def said_text(name: str | None, says: str, emotion: str = "") -> str:
    """One conversation line as plain text: ``Name: (emotion) says``."""
    head = f"{name}: " if name else ""
    return f"{head}({emotion}) {says}" if emotion else f"{head}{says}"


def show_said(name: str | None, says: str, emotion: str = "") -> None:
    """A participant's or the model's line: untrusted text, so it is shown as text (no
    markdown: images never load, links are not live, nothing is formatted)."""
    st.text(said_text(name, says, emotion))


def waiting_text(provider: Any) -> str:
    """What an answer's bubble says until its first word arrives."""
    status = getattr(provider, "wait_status", None)
    if callable(status):
        loaded, busy = status()
        if not loaded:
            return "loading the model…"
        if busy:
            return f"waiting for the model ({busy} ahead)"
    return "thinking…"


def safe_id(value: str) -> str:
    """An id from outside (a URL) fit to show inside markdown, or a placeholder."""
    return f"`{value}`" if _ID.fullmatch(value) else "(not an id)"


@st.cache_resource(show_spinner=False)
def _warm_default_model() -> threading.Thread:
    def load() -> None:
        try:
            loader = getattr(agent_for(default_key()).provider, "load", None)
            if callable(loader):
                loader()
        except Exception as err:  # noqa: BLE001 - the first turn reports it properly
            log.warning("could not load the default model in the background: %s", err)

    thread = threading.Thread(target=load, name="moments-warm-model", daemon=True)
    thread.start()
    return thread


def warm_default_model() -> None:
    """Start loading the default variant's model in the background, once per process, so
    the first answer does not wait for it."""
    _warm_default_model()


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


def page_links(pages: list[Any]) -> None:
    """The navigation, drawn in the sidebar by the script (the current page highlighted)."""
    with st.sidebar:
        for page in pages:
            st.page_link(page)
        st.divider()


def sidebar() -> None:
    """Variant picker, store in use, developer view, and whether the dashboard is open."""
    pending = st.session_state.pop(VARIANT_PENDING, None)
    if pending is not None:
        st.session_state[VARIANT_PICKER] = pending
    keys = variant_keys()
    current = selected_key()
    if current not in keys:
        keys.insert(0, current)
    with st.sidebar:
        chosen = st.selectbox(
            # Once the picker holds a value, that value wins; index 0 then keeps
            # Streamlit from warning that a default was given as well.
            "Agent variant", keys,
            index=0 if VARIANT_PICKER in st.session_state else keys.index(current),
            format_func=name_of, key=VARIANT_PICKER,
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
    if TOAST in st.session_state:
        st.toast(st.session_state.pop(TOAST))
