"""End to end: "Make rule" on a new kind's alert, then Confirm, against the fake Bot API."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from adminbot.models import Match, Record, Severity
from adminbot.store.kinds import KindState
from tests.fake_telegram import FakeTelegram
from tests.harness import (
    ADMIN,
    append,
    delivered_alerts,
    eventually,
    make_config,
    pipeline_log,
    running_bot,
)

NO_WARMUP = "[kinds]\nwarmup = 0\n"
RULE = "download_of_failed_file"


def too_big(n: int) -> str:
    return (
        f"2026-11-29 10:00:{n % 60:02d},{n % 1000:03d} ERROR descargas.worker: Download of "
        f"BAACAgEAAxkBAAI{n:05d}abcdefghijkl failed: File is too big ({n} MB)"
    )


def _button(fake: FakeTelegram, message_id: int, label: str) -> str:
    return next(data for text, data in fake.buttons(ADMIN, message_id) if label in text)


async def _answer(fake: FakeTelegram, query: str) -> str:
    call = await fake.await_call(
        "answerCallbackQuery", lambda c: c.params["callback_query_id"] == query
    )
    return str(call.params.get("text", ""))


async def test_make_rule_then_confirm_alerts_the_next_line_of_the_kind_under_the_new_rule(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram, NO_WARMUP)
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        append(log, too_big(1), too_big(2))
        await fake_telegram.await_call("sendMessage", lambda c: "nuevo_tipo" in c.params["text"])
        alert = next(m for m in fake_telegram.messages(ADMIN) if "nuevo_tipo" in m.text)

        mark = fake_telegram.mark()
        make = _button(fake_telegram, alert.message_id, "Make rule")
        fake_telegram.tap(ADMIN, ADMIN, alert.message_id, make)
        proposal = await fake_telegram.await_call(
            "sendMessage", lambda c: "Rule proposed" in c.params["text"], since=mark
        )
        text = proposal.params["text"]
        assert f"Name: <code>{RULE}</code>" in text
        assert "Download\\s+of\\s+(?P&lt;file_id&gt;" in text  # the regex, escaped for HTML
        assert "Matches 2 of the kind's 2 stored sample lines." in text
        assert "Last 24 h: matches 2 of the 2 lines" in text
        assert "Takes nothing from existing rules." in text
        shown = fake_telegram.last_message(ADMIN)
        confirm = _button(fake_telegram, shown.message_id, "Confirm")

        forged = confirm[:-12] + "0" * 12
        query = fake_telegram.tap(ADMIN, ADMIN, shown.message_id, forged, forge=True)
        assert "out of date" in await _answer(fake_telegram, query)
        assert runtime.kinds.all()[0].state is KindState.NEW
        assert RULE not in runtime.rules

        # The same kind seen on another host sharing the store: its alert is closed too.
        kind = str(runtime.kinds.all()[0].id)
        elsewhere = Match("nuevo_tipo", Severity.WARNING, Record("/b.log", 1, "x"), key=kind)
        runtime.store.record_matches([replace(elsewhere, host="b")], runtime.clock(), lambda: "t")

        query = fake_telegram.tap(ADMIN, ADMIN, shown.message_id, confirm)
        assert f"Rule {RULE} is in force" in await _answer(fake_telegram, query)
        assert runtime.kinds.all()[0].state is KindState.RULED
        closed = runtime.store.incidents(rule="nuevo_tipo")
        assert {(i.host, i.state.value) for i in closed} == {
            (runtime.store.host, "resolved"),
            ("b", "resolved"),
        }

        again = fake_telegram.tap(ADMIN, ADMIN, shown.message_id, confirm)
        assert "already made" in await _answer(fake_telegram, again)  # a replay is refused

        mark = fake_telegram.mark()
        append(log, too_big(3))
        await fake_telegram.await_call(
            "sendMessage", lambda c: f"ERROR · {RULE}" in c.params["text"], since=mark
        )
        assert len(delivered_alerts(fake_telegram, f"ERROR · {RULE}")) == 1
        alert_text = delivered_alerts(fake_telegram, f"ERROR · {RULE}")[0].params["text"]
        assert "File is too big (3 MB)" in alert_text
        await eventually(lambda: runtime.store.incidents(rule=RULE)[0].count == 1)
        assert runtime.kinds.all()[0].count == 2  # the line was classified, not mined


async def test_a_made_rule_is_in_force_after_a_restart(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram, NO_WARMUP)
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        append(log, too_big(1))
        await eventually(lambda: runtime.kinds.total() == 1)
        kind = runtime.kinds.all()[0]
        drafted = runtime.rule_maker.draft(kind.id)
        assert drafted.proposal is not None
        made = runtime.rule_maker.confirm(kind.id, drafted.proposal.digest, "test")
        assert made.spec is not None and made.spec.name == RULE
    async with running_bot(config) as (_, runtime):
        assert RULE in runtime.rules
        append(log, too_big(2))
        await eventually(lambda: runtime.store.incidents(rule=RULE))
