"""Alerts as other channels (e-mail, ntfy, Slack…) show them: plain Markdown, no buttons.

Pure functions of the alert's facts and the language; the core's sender gets
`renderer(language)` from the composition root and never sees a word.
"""

from __future__ import annotations

from adminbot.notify.channels import ChannelAlert, ChannelsStatus, ChannelText, Render
from handlers.i18n import Catalog

SAMPLE_CHARS = 500


def alert(item: ChannelAlert, t: Catalog) -> ChannelText:
    """Host, type, file and the (already redacted) sample line; where to act is Telegram."""
    severity = t(f"channel.severity.{item.severity.value}")
    title = t("channel.title", severity=severity, rule=item.rule, host=item.host)
    sample = item.sample if len(item.sample) <= SAMPLE_CHARS else item.sample[:SAMPLE_CHARS] + "…"
    lines = [
        t("channel.host", host=item.host),
        t("channel.rule", rule=item.rule, id=item.incident_id),
        t("channel.file", file=item.source),
        t("channel.at", at=item.at.isoformat(timespec="seconds")),
        "",
        "```",
        sample.replace("```", "'''"),
        "```",
    ]
    if item.link:
        lines.append(t("channel.link", link=item.link))
    lines.append(t("channel.act"))
    return ChannelText(title, "\n".join(lines))


def test_message(t: Catalog) -> ChannelText:
    return ChannelText(t("channel.test_title"), t("channel.test_body"))


def renderer(language: str) -> Render:
    """The renderer the core's sender is built with."""
    t = Catalog(language)

    def render(item: ChannelAlert | None) -> ChannelText:
        return test_message(t) if item is None else alert(item, t)

    return render


def status_lines(report: ChannelsStatus, t: Catalog) -> list[str]:
    """/status: one line per channel, named by index and its URL without secrets."""
    lines = []
    for item in report.channels:
        name = f"#{item.index} {item.name}"
        if item.dead is not None:
            lines.append(t("status.channel_dead", name=name, reason=item.dead))
        elif item.failing_since is not None:
            since = item.failing_since.isoformat(timespec="seconds")
            lines.append(t("status.channel_failing", name=name, since=since, queued=item.queued))
        else:
            lines.append(t("status.channel_ok", name=name, queued=item.queued))
    return lines
