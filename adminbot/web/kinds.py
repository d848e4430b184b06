"""The Rules page's forms for a new kind: ignore it, or make a rule of it.

The rule is drafted from the kind's template as in the chat, then a person may edit
its name, pattern and severity; "Check" is a dry run over the last 24 h, "Make rule"
stores it through the same maker as the chat's Confirm (`verbs.make_rule`).
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from adminbot.kinds.draft import Preview
from adminbot.kinds.makerule import Edit, Refusal
from adminbot.models import Severity
from adminbot.service import verbs
from adminbot.service.runtime import Runtime
from adminbot.service.weblinks import Session
from adminbot.web import forms


class Render(Protocol):
    def __call__(
        self, template: str, session: Session | None, *, status: int = 200, **values: Any
    ) -> HTMLResponse: ...


class KindPages:
    """Handlers of the kinds' forms; the dashboard guards them (session, CSRF, role)."""

    def __init__(self, runtime: Runtime, render: Render) -> None:
        self._runtime = runtime
        self._render = render

    async def ignore(self, request: Request, session: Session) -> Response:
        ignored = verbs.ignore_kind(self._runtime, int(request.path_params["id"]), session.actor)
        return RedirectResponse(f"/rules?done={'kind_ignored' if ignored else 'busy'}", 303)

    async def rule_form(self, request: Request, session: Session) -> Response:
        """The rule drafted from a kind and what it would match, ready to edit."""
        if not session.role.may_act:
            return self._render("error.html", session, status=403, message="error.forbidden")
        kind_id = int(request.path_params["id"])
        drafted = self._runtime.rule_maker.draft(kind_id)
        proposal = drafted.proposal
        edit = Edit(
            proposal.name if proposal else "",
            proposal.pattern if proposal else "",
            self._runtime.rule_maker.severity,
        )
        refusal = None if drafted.refusal is Refusal.UNDRAFTABLE else drafted.refusal
        return self._rule_page(session, kind_id, edit, drafted.preview, refusal, "")

    async def make_rule(self, request: Request, session: Session) -> Response:
        """Check an edited rule (a dry run) or make it, through the same maker as the chat."""
        kind_id = int(request.path_params["id"])
        edit = forms.rule_edit(request.state.form, self._runtime.rule_maker.severity)
        if request.state.form.get("do") == "make":
            made = verbs.make_rule(self._runtime, kind_id, edit, session.actor)
            if made.spec is not None:
                return RedirectResponse("/rules?done=rule_made", 303)
            return self._rule_page(session, kind_id, edit, None, made.refusal, made.detail)
        checked = await asyncio.to_thread(self._runtime.rule_maker.check, kind_id, edit)
        return self._rule_page(
            session, kind_id, edit, checked.preview, checked.refusal, checked.detail
        )

    def _rule_page(
        self,
        session: Session,
        kind_id: int,
        edit: Edit,
        preview: Preview | None,
        refusal: Refusal | None,
        detail: str,
    ) -> Response:
        kind = self._runtime.kinds.get(kind_id)
        if kind is None:
            return self._render("error.html", session, status=404, message="error.not_found")
        return self._render(
            "makerule.html",
            session,
            status=400 if refusal is not None else 200,
            page="rules",
            kind=kind,
            edit=edit,
            preview=preview,
            refusal=refusal.value if refusal is not None else None,
            detail=detail,
            severities=list(Severity),
        )
