"""Builds the dashboard for a runtime: the composition root calls `dashboard` when `[web]` is on."""

from __future__ import annotations

from adminbot.service.runtime import Runtime
from adminbot.service.weblinks import LoginLinks
from adminbot.store.browse import Browse
from adminbot.store.logins import UsedLogins
from adminbot.store.sqlite import Store
from adminbot.web.app import Dashboard


def dashboard(runtime: Runtime) -> Dashboard:
    """The pages over `runtime`, sharing its login links with the bot's /dashboard command."""
    store = runtime.store
    if not isinstance(store, Store):
        raise TypeError("the dashboard reads a Store (SQLite or PostgreSQL)")
    links = runtime.web_links or LoginLinks(store, runtime.config, UsedLogins(store), runtime.clock)
    return Dashboard(runtime, links, Browse(store), store.host)
