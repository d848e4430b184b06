"""Button taps, one handler per verb. Every tap is answered first; data is never trusted.

The data is parsed by `handlers.taps`; the incident's random token must match, so a
forged or replayed tap for another incident is refused.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from adminbot.actions.executor import ActionKind
from adminbot.models import Incident
from adminbot.service import verbs
from adminbot.service.runtime import Runtime
from adminbot.service.verbs import FixStart
from handlers import alert_views, list_views, screens
from handlers.access import may_act
from handlers.commands import MAX_PAGE_SIZE, actor_of, errors_view, mutes_view, rule_names
from handlers.context import AdminContext
from handlers.i18n import Catalog
from handlers.layout import cut
from handlers.taps import MuteTap, PageTap, Tap, Verb, incident_of, mute_hours

logger = logging.getLogger(__name__)


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
    spawn = lambda work, name: context.application.create_task(work, update=None, name=name)  # noqa: E731 - a tiny adapter
    started = verbs.start_fix(runtime, incident, kind, actor_of(update), spawn)
    if started is FixStart.UNAVAILABLE:
        await query.answer(t("tap.unavailable"), show_alert=True)
    elif started is FixStart.BUSY:
        await query.answer(t("tap.busy"))
    elif started is FixStart.UNREACHABLE:
        await query.answer(t("tap.host_unreachable", host=incident.host), show_alert=True)
    elif started is FixStart.QUEUED:
        what = t(f"btn.{kind.value}")
        await query.answer(t("tap.queued_for_host", host=incident.host, what=what))
    else:
        await query.answer(t("tap.running", what=t(f"btn.{kind.value}")))


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
    acked = verbs.acknowledge(context.bot_data.runtime, incident.id, actor_of(update))
    await _settled(query, context.bot_data.words, acked, "tap.acked")


async def on_mute(update: Update, context: AdminContext) -> None:
    """Mute this incident (its key, not its whole type): the first tap offers how long,
    the second mutes; its fixes still run."""
    found = await _open_incident(update, context, Verb.MUTE)
    if found is None:
        return
    query, tap, incident = found
    runtime, t = context.bot_data.runtime, context.bot_data.words
    hours = mute_hours(tap)
    if hours is None:
        await query.answer(t("tap.mute_choose"))
        await _swap_keyboard(query, alert_views.mute_choices(incident, t))
        return
    until = verbs.mute(runtime, incident, actor_of(update), timedelta(hours=hours))
    when = screens.screen(runtime).time(until)
    await query.answer(t("tap.muted_key", until=when))


async def on_back(update: Update, context: AdminContext) -> None:
    """Put the alert's own buttons back (the admin chose not to mute after all)."""
    found = await _open_incident(update, context, Verb.BACK)
    if found is None:
        return
    query, _, incident = found
    await query.answer()
    await _swap_keyboard(query, screens.alert(context.bot_data.runtime, incident)[1])


async def _swap_keyboard(query: CallbackQuery, markup: InlineKeyboardMarkup | None) -> None:
    """Replace the tapped message's buttons only; its text stays as delivery left it."""
    try:
        await query.edit_message_reply_markup(reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def on_unmute(update: Update, context: AdminContext) -> None:
    """Lift this incident's own mute."""
    found = await _open_incident(update, context, Verb.UNMUTE)
    if found is None:
        return
    query, _, incident = found
    verbs.unmute(context.bot_data.runtime, incident)
    await query.answer(context.bot_data.words("tap.unmuted"))


async def on_unmute_listed(update: Update, context: AdminContext) -> None:
    """Lift the one mute tapped in the /unmute list, then show the list as it is now."""
    query = update.callback_query
    if query is None:
        return
    runtime, t = context.bot_data.runtime, context.bot_data.words
    tap = MuteTap.parse(query.data or "")
    user = update.effective_user
    if tap is None:
        await query.answer(t("tap.invalid"), show_alert=True)
        return
    if user is None or not may_act(user.id, runtime.config):
        logger.info("Refused an unmute by viewer %s", actor_of(update))
        await query.answer(t("tap.viewer"), show_alert=True)
        return
    target = next((m for m in runtime.store.mutes() if tap.names(m)), None)
    if target is None:
        await query.answer(t("tap.unmute_gone"))
    else:
        runtime.book.lift(target)
        logger.info("Mute of %r lifted by %s", target, actor_of(update))
        await query.answer(t("tap.unmuted_one", target=cut(list_views.mute_name(target, t), 60)))
        for incident_id in runtime.book.muted_incidents(target):
            runtime.outbox.incident_changed(incident_id)  # its alert offers Mute again
    text, markup = mutes_view(runtime)
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


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


async def _settled(query: CallbackQuery, t: Catalog, incident: Incident | None, key: str) -> None:
    await query.answer(t(key if incident is not None else "tap.busy"))
