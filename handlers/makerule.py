"""The "Make rule" button of a new kind's alert: a proposal with its preview, then Confirm.

The first tap replies with the drafted rule and what it would match; its Confirm
button carries the proposal's digest (`Tap.extra`), so a confirmation makes exactly
the rule shown, and a stale or forged one is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import Message, Update
from telegram.constants import ParseMode

from adminbot.kinds.draft import Preview, Proposal, Taken
from adminbot.kinds.makerule import Refusal
from adminbot.models import Incident
from adminbot.rules.builtin import NUEVO_TIPO
from adminbot.service import verbs
from handlers.commands import actor_of
from handlers.context import AdminContext
from handlers.evidence import tapped
from handlers.i18n import Catalog
from handlers.layout import View, cut, keyboard
from handlers.taps import Tap, Verb
from handlers.words import esc

LISTED = 5
"""Incidents named per line of the preview; the rest are counted."""
TEMPLATE_CHARS = 300


def proposal_view(incident: Incident, proposal: Proposal, preview: Preview, t: Catalog) -> View:
    """The proposal, what it would match in the last 24 h, and its Confirm button."""
    lines = [
        t("rule.title", kind=proposal.kind_id),
        t("rule.name", name=esc(proposal.name)),
        t("rule.pattern", pattern=esc(proposal.pattern)),
        t("rule.template", template=esc(cut(proposal.template, TEMPLATE_CHARS))),
        "",
        t("rule.samples", matched=preview.samples_matched, samples=preview.samples),
        t(
            "rule.lines",
            matched=preview.lines_matched,
            lines=preview.lines,
            incidents=preview.incidents,
        ),
    ]
    if preview.own:
        lines.append(t("rule.own", list=_listed(preview.own)))
    if preview.new_kinds:
        lines.append(t("rule.new_kinds", list=_listed(preview.new_kinds)))
    if preview.other_rules:
        lines.append(t("rule.takes", list=_listed(preview.other_rules)))
    else:
        lines.append(t("rule.takes_none"))
    lines += ["", t("rule.confirm_hint", name=esc(proposal.name))]
    confirm = Tap(Verb.RULE_CONFIRM, incident.id, incident.token, proposal.digest).encode()
    return "\n".join(lines), keyboard([[(t("btn.rule_confirm"), confirm)]])


def _listed(taken: Sequence[Taken]) -> str:
    shown = ", ".join(
        f"#{item.incident_id} {esc(item.rule)} ({item.lines})" for item in taken[:LISTED]
    )
    more = len(taken) - LISTED
    return f"{shown} +{more}" if more > 0 else shown


def refusal_text(refusal: Refusal | None, t: Catalog) -> str:
    return t(f"rule.refused.{(refusal or Refusal.STALE).value}")


async def on_make_rule(update: Update, context: AdminContext) -> None:
    """Reply with the rule drafted from the alert's kind and what it would match."""
    found = await tapped(update, context, Verb.MAKE_RULE)
    if found is None:
        return
    query, incident = found
    runtime, t = context.bot_data.runtime, context.bot_data.words
    if incident.rule != NUEVO_TIPO.name or not incident.key.isdigit():
        await query.answer(t("tap.invalid"), show_alert=True)
        return
    drafted = runtime.rule_maker.draft(int(incident.key))
    if drafted.proposal is None or drafted.preview is None:
        await query.answer(refusal_text(drafted.refusal, t), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        text, markup = proposal_view(incident, drafted.proposal, drafted.preview, t)
        await query.message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def on_rule_confirm(update: Update, context: AdminContext) -> None:
    """Make the rule shown, if it is still what a fresh draft gives; close the kind's alert."""
    found = await tapped(update, context, Verb.RULE_CONFIRM)
    if found is None:
        return
    query, incident = found
    runtime, t = context.bot_data.runtime, context.bot_data.words
    tap = Tap.parse(query.data or "")
    if tap is None or incident.rule != NUEVO_TIPO.name or not incident.key.isdigit():
        await query.answer(t("tap.invalid"), show_alert=True)
        return
    actor = actor_of(update)
    made = verbs.confirm_rule(runtime, int(incident.key), tap.extra, actor)
    if made.spec is None:
        await query.answer(refusal_text(made.refusal, t), show_alert=True)
        return
    await query.answer(t("tap.rule_made", name=made.spec.name))
    if isinstance(query.message, Message):
        done = t("rule.made", name=esc(made.spec.name), actor=esc(actor))
        await query.message.reply_text(done, parse_mode=ParseMode.HTML)


HANDLERS = {Verb.MAKE_RULE: on_make_rule, Verb.RULE_CONFIRM: on_rule_confirm}
"""One handler per verb of this module, registered by `handlers.app`."""
