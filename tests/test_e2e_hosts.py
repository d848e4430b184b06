"""Two hosts, one PostgreSQL, one bot: each host's adminbot runs as its own process.

Host a has the Telegram token (the front, until the front is elected); host b is a
headless agent. Each has its own log folder and allowed folder. The fake Bot API
stands in for Telegram; a real PostgreSQL is the store they share.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adminbot.clock import utcnow
from adminbot.store.hosts import HostRow, HostStore
from adminbot.store.postgres import PgStore
from adminbot.store.work import WorkStore
from tests.fake_telegram import Call, FakeTelegram, SentMessage
from tests.harness import ADMIN, append
from tests.pg import PgCluster
from tests.process import AdminbotProcess, process_env

pytestmark = pytest.mark.fleet

LINE = (
    "2026-11-30 10:00:0{n},000 ERROR descargas: PermissionError: [Errno 13] "
    "Permission denied: '{path}'"
)
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")


class Host(AdminbotProcess):
    """`python -m adminbot run` as host `name`, in its own folder; restartable."""

    def __init__(self, root: Path, name: str, url: str, fake: FakeTelegram, *, front: bool):
        self.name = name
        self.folder = root / name
        self.downloads = self.folder / "downloads"
        self.downloads.mkdir(parents=True)
        self.log = self.folder / "pipeline" / "bot.log"
        self.log.parent.mkdir()
        self.log.touch()
        (self.folder / "adminbot.toml").write_text(
            "verificacion_periodica = 1\n"
            f'[actions]\nallowed_folders = ["{self.downloads}"]\nowner = "0"\ngroup = "0"\n'
            "[watch]\nbackstop_seconds = 0.5\n"
            "[alerts]\nedit_throttle_seconds = 0.5\nstorm_threshold = 100\n",
            encoding="utf-8",
        )
        env = {
            "ADMIN_ID": str(ADMIN),
            "ADMINBOT_DATABASE_URL": url,
            "ADMINBOT_HOST": name,
            "ADMINBOT_WATCH": str(self.log.parent / "*.log"),
            "ADMINBOT_DATA_DIR": str(self.folder / "data"),
            "ADMINBOT_CONFIG": str(self.folder / "adminbot.toml"),
        }
        if front:
            env |= {"TELEGRAM_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.base_url}
        super().__init__(self.folder, process_env(env))

    def video(self, name: str) -> Path:
        """A download owned by uid 12345 (a wrong owner Chown fixes)."""
        path = self.downloads / "serie" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"video")
        os.chown(path, 12345, 12345)
        return path


class Fleet:
    def __init__(self, tmp_path: Path, postgres: PgCluster, fake: FakeTelegram) -> None:
        self.url = postgres.fresh()
        self.fake = fake
        self.a = Host(tmp_path, "a", self.url, fake, front=True)
        self.b = Host(tmp_path, "b", self.url, fake, front=False)
        self.viewer = PgStore(self.url, host="viewer", migrate_schema=False)

    def start(self) -> None:
        since = self.fake.mark()
        self.a.start()
        self.b.start()
        up: Callable[[Call], bool] = lambda c: "adminbot is up" in c.params["text"]  # noqa: E731
        self.fake.wait_for("sendMessage", up, 30, since=since)
        wait_until(lambda: {"a", "b"} <= {h.name for h in self.hosts()}, 30)

    def hosts(self) -> list[HostRow]:
        return HostStore(self.viewer).hosts(utcnow())

    def alerts(self, needle: str) -> list[SentMessage]:
        return [m for m in self.fake.messages(ADMIN) if needle in m.text]

    def stop(self) -> None:
        self.fake.release_answers()
        for host in (self.b, self.a):
            host.stop()
        self.viewer.close()


def wait_until(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {check}")
        time.sleep(0.1)


def mentions(text: str) -> Callable[[Call], bool]:
    return lambda call: text in call.params["text"]


@pytest.fixture
def fleet(tmp_path: Path, postgres: PgCluster, fake_telegram: FakeTelegram) -> Iterator[Fleet]:
    built = Fleet(tmp_path, postgres, fake_telegram)
    yield built
    built.stop()


@needs_root
def test_an_error_on_b_is_alerted_once_naming_b_and_chown_fixes_bs_file_not_as(
    fleet: Fleet,
) -> None:
    fleet.start()
    on_b = fleet.b.video("v1.mp4")
    on_a = fleet.a.video("v1.mp4")  # the same name on the other host
    append(fleet.b.log, LINE.format(n=1, path=on_b))
    fleet.fake.wait_for("sendMessage", lambda c: "v1.mp4" in c.params["text"], 20)
    [alert] = fleet.alerts("v1.mp4")
    assert "Host: b" in alert.text
    offered = dict(fleet.fake.buttons(ADMIN, alert.message_id))
    assert not {"🔎 Context", "📄 Log"} & set(offered)  # a's files are not b's evidence
    fleet.fake.tap(ADMIN, ADMIN, alert.message_id, offered["🔑 Chown"])
    answer = fleet.fake.wait_for("answerCallbackQuery", lambda c: True, 10)
    assert "Sent to host b" in answer.params["text"]
    wait_until(lambda: "resolved" in fleet.alerts("v1.mp4")[0].text, 20)
    assert on_b.stat().st_uid == 0
    assert on_a.stat().st_uid == 12345
    [final] = fleet.alerts("v1.mp4")  # one alert, edited: never a second message
    assert "✅" in final.text and "Host: b" in final.text
    sent = [c for c in fleet.fake.calls("sendMessage") if "v1.mp4" in c.params["text"]]
    assert len(sent) == 1


def test_a_second_copy_of_a_host_is_refused_with_one_line(fleet: Fleet, tmp_path: Path) -> None:
    fleet.start()
    copy = Host(tmp_path / "copy", "b", fleet.url, fleet.fake, front=False)
    done = subprocess.run(
        [sys.executable, "-m", "adminbot", "run"],
        cwd=copy.folder,
        env=copy.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    copy.output.close()
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "another adminbot already runs as host 'b'" in line


def test_an_agent_killed_and_restarted_loses_and_repeats_nothing_and_its_silence_is_told(
    fleet: Fleet,
) -> None:
    fleet.start()
    paths = [f"/srv/b/k{n}.mp4" for n in range(9)]
    append(fleet.b.log, *(LINE.format(n=n, path=paths[n]) for n in range(3)))
    wait_until(lambda: len(fleet.viewer.incidents(limit=50)) == 3, 20)
    fleet.b.kill()
    append(fleet.b.log, *(LINE.format(n=n, path=paths[n]) for n in range(3, 6)))
    fleet.fake.wait_for("sendMessage", lambda c: "host b silent since" in c.params["text"], 20)
    fleet.b.start()
    append(fleet.b.log, *(LINE.format(n=n, path=paths[n]) for n in range(6, 9)))
    for path in paths:
        fleet.fake.wait_for("sendMessage", mentions(path), 30)
    wait_until(lambda: "resolved" in fleet.alerts("host b silent since")[0].text, 20)
    incidents = [i for i in fleet.viewer.incidents(limit=50) if i.rule == "permisos"]
    assert sorted(i.fields["path"] for i in incidents) == sorted(paths)
    assert all(i.count == 1 and i.host == "b" for i in incidents)
    for path in paths:
        sent = [c for c in fleet.fake.calls("sendMessage") if path in c.params["text"]]
        assert len(sent) == 1, f"{path} was alerted {len(sent)} times"


def test_a_tap_for_a_silent_host_is_answered_not_reachable_and_nothing_runs(
    fleet: Fleet,
) -> None:
    fleet.start()
    append(fleet.b.log, LINE.format(n=1, path="/srv/b/gone.mp4"))
    fleet.fake.wait_for("sendMessage", mentions("gone.mp4"), 20)
    [alert] = fleet.alerts("gone.mp4")
    fleet.b.kill()
    fleet.fake.wait_for("sendMessage", mentions("host b silent since"), 20)
    chown = dict(fleet.fake.buttons(ADMIN, alert.message_id))["🔑 Chown"]
    fleet.fake.tap(ADMIN, ADMIN, alert.message_id, chown)
    answer = fleet.fake.wait_for("answerCallbackQuery", lambda c: True, 10)
    assert answer.params["text"] == "Host b is not reachable: nothing was run."
    assert WorkStore(fleet.viewer).pending("b") == []
