"""Evidence and kind buttons on an alert: Context, Log, and "Ignore this kind".

Context shows the lines around the latest occurrence, Log sends the file up to it as
a document; both read only a file the tailer watches now, redacted like every line.
"Ignore this kind" is offered on a `nuevo_tipo` alert: the kind's lines are counted
from then on, never alerted.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from telegram import CallbackQuery, InputFile, Message, Update
from telegram.constants import ParseMode

from adminbot.evidence.excerpt import Excerpt, NotWatched, around, leading_to, watched_path
from adminbot.models import Incident
from adminbot.redaction import Redactor
from adminbot.rules.builtin import NUEVO_TIPO
from adminbot.service import verbs
from handlers.buttons import latest_line
from handlers.commands import actor_of
from handlers.context import AdminContext
from handlers.i18n import Catalog
from handlers.layout import MAX_CHARS, cut, visible_len
from handlers.taps import Tap, Verb, incident_of
from handlers.words import esc

logger = logging.getLogger(__name__)

CONTEXT_LINES = 10
LOG_LINES = 200
LINE_CHARS = 300


def context_text(incident_id: int, excerpt: Excerpt, t: Catalog) -> str:
    """The excerpt as monospace lines, the occurrence marked, within Telegram's limit."""
    lines = excerpt.lines
    first = lines[0][0] if lines else excerpt.line_no
    last = lines[-1][0] if lines else excerpt.line_no
    head = t("evidence.title", id=incident_id, file=esc(excerpt.path), first=first, last=last)
    if not excerpt.found:
        head += "\n" + esc(t("evidence.moved", line=excerpt.line_no))
    width = len(str(last))
    body = [
        f"{'▶' if n == excerpt.line_no else ' '}{n:>{width}}│ {cut(text, LINE_CHARS)}"
        for n, text in lines
    ]
    room = MAX_CHARS - visible_len(head) - 20
    while body and sum(len(line) + 1 for line in body) > room:
        far = 0 if abs(lines[0][0] - excerpt.line_no) >= abs(lines[-1][0] - excerpt.line_no) else -1
        body.pop(far)
        lines = lines[1:] if far == 0 else lines[:-1]
    return f"{head}\n<pre>{esc(chr(10).join(body))}</pre>" if body else head


def log_document(excerpt: Excerpt) -> bytes:
    return "".join(f"{text}\n" for _, text in excerpt.lines).encode("utf-8")


async def on_context(update: Update, context: AdminContext) -> None:
    """Reply with the ±10 lines around the alert's latest occurrence."""
    found = await _evidence(update, context, Verb.CONTEXT, CONTEXT_LINES)
    if found is not None:
        message, incident, excerpt = found
        text = context_text(incident.id, excerpt, context.bot_data.words)
        await message.reply_text(text, parse_mode=ParseMode.HTML)


async def on_log(update: Update, context: AdminContext) -> None:
    """Send the file's last 200 lines up to the occurrence as a document."""
    found = await _evidence(update, context, Verb.LOG, LOG_LINES)
    if found is not None:
        message, incident, excerpt = found
        name = f"incident-{incident.id}-{Path(excerpt.path).name}.txt"
        caption = context.bot_data.words(
            "evidence.log_caption",
            id=incident.id,
            count=len(excerpt.lines),
            line=excerpt.line_no,
            file=Path(excerpt.path).name,
        )
        document = InputFile(log_document(excerpt), filename=name)
        await message.reply_document(document, caption=cut(caption, 1000))


async def on_kind_ignore(update: Update, context: AdminContext) -> None:
    """The kind becomes ignored and its alert is closed as ignored."""
    found = await tapped(update, context, Verb.KIND_IGNORE)
    if found is None:
        return
    query, incident = found
    runtime, t = context.bot_data.runtime, context.bot_data.words
    if incident.rule != NUEVO_TIPO.name or not incident.key.isdigit():
        await query.answer(t("tap.invalid"), show_alert=True)
        return
    kind_id = int(incident.key)
    if not verbs.ignore_kind(runtime, kind_id, actor_of(update)):
        await query.answer(t("tap.invalid"), show_alert=True)
        return
    await query.answer(t("tap.kind_ignored", kind=kind_id))


async def _evidence(
    update: Update, context: AdminContext, verb: Verb, count: int
) -> tuple[Message, Incident, Excerpt] | None:
    """Read the excerpt a Context or Log tap asks for; answer the tap either way."""
    found = await tapped(update, context, verb)
    if found is None:
        return None
    query, incident = found
    runtime, t = context.bot_data.runtime, context.bot_data.words
    latest = latest_line(runtime, incident)
    if latest is None:
        await query.answer(t("evidence.no_line"), show_alert=True)
        return None
    source, line_no = latest
    clean = Redactor.configured(runtime.config.redact).text
    try:
        path = watched_path(source, [f.path for f in runtime.monitor.watched()])
        if verb is Verb.CONTEXT:
            excerpt = await asyncio.to_thread(
                around, path, line_no, before=count, after=count, clean=clean
            )
        else:
            excerpt = await asyncio.to_thread(leading_to, path, line_no, count=count, clean=clean)
    except NotWatched:
        await query.answer(t("evidence.not_watched"), show_alert=True)
        return None
    except OSError as exc:
        await query.answer(cut(t("evidence.gone", why=exc.strerror or exc), 190), show_alert=True)
        return None
    await query.answer()
    if not isinstance(query.message, Message):
        return None
    return query.message, incident, excerpt


async def tapped(
    update: Update, context: AdminContext, verb: Verb
) -> tuple[CallbackQuery, Incident] | None:
    """The tapped incident, if the tap is well formed and carries the incident's token."""
    query = update.callback_query
    if query is None:
        return None
    incident = incident_of(
        Tap.parse(query.data or ""), verb, context.bot_data.runtime.store.incident
    )
    if incident is None:
        await query.answer(context.bot_data.words("tap.invalid"), show_alert=True)
        return None
    return query, incident


HANDLERS = {Verb.CONTEXT: on_context, Verb.LOG: on_log, Verb.KIND_IGNORE: on_kind_ignore}
"""One handler per verb of this module, registered by `handlers.app`."""
