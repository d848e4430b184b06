"""A SIGKILL between Telegram taking an alert and adminbot recording it: one marked re-send.

adminbot runs as its own process against the fake Bot API. The fake carries out the
sendMessage (the admin sees the alert) and holds its answer back; the test kills the
process right then, so the row is in flight with Telegram's copy already shown. After a
restart the alert is sent again at most once, saying it may be a repeat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fake_telegram import Call, FakeTelegram
from tests.harness import ADMIN, append, pipeline_log
from tests.process import AdminbotProcess, process_env

LINE = (
    "2026-11-29 10:00:0{n},000 ERROR descargas: PermissionError: [Errno 13] "
    "Permission denied: '/srv/descargas/killed/v{n}.mp4'"
)
REPEATED = "Possibly repeated"


class Adminbot(AdminbotProcess):
    """`python -m adminbot run` in tmp_path, talking to the fake; restartable."""

    def __init__(self, tmp_path: Path, fake: FakeTelegram) -> None:
        (tmp_path / "adminbot.toml").write_text(
            "[watch]\nbackstop_seconds = 0.5\n[alerts]\nedit_throttle_seconds = 0.5\n",
            encoding="utf-8",
        )
        super().__init__(
            tmp_path,
            process_env(
                {
                    "TELEGRAM_TOKEN": fake.token,
                    "ADMIN_ID": str(ADMIN),
                    "TELEGRAM_API_BASE_URL": fake.base_url,
                    "ADMINBOT_WATCH": str(tmp_path / "pipeline" / "*.log"),
                    "ADMINBOT_DATA_DIR": str(tmp_path / "data"),
                    "ADMINBOT_CONFIG": str(tmp_path / "adminbot.toml"),
                }
            ),
        )


@pytest.fixture
def adminbot(tmp_path: Path, fake_telegram: FakeTelegram) -> Iterator[Adminbot]:
    bot = Adminbot(tmp_path, fake_telegram)
    yield bot
    fake_telegram.release_answers()
    bot.stop()


def copies(fake: FakeTelegram, n: int) -> list[str]:
    """The texts of every sendMessage Telegram carried out for incident line `n`."""
    return [
        c.params["text"]
        for c in fake.calls("sendMessage")
        if f"killed/v{n}.mp4" in c.params["text"] and c.status == 200
    ]


def test_a_kill_right_after_telegram_took_an_alert_repeats_it_once_marked(
    tmp_path: Path, fake_telegram: FakeTelegram, adminbot: Adminbot
) -> None:
    log = pipeline_log(tmp_path)
    kills = 3
    for n in range(kills):
        since = fake_telegram.mark()
        adminbot.start()
        fake_telegram.wait_for(
            "sendMessage", lambda c: "adminbot is up" in c.params["text"], 60, since=since
        )
        fake_telegram.hold_answers("sendMessage")
        append(log, LINE.format(n=n))
        fake_telegram.wait_for("sendMessage", _copy_of(fake_telegram, n), 45)
        adminbot.kill()
        fake_telegram.release_answers()
    since = fake_telegram.mark()
    adminbot.start()
    fake_telegram.wait_for(
        "sendMessage", lambda c: "adminbot is up" in c.params["text"], 60, since=since
    )
    append(log, LINE.format(n=9))
    fake_telegram.wait_for("sendMessage", lambda c: "killed/v9.mp4" in c.params["text"], 45)
    for n in range(kills):
        sent = copies(fake_telegram, n)
        assert len(sent) == 2, f"alert {n} was sent {len(sent)} times"
        assert REPEATED not in sent[0]
        assert REPEATED in sent[1]
    assert len(copies(fake_telegram, 9)) == 1


def _copy_of(fake: FakeTelegram, n: int) -> Callable[[Call], bool]:
    """Whether alert `n` has reached the fake (bound now, not when the loop moves on)."""
    return lambda _call: bool(copies(fake, n))
