"""Who is this visitor? Public mode (GFL_PUBLIC=1) keeps each visitor's runs their own.

Local mode (the default, one person on a laptop): no owner, every run is listed.

Public mode recognises a visitor across reloads without a login:
- When the deployment configures Streamlit's login (``[auth]`` in secrets.toml) and the visitor
  is logged in, the owner is their account (``st.user``: its ``sub``, else its e-mail).
- Otherwise the server draws a random token (``secrets.token_urlsafe``, 192 bits) the first
  time a browser comes, and a tiny script puts it into a first-party cookie (``gfl_visitor``,
  400 days, SameSite=Lax, Secure over https). Later page loads send it back with the websocket
  handshake, where ``st.context.cookies`` reads it. The token never goes into a URL, a share
  link or the run store: runs record only ``sha256(token)`` as their owner. A browser without
  cookies is one visitor per tab (its runs stay listed until the tab is closed).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets

import streamlit as st

COOKIE = "gfl_visitor"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")
_TRUE = {"1", "true", "yes", "on"}


def public_mode() -> bool:
    """GFL_PUBLIC=1: a shared server where every visitor's runs are their own."""
    return os.environ.get("GFL_PUBLIC", "").strip().lower() in _TRUE


def _hash(kind: str, secret: str) -> str:
    return f"{kind}:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:40]


def _cookie() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no browser context (tests, bare mode)
        return None
    return value if isinstance(value, str) and _TOKEN.fullmatch(value) else None


def _login() -> tuple[bool, str | None]:
    """(login configured, the logged-in account's stable id or None)."""
    try:
        info = st.user.to_dict()
    except Exception:
        return False, None
    if "is_logged_in" not in info:
        return False, None
    if not info.get("is_logged_in"):
        return True, None
    account = info.get("sub") or info.get("email")
    return True, str(account) if account else None


def owner() -> str | None:
    """The run store's owner key of this visitor; None in local mode (every run is theirs)."""
    if not public_mode():
        return None
    _, account = _login()
    if account:
        return _hash("user", account)
    token = st.session_state.get("_gfl_token") or _cookie()
    if token is None:
        token = secrets.token_urlsafe(24)
        st.session_state["_gfl_new_token"] = True  # remember() writes it into the browser
    st.session_state["_gfl_token"] = token
    return _hash("visitor", token)


def remember() -> None:
    """Once per session in public mode: the login button (when configured) and the cookie."""
    if not public_mode():
        return
    configured, account = _login()
    owner()  # draws the token on a first visit
    if configured and not account:
        st.sidebar.button(
            "Log in",
            key="gfl_login",
            on_click=st.login,
            help="Your runs then follow your account instead of this browser",
        )
    if st.session_state.get("_gfl_new_token"):
        # on every run of this session (an unchanged element is not re-mounted, so the script
        # runs once; a rerun that came before it mounted cannot lose it)
        token = st.session_state["_gfl_token"]  # urlsafe base64: nothing to escape
        with st.sidebar:
            st.html(
                "<script>document.cookie = '" + COOKIE + "=" + token + "; Max-Age=34560000; "
                "Path=/; SameSite=Lax' + (location.protocol === 'https:' ? '; Secure' : '');"
                "</script>",
                unsafe_allow_javascript=True,
            )


_PATH = re.compile(r"'(?:/|~|[A-Za-z]:\\)[^']*'")


def hide_paths(text: object) -> str:
    """In public mode, quoted file paths in a message become '…' (never show server paths)."""
    s = str(text)
    return _PATH.sub("'…'", s) if public_mode() else s


def describe() -> str:
    """How this visitor is recognised, for the Runs page's caption."""
    if not public_mode():
        return ""
    _, account = _login()
    if account:
        return "the runs of your account"
    return "the runs started in this browser"
