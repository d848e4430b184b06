"""The dashboard's ASGI app: login by one-time link, pages, live partials and actions.

Every page and partial needs a session cookie (`links.py`); a POST also needs the
session's CSRF token and a role that may act. Actions go through
`adminbot.service.verbs`, the same path as the Telegram buttons, so the alert in the
chat is edited too. Mounted under the `[http]` listener by `web_app`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from adminbot.actions.executor import ActionKind
from adminbot.incidents.maintenance import Origin
from adminbot.service import upkeep, verbs
from adminbot.service.runtime import Runtime
from adminbot.service.weblinks import LoginLinks, Refusal, Session
from adminbot.store.browse import Browse, IncidentQuery
from adminbot.store.trends import TrendStore
from adminbot.web import forms, views
from adminbot.web.actions import Actions
from adminbot.web.chart import svg
from adminbot.web.filters import PAGE_SIZE, parse_query
from adminbot.web.kinds import KindPages
from adminbot.web.words import words

logger = logging.getLogger(__name__)

COOKIE = "adminbot_session"
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
}
"""Every page: nothing cached, framed, leaked in a Referer, or loaded from elsewhere."""
DONE_KEYS = frozenset(
    {
        *("started", "ignored", "resolved", "acked", "muted", "unmuted", "busy"),
        *("unavailable", "closed", "bad_mute"),
    }
)
MUTES_DONE = frozenset(
    {"maintenance_started", "maintenance_ended", "maintenance_none", "maintenance_bad"}
)

Page = Callable[[Request, Session], Awaitable[Response]]


class Dashboard:
    """The pages over one runtime; `app` is what the HTTP listener mounts."""

    def __init__(self, runtime: Runtime, links: LoginLinks, browse: Browse, here: str) -> None:
        self.runtime = runtime
        self.links = links
        self.browse = browse
        self.here = here
        self.t = words(runtime.config.language)
        self.actions = Actions(runtime)
        self.trends = TrendStore(browse.store)
        self.env = Environment(
            loader=PackageLoader("adminbot.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(
            t=self.t,
            when=self.when,
            language=runtime.config.language,
            chart_svg=svg,
            mute_hours=verbs.MUTE_HOURS,
        )
        static = resources.files("adminbot.web") / "static"
        kinds = KindPages(runtime, self._render)
        self.app = Starlette(
            routes=[
                Route("/login", self.login),
                Route("/logout", self.logout, methods=["POST"]),
                Route("/", self._page(self.overview)),
                Route("/dashboard", self._page(self.overview)),
                Route("/incidents", self._page(self.incidents)),
                Route("/incidents/{id:int}", self._page(self.incident)),
                Route("/incidents/{id:int}/act", self._post(self.act), methods=["POST"]),
                Route("/audit", self._page(self.audit)),
                Route("/mutes", self._page(self.mutes)),
                Route("/mutes/lift", self._post(self.lift_mute), methods=["POST"]),
                Route("/maintenance/start", self._post(self.start_window), methods=["POST"]),
                Route("/maintenance/end", self._post(self.end_windows), methods=["POST"]),
                Route("/rules", self._page(self.rules)),
                Route("/kinds/{id:int}/ignore", self._post(kinds.ignore), methods=["POST"]),
                Route("/kinds/{id:int}/rule", self._page(kinds.rule_form)),
                Route("/kinds/{id:int}/rule", self._post(kinds.make_rule), methods=["POST"]),
                Route("/live/version", self._api(self.version)),
                Route("/live/open", self._api(self.open_rows)),
                Route("/live/hosts", self._api(self.host_cards)),
                Route("/live/incidents", self._api(self.incident_rows)),
                Mount("/static", app=StaticFiles(directory=str(static))),
            ]
        )

    async def close(self) -> None:
        await self.actions.close()

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return moment.astimezone(self.runtime.config.zone).strftime("%Y-%m-%d %H:%M:%S")

    # -- guards ------------------------------------------------------------------------

    def _session(self, request: Request) -> Session | None:
        return self.links.session(request.cookies.get(COOKIE))

    def _page(self, page: Page) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            session = self._session(request)
            if session is None:
                return self._render("login.html", None, status=401, message="login.ask")
            return await page(request, session)

        return guarded

    def _api(self, page: Page) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            session = self._session(request)
            if session is None:
                return JSONResponse({"error": "no session"}, 401)
            return await page(request, session)

        return guarded

    def _post(self, page: Page) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            session = self._session(request)
            if session is None:
                return JSONResponse({"error": "no session"}, 401)
            form = await request.form()
            offered = form.get("csrf") or request.headers.get("x-csrf-token")
            if not self.links.csrf_ok(session, offered if isinstance(offered, str) else None):
                logger.info("Refused a web request without its CSRF token from %s", session.actor)
                return self._render("error.html", session, status=403, message="error.csrf")
            if not session.role.may_act:
                logger.info("Refused a web action by viewer %s", session.actor)
                return self._render("error.html", session, status=403, message="error.forbidden")
            request.state.form = form
            return await page(request, session)

        return guarded

    def _render(
        self, template: str, session: Session | None, *, status: int = 200, **values: Any
    ) -> HTMLResponse:
        html = self.env.get_template(template).render(session=session, **values)
        return HTMLResponse(html, status, headers=HEADERS)

    # -- login -------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        accepted = self.links.accept(request.query_params.get("t", ""))
        if isinstance(accepted, Refusal):
            logger.info("Refused a login link: %s", accepted.value)
            return self._render("login.html", None, status=403, message=f"login.{accepted}")
        logger.info("Web session opened for %s (%s)", accepted.user_id, accepted.role.value)
        response = RedirectResponse("/", 303, headers={"Referrer-Policy": "no-referrer"})
        response.set_cookie(
            COOKIE,
            self.links.cookie(accepted),
            max_age=accepted.expires - int(self.runtime.clock().timestamp()),
            httponly=True,
            samesite="strict",
            secure=self.links.secure,
        )
        return response

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse("/", 303)
        response.delete_cookie(COOKIE, httponly=True, samesite="strict")
        return response

    # -- pages -------------------------------------------------------------------------

    async def overview(self, request: Request, session: Session) -> Response:
        facts = await asyncio.to_thread(views.overview, self.runtime, self.browse, self.here)
        return self._render("overview.html", session, page="overview", view=facts)

    async def incidents(self, request: Request, session: Session) -> Response:
        query, page = parse_query(request.query_params, self.runtime.config.zone)
        total = self.browse.count(query)
        rows = self.browse.incidents(query, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
        return self._render(
            "incidents.html",
            session,
            page="incidents",
            rows=rows,
            total=total,
            number=page,
            size=PAGE_SIZE,
            query=query,
            params=dict(request.query_params),
            link=_link,
            rules=self.browse.rules(),
            hosts=self.browse.hosts(),
        )

    async def incident(self, request: Request, session: Session) -> Response:
        incident = self.runtime.store.incident(int(request.path_params["id"]))
        if incident is None:
            return self._render("error.html", session, status=404, message="error.not_found")
        done = request.query_params.get("done")
        facts = await views.detail(self.runtime, incident)
        return self._render(
            "incident.html",
            session,
            page="incidents",
            view=facts,
            done=done if done in DONE_KEYS else None,
            done_what=_kind_words(self.t, request.query_params.get("what")),
            until=self.when(facts.muted_until),
        )

    async def audit(self, request: Request, session: Session) -> Response:
        page = _page_number(request.query_params.get("page"))
        entries, changes = views.audit_page(self.browse, page)
        return self._render(
            "audit.html", session, page="audit", entries=entries, changes=changes, number=page
        )

    async def mutes(self, request: Request, session: Session) -> Response:
        """The mutes and the maintenance windows open now, with the forms to change them."""
        mutes = sorted(self.runtime.store.mutes().items(), key=lambda item: item[1])
        windows = self.runtime.noise.maintenance.active()
        done = request.query_params.get("done")
        return self._render(
            "mutes.html",
            session,
            page="mutes",
            mutes=mutes,
            windows=windows,
            adhoc=any(w.origin is Origin.ADHOC for w in windows),
            rules=sorted(self.runtime.rules),
            done=done if done in MUTES_DONE else None,
        )

    async def start_window(self, request: Request, session: Session) -> Response:
        """Start an ad-hoc maintenance window, as `/maintenance 2h type=x host=y` does."""
        asked = forms.maintenance(request.state.form, self.runtime.rules)
        if asked is None:
            return RedirectResponse("/mutes?done=maintenance_bad", 303)
        upkeep.start_maintenance(self.runtime, *asked, session.actor)
        return RedirectResponse("/mutes?done=maintenance_started", 303)

    async def end_windows(self, request: Request, session: Session) -> Response:
        """End the ad-hoc windows, as `/maintenance off` does."""
        ended = upkeep.end_maintenance(self.runtime, session.actor)
        return RedirectResponse(f"/mutes?done=maintenance_{'ended' if ended else 'none'}", 303)

    async def lift_mute(self, request: Request, session: Session) -> Response:
        """Lift one mute, named exactly as listed (a target not muted lifts nothing)."""
        target = str(request.state.form.get("target", ""))
        if target and target in self.runtime.store.mutes():
            self.runtime.book.unmute(target)
            logger.info("Web unmute of %s by %s", target, session.actor)
        return RedirectResponse("/mutes", 303)

    async def rules(self, request: Request, session: Session) -> Response:
        rows, kinds = views.rules(self.runtime, self.trends)
        done = request.query_params.get("done")
        return self._render(
            "rules.html",
            session,
            page="rules",
            rows=rows,
            kinds=kinds,
            done=done if done in ("kind_ignored", "rule_made", "busy") else None,
        )

    # -- live --------------------------------------------------------------------------

    async def version(self, request: Request, session: Session) -> Response:
        return JSONResponse(
            {"version": self.browse.version()}, headers={"Cache-Control": "no-store"}
        )

    async def host_cards(self, request: Request, session: Session) -> Response:
        cards = await asyncio.to_thread(views.hosts, self.runtime, self.browse, self.here)
        return self._render("_hosts.html", session, hosts=cards)

    async def open_rows(self, request: Request, session: Session) -> Response:
        rows = self.browse.incidents(IncidentQuery(states=views.OPEN_STATES), limit=PAGE_SIZE)
        return self._render("_rows.html", session, rows=rows)

    async def incident_rows(self, request: Request, session: Session) -> Response:
        query, page = parse_query(request.query_params, self.runtime.config.zone)
        rows = self.browse.incidents(query, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
        return self._render("_rows.html", session, rows=rows)

    # -- actions -----------------------------------------------------------------------

    async def act(self, request: Request, session: Session) -> Response:
        form = request.state.form
        incident_id = int(request.path_params["id"])
        done, what = self.actions.do(
            incident_id,
            str(form.get("verb", "")),
            str(form.get("kind", "")),
            session.actor,
            forms.mute_for(form),
        )
        if done is None:
            return self._render("error.html", session, status=404, message="error.not_found")
        query = urlencode({"done": done, "what": what} if what else {"done": done})
        return RedirectResponse(f"/incidents/{incident_id}?{query}", 303)


def _kind_words(t: Callable[..., str], kind: str | None) -> str:
    """The fix named in the address, in words, only if it is one of ours (never echoed)."""
    return t(f"btn.{kind}") if kind in {k.value for k in ActionKind} else ""


def _page_number(raw: str | None) -> int:
    return int(raw) if raw is not None and raw.isdigit() and len(raw) < 7 else 0


def _link(params: dict[str, str], **changes: object) -> str:
    """The incidents URL with `changes` applied to the current filters (values encoded)."""
    merged = {**params, **{k: str(v) for k, v in changes.items()}}
    return "/incidents?" + urlencode({k: v for k, v in merged.items() if v})
