"""Button taps. Every tap is answered first, then acted on; data is checked, never trusted.

Callback data is `verb:incident_id:token[:extra]` (or `page:n:rule`). The token is
random per incident, so a forged or replayed tap for another incident is refused.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import CallbackQuery, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from adminbot.actions.executor import ActionKind
from adminbot.actions.remedies import RunStatus
from adminbot.models import Incident
from adminbot.service.runtime import Runtime
from handlers import screens
from handlers.commands import MAX_PAGE_SIZE, actor_of, errors_view, rule_names, runtime_of
from handlers.screens import words

logger = logging.getLogger(__name__)

MUTE_FOR = timedelta(hours=1)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Route a tap to its verb after checking the incident and token."""
    query = update.callback_query
    if query is None or not query.data:
        return
    runtime = runtime_of(context)
    parts = query.data.split(":")
    if parts[0] == "page":
        await _page(query, runtime, parts)
        return
    incident = _incident_for(runtime, parts)
    if incident is None:
        await query.answer(words(runtime)("tap.invalid"), show_alert=True)
        return
    verb = parts[0]
    if verb == "open":
        await query.answer()
        await _open(query, runtime, incident)
        return
    if incident.state.is_closed:
        state = words(runtime)(f"state.{incident.state.value}")
        await query.answer(words(runtime)("tap.closed", state=state))
        runtime.outbox.incident_changed(incident.id)
        return
    actor = actor_of(update)
    if verb == "act" and len(parts) == 4:
        await _act(query, context, runtime, incident, parts[3], actor)
    elif verb == "ign":
        await _settled(query, runtime.remedies.ignore(incident.id, actor), runtime, "tap.ignored")
    elif verb == "res":
        await _settled(query, runtime.remedies.resolve(incident.id, actor), runtime, "tap.resolved")
    elif verb == "mute":
        until = runtime.book.mute(incident.rule, MUTE_FOR, actor)
        when = screens.screen(runtime).time(until)
        await query.answer(words(runtime)("tap.muted", rule=incident.rule, until=when))
    else:
        await query.answer(words(runtime)("tap.invalid"), show_alert=True)


def _incident_for(runtime: Runtime, parts: list[str]) -> Incident | None:
    if len(parts) < 3 or not parts[1].isdigit():
        return None
    incident = runtime.store.incident(int(parts[1]))
    if incident is None or incident.token != parts[2]:
        return None
    return incident


async def _act(
    query: CallbackQuery,
    context: ContextTypes.DEFAULT_TYPE,
    runtime: Runtime,
    incident: Incident,
    verb: str,
    actor: str,
) -> None:
    try:
        kind = ActionKind(verb)
    except ValueError:
        await query.answer(words(runtime)("tap.invalid"), show_alert=True)
        return
    if kind not in runtime.remedies.offered(incident):
        await query.answer(words(runtime)("tap.unavailable"), show_alert=True)
        return
    if incident.state.value == "fixing":
        await query.answer(words(runtime)("tap.busy"))
        return
    await query.answer(words(runtime)("tap.running", what=words(runtime)(f"btn.{kind.value}")))
    context.application.create_task(
        _run_and_log(runtime, incident.id, kind, actor), update=None, name=f"action-{incident.id}"
    )


async def _run_and_log(runtime: Runtime, incident_id: int, kind: ActionKind, actor: str) -> None:
    result = await runtime.remedies.run(incident_id, kind, actor)
    if result.status is not RunStatus.DONE:
        logger.info("Action %s on #%s by %s: %s", kind, incident_id, actor, result.status)
        runtime.outbox.incident_changed(incident_id)


async def _settled(
    query: CallbackQuery, incident: Incident | None, runtime: Runtime, key: str
) -> None:
    await query.answer(words(runtime)(key if incident is not None else "tap.busy"))


async def _open(query: CallbackQuery, runtime: Runtime, incident: Incident) -> None:
    if query.message is None:
        return
    text, markup = screens.alert(runtime, incident)
    await query.message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)  # type: ignore[union-attr]


async def _page(query: CallbackQuery, runtime: Runtime, parts: list[str]) -> None:
    valid = len(parts) == 4 and parts[1].isdigit() and parts[2].isdigit()
    rule = None if not valid or parts[3] == "*" else parts[3]
    if not valid or (rule is not None and rule not in rule_names(runtime)):
        await query.answer(words(runtime)("tap.invalid"), show_alert=True)
        return
    await query.answer()
    size = max(1, min(int(parts[2]), MAX_PAGE_SIZE))
    text, markup = errors_view(runtime, rule, page=int(parts[1]), size=size)
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise
