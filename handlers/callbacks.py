"""Button taps, one handler per verb. Every tap is answered first; data is never trusted.

The data is parsed by `handlers.taps`; the incident's random token must match, so a
forged or replayed tap for another incident is refused.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import CallbackQuery, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from adminbot.actions.executor import ActionKind
from adminbot.actions.remedies import RunStatus
from adminbot.incidents.book import key_target
from adminbot.models import Incident, IncidentState
from adminbot.service.runtime import Runtime
from handlers import screens
from handlers.access import may_act
from handlers.commands import MAX_PAGE_SIZE, actor_of, errors_view, rule_names
from handlers.context import AdminContext
from handlers.i18n import Catalog
from handlers.taps import PageTap, Tap, Verb, incident_of

logger = logging.getLogger(__name__)

MUTE_FOR = timedelta(hours=1)


async def on_act(update: Update, context: AdminContext) -> None:
    """Run a fix: answer at once, then run it on its own task and edit the alert."""
    found = await _open_incident(update, context, Verb.ACT)
    if found is None:
        return
    query, tap, incident = found
    runtime, t = context.bot_data.runtime, context.bot_data.words
    try:
        kind = ActionKind(tap.extra)
    except ValueError:
        await query.answer(t("tap.invalid"), show_alert=True)
        return
    if kind not in runtime.remedies.offered(incident):
        await query.answer(t("tap.unavailable"), show_alert=True)
        return
    if incident.state is IncidentState.FIXING:
        await query.answer(t("tap.busy"))
        return
    remote = runtime.remote.is_remote(incident)
    if remote and not runtime.remote.reachable(incident.host):
        await query.answer(t("tap.host_unreachable", host=incident.host), show_alert=True)
        return
    what = t(f"btn.{kind.value}")
    if remote:
        await query.answer(t("tap.queued_for_host", host=incident.host, what=what))
    else:
        await query.answer(t("tap.running", what=what))
    context.application.create_task(
        _run_and_log(runtime, incident.id, kind, actor_of(update)),
        update=None,
        name=f"action-{incident.id}",
    )


async def on_ignore(update: Update, context: AdminContext) -> None:
    """Close the incident as ignored: its repeats are absorbed silently."""
    found = await _open_incident(update, context, Verb.IGNORE)
    if found is not None:
        query, _, incident = found
        settled = context.bot_data.runtime.remedies.ignore(incident.id, actor_of(update))
        await _settled(query, context.bot_data.words, settled, "tap.ignored")


async def on_resolve(update: Update, context: AdminContext) -> None:
    """Mark the incident fixed by hand."""
    found = await _open_incident(update, context, Verb.RESOLVE)
    if found is not None:
        query, _, incident = found
        settled = context.bot_data.runtime.remedies.resolve(incident.id, actor_of(update))
        await _settled(query, context.bot_data.words, settled, "tap.resolved")


async def on_ack(update: Update, context: AdminContext) -> None:
    """Someone takes the incident: the alert shows who, and reminders stop."""
    found = await _open_incident(update, context, Verb.ACK)
    if found is None:
        return
    query, _, incident = found
    runtime = context.bot_data.runtime
    acked = runtime.book.acknowledge(incident.id, actor_of(update))
    if acked is not None:
        runtime.outbox.incident_changed(incident.id)
    await _settled(query, context.bot_data.words, acked, "tap.acked")


async def on_mute(update: Update, context: AdminContext) -> None:
    """Mute this incident (its key, not its whole type) for an hour; fixes still run."""
    found = await _open_incident(update, context, Verb.MUTE)
    if found is None:
        return
    query, _, incident = found
    runtime = context.bot_data.runtime
    target = key_target(incident.rule, incident.key)
    until = runtime.book.mute(target, MUTE_FOR, actor_of(update))
    when = screens.screen(runtime).time(until)
    await query.answer(context.bot_data.words("tap.muted_key", until=when))
    runtime.outbox.incident_changed(incident.id)  # the alert says until when, with Unmute


async def on_unmute(update: Update, context: AdminContext) -> None:
    """Lift this incident's own mute."""
    found = await _open_incident(update, context, Verb.UNMUTE)
    if found is None:
        return
    query, _, incident = found
    runtime = context.bot_data.runtime
    runtime.book.unmute(key_target(incident.rule, incident.key))
    await query.answer(context.bot_data.words("tap.unmuted"))
    runtime.outbox.incident_changed(incident.id)


async def on_open(update: Update, context: AdminContext) -> None:
    """Show one incident's alert again, from an /errors page (closed ones too)."""
    query = update.callback_query
    if query is None:
        return
    runtime = context.bot_data.runtime
    tap = Tap.parse(query.data or "")
    incident = _incident_for(runtime, tap, Verb.OPEN)
    if incident is None:
        await query.answer(context.bot_data.words("tap.invalid"), show_alert=True)
        return
    await query.answer()
    if not isinstance(query.message, Message):
        return  # gone, or too old for Telegram to show (an InaccessibleMessage): no reply_text
    text, markup = screens.alert(runtime, incident)
    await query.message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def on_page(update: Update, context: AdminContext) -> None:
    """Turn an /errors page."""
    query = update.callback_query
    if query is None:
        return
    runtime = context.bot_data.runtime
    tap = PageTap.parse(query.data or "")
    if tap is None or (tap.rule is not None and tap.rule not in rule_names(runtime)):
        await query.answer(context.bot_data.words("tap.invalid"), show_alert=True)
        return
    await query.answer()
    size = max(1, min(tap.size, MAX_PAGE_SIZE))
    text, markup = errors_view(runtime, tap.rule, page=tap.page, size=size, host=tap.host)
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def on_unknown(update: Update, context: AdminContext) -> None:
    """Data no verb claims: an old client or a forgery."""
    if update.callback_query is not None:
        await update.callback_query.answer(context.bot_data.words("tap.invalid"), show_alert=True)


async def _open_incident(
    update: Update, context: AdminContext, verb: Verb
) -> tuple[CallbackQuery, Tap, Incident] | None:
    """The tap and its incident if both check out and it is still open; else answered."""
    query = update.callback_query
    if query is None:
        return None
    runtime, t = context.bot_data.runtime, context.bot_data.words
    tap = Tap.parse(query.data or "")
    incident = _incident_for(runtime, tap, verb)
    if tap is None or incident is None:
        await query.answer(t("tap.invalid"), show_alert=True)
        return None
    user = update.effective_user
    if user is None or not may_act(user.id, runtime.config):
        logger.info("Refused %s on #%s by viewer %s", verb.value, incident.id, actor_of(update))
        await query.answer(t("tap.viewer"), show_alert=True)
        return None
    if incident.state.is_closed:
        await query.answer(t("tap.closed", state=t(f"state.{incident.state.value}")))
        runtime.outbox.incident_changed(incident.id)
        return None
    return query, tap, incident


def _incident_for(runtime: Runtime, tap: Tap | None, verb: Verb) -> Incident | None:
    return incident_of(tap, verb, runtime.store.incident)


async def _run_and_log(runtime: Runtime, incident_id: int, kind: ActionKind, actor: str) -> None:
    result = await runtime.remedies.run(incident_id, kind, actor)
    if result.status is not RunStatus.DONE:
        logger.info("Action %s on #%s by %s: %s", kind, incident_id, actor, result.status)
        runtime.outbox.incident_changed(incident_id)


async def _settled(query: CallbackQuery, t: Catalog, incident: Incident | None, key: str) -> None:
    await query.answer(t(key if incident is not None else "tap.busy"))
