"""Login without passwords: one-time links sent by the bot, and the session cookie they set.

A link carries the user id, an expiry and a random nonce, signed with the store's web
secret (HMAC-SHA256), so it cannot be forged or stretched; the nonce is kept in the
store until the link would have expired, so a link opens one session only, even
across a restart. The session
cookie is signed the same way and holds the user id, role, expiry and CSRF token;
the role is checked against the configuration on every request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Protocol

from adminbot.clock import Clock, utcnow
from adminbot.config import Config

LINK_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(hours=12)
SECRET_META = "web_secret"  # noqa: S105 - the name of the meta row, not a secret


class Meta(Protocol):
    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


class Claims(Protocol):
    """Where used links are remembered (`adminbot.store.logins.UsedLogins`)."""

    def claim(self, nonce: str, expires: int, now: float) -> bool: ...


class Role(StrEnum):
    """What a person may do on the pages: owners and responders act, viewers look."""

    OWNER = "owner"
    RESPONDER = "responder"
    VIEWER = "viewer"

    @property
    def may_act(self) -> bool:
        return self is not Role.VIEWER


class Refusal(StrEnum):
    """Why a login link was not accepted."""

    INVALID = "invalid"
    EXPIRED = "expired"
    USED = "used"
    NOT_ALLOWED = "not_allowed"


@dataclass(frozen=True, slots=True)
class Session:
    """Who is looking, with what role, until when, and the token their forms carry."""

    user_id: int
    role: Role
    expires: int
    csrf: str

    @property
    def actor(self) -> str:
        """How the audit and the alert name a person acting from the page."""
        return f"web · id {self.user_id}"


def role_of(user_id: int, config: Config) -> Role | None:
    """The person's role from `[access]` and ADMIN_ID; None for a stranger."""
    if user_id in config.admin_ids:
        return Role.OWNER
    if user_id in config.access.responders:
        return Role.RESPONDER
    if user_id in config.access.viewers:
        return Role.VIEWER
    return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LoginLinks:
    """Mints and accepts login links, and signs and reads session cookies."""

    def __init__(self, store: Meta, config: Config, used: Claims, clock: Clock = utcnow) -> None:
        self._store = store
        self._config = config
        self._used = used
        self._clock = clock
        self._secret: bytes | None = None

    @property
    def base_url(self) -> str:
        """Where people open the pages: `[web] public_url`, else the listener itself."""
        http = self._config.http
        return self._config.web.public_url or f"http://{http.host}:{http.port}"

    @property
    def secure(self) -> bool:
        """Cookies only over https when the pages are reached over https."""
        return self.base_url.startswith("https://")

    def _key(self) -> bytes:
        if self._secret is None:
            stored = self._store.get_meta(SECRET_META)
            if stored is None:
                stored = secrets.token_urlsafe(32)
                self._store.set_meta(SECRET_META, stored)
            self._secret = stored.encode()
        return self._secret

    def _sign(self, kind: str, payload: bytes) -> str:
        body = _b64(payload)
        mac = hmac.new(self._key(), f"{kind}.{body}".encode(), hashlib.sha256).digest()
        return f"{body}.{_b64(mac)}"

    def _open(self, kind: str, token: str) -> bytes | None:
        body, _, mac = token.partition(".")
        try:
            expected = hmac.new(self._key(), f"{kind}.{body}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64(mac)):
                return None
            return _unb64(body)
        except ValueError:  # not base64 at all
            return None

    def mint(self, user_id: int) -> str:
        """A login link for `user_id`, valid once within LINK_TTL."""
        expires = int((self._clock() + LINK_TTL).timestamp())
        payload = f"{user_id}.{expires}.{secrets.token_urlsafe(12)}".encode()
        return f"{self.base_url}/login?t={self._sign('login', payload)}"

    def accept(self, token: str) -> Session | Refusal:
        """Open a session from a link's token, once; the same link later is refused."""
        payload = self._open("login", token)
        parts = payload.decode(errors="replace").split(".") if payload is not None else []
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            return Refusal.INVALID
        user_id, expires, nonce = int(parts[0]), int(parts[1]), parts[2]
        now = self._clock().timestamp()
        if now >= expires:
            return Refusal.EXPIRED
        if not self._used.claim(nonce, expires, now):
            return Refusal.USED
        role = role_of(user_id, self._config)
        if role is None:
            return Refusal.NOT_ALLOWED
        until = int(now + SESSION_TTL.total_seconds())
        return Session(user_id, role, until, secrets.token_urlsafe(16))

    def cookie(self, session: Session) -> str:
        data = [session.user_id, session.role.value, session.expires, session.csrf]
        return self._sign("session", json.dumps(data).encode())

    def session(self, cookie: str | None) -> Session | None:
        """The session a cookie holds, if it is ours, current, and the role still stands."""
        payload = self._open("session", cookie or "")
        if payload is None:
            return None
        try:
            user_id, role, expires, csrf = json.loads(payload)
            session = Session(int(user_id), Role(role), int(expires), str(csrf))
        except (ValueError, TypeError):
            return None
        if session.expires <= self._clock().timestamp():
            return None
        if role_of(session.user_id, self._config) is not session.role:
            return None
        return session

    @staticmethod
    def csrf_ok(session: Session, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(session.csrf, offered)
