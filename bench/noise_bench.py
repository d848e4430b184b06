"""How many messages does an hour of the built-in simulator push to the admin? Run by hand.

    .venv/bin/python bench/noise_bench.py                # one simulated hour, twice
    .venv/bin/python bench/noise_bench.py --minutes 10   # a shorter run

The traffic is `adminbot simulate`'s at its defaults (2 records a second, one of the
six error kinds every 3 s in turn, the rest normal pipeline lines; seed 0), its
download folders in the demo's folder as `adminbot run` without a configuration
has them. It goes through the real pipeline at default settings: the demo
configuration (no TOML: watching `data/demo/pipeline.log`, the demo's harmless retry),
the service built as `tests.harness.running_bot` builds it (tailer, rules, intake,
remedies, outbox, the Telegram front, PTB), talking to `tests.fake_telegram`.

Time is compressed with a virtual clock: the service runs on a `FakeClock` (every
timestamp, the edit throttle, storm windows, reminders, quiet hours), and the writer
appends each 10 s of traffic, stamped with virtual time, then moves the clock on 10 s
and waits until the tailer has read it and the queued messages are delivered, so a
simulated hour takes a minute or two. Three things do not read the injected clock and
are adjusted here, on the built objects, on purpose: the fix budgets (30 automatic
fixes per 10 min) count on a virtual monotonic clock; the per-chat pace of delivery
is lifted (it would only delay messages, not change their number); the check period
(which is also the reminders' round) and the Bot API re-check wait are shortened.

Counted: messages pushed to the admin (sendMessage accepted, not edits), split into
alerts, reminders and other notices (start-up); distinct incidents in the store;
edits. Run once with default settings and once with quiet hours covering the hour
(`[alerts] quiet_hours`), where messages sent with `disable_notification` are silent.
Target: at most one message per distinct incident, plus reminders.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `tests` is not an installed package

from adminbot.config import Config, load_config, prepare_data_dir  # noqa: E402
from adminbot.notify.console import ConsoleAlerts  # noqa: E402
from adminbot.service.lifecycle import Service, build_service  # noqa: E402
from adminbot.service.runtime import Edges, Periods  # noqa: E402
from adminbot.simulate import ERROR_KINDS, error_record, sample_line  # noqa: E402
from adminbot.simulate import ROOT as SIM_ROOT  # noqa: E402
from handlers.app import TelegramFront  # noqa: E402
from handlers.pacing import Pace, Pacer  # noqa: E402
from tests.clocks import FakeClock  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402
from tests.harness import ADMIN, eventually  # noqa: E402

START = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
STEP = 10.0
"""Virtual seconds of traffic written, then read and delivered, per round."""
RATE = 2.0
ERROR_EVERY = 3.0
SEED = 0
PERIODS = Periods(check=0.1, tick=0.1, verify=0.2, delivery_backoff=0.05, drain=2.0)
REMINDER = "nobody is on it"
ALERT_TITLE = re.compile(r" · (\w+)</b> #\d+")
"""An alert's first line: "<b>🟠 ERROR · timeout</b> #12"."""


@dataclass(frozen=True)
class Figures:
    pushed: int
    alerts: int
    reminders: int
    notices: int
    silent: int
    incidents: int
    edits: int
    seconds: float
    by_rule: tuple[tuple[str, int], ...] = ()


def traffic(seconds: float, root: str) -> list[tuple[float, str]]:
    """The simulator's records over `seconds`, with their virtual offsets: its defaults,
    as `adminbot.simulate.simulate` writes them in real time."""
    rng = random.Random(SEED)
    cycle = rng.randrange(len(ERROR_KINDS))
    next_error = min(1.0, ERROR_EVERY)
    records = []
    for n in range(int(seconds * RATE)):
        at = n / RATE
        now = START + timedelta(seconds=at)
        if at >= next_error:
            record = error_record(rng, now, ERROR_KINDS[cycle % len(ERROR_KINDS)])
            cycle += 1
            next_error = at + ERROR_EVERY
        else:
            record = sample_line(rng, now, error_ratio=0.0)
        records.append((at, record.replace(SIM_ROOT, root)))
    return records


def configure(folder: Path, fake: FakeTelegram, quiet: bool) -> Config:
    """The demo configuration (no watched logs), optionally with quiet hours all along."""
    toml = '[alerts]\nquiet_hours = "09:00-13:00"\n' if quiet else ""
    (folder / "adminbot.toml").write_text(toml, encoding="utf-8")
    env = {
        "TELEGRAM_TOKEN": fake.token,
        "ADMIN_ID": str(ADMIN),
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "ADMINBOT_DATA_DIR": str(folder / "data"),
    }
    config = load_config(env, cwd=folder)
    prepare_data_dir(config)
    return config


def adjust(service: Service, clock: FakeClock) -> None:
    """What does not read the injected clock, set on the built objects (see the docstring)."""
    front = service.front
    assert isinstance(front, TelegramFront)
    wide = Pace(rate=1e6, burst=1e6)
    front.delivery.pacer = Pacer(private=wide, group=wide)
    for budget in service.runtime.remedies.budgets.values():
        budget._monotonic = lambda: clock.now.timestamp()  # virtual time for the budget


async def run_hour(minutes: float, quiet: bool, show: bool = False) -> Figures:
    started = time.monotonic()
    clock = FakeClock(START)
    with tempfile.TemporaryDirectory() as tmp, FakeTelegram() as fake:
        folder = Path(tmp)
        config = configure(folder, fake, quiet)
        log = config.demo_log
        records = traffic(minutes * 60, str(config.demo_folder))
        service = build_service(
            config,
            lambda runtime: TelegramFront(runtime, poll_timeout=1),
            Edges(clock=clock, periods=PERIODS),
            console=ConsoleAlerts(io.StringIO(), zone=config.zone),  # the terminal stays quiet
        )
        await service.start()
        try:
            adjust(service, clock)
            await _drive(service, clock, log, records)
            if show:
                for call in fake.calls("sendMessage"):
                    bell = "🔕" if call.params.get("disable_notification") else "🔔"
                    print(bell, call.params["text"].split("\n", 1)[0])
            return _count(fake, service, time.monotonic() - started)  # before the stop's summary
        finally:
            await service.stop()


async def _drive(
    service: Service, clock: FakeClock, log: Path, records: list[tuple[float, str]]
) -> None:
    runtime = service.runtime
    await eventually(lambda: str(log) in {w.path for w in runtime.monitor.watched()}, 10)
    lines = 0
    index = 0
    end = records[-1][0] if records else 0.0
    window = 0.0
    while window <= end:
        chunk = []
        while index < len(records) and records[index][0] < window + STEP:
            chunk.append(records[index][1])
            index += 1
        clock.now = START + timedelta(seconds=window)
        with log.open("a", encoding="utf-8") as out:
            out.write("".join(record + "\n" for record in chunk))
        lines += sum(record.count("\n") + 1 for record in chunk)
        await eventually(_read_up_to(service, lines), 30)
        await _settled(service)
        window += STEP
    clock.now += timedelta(minutes=1)  # the last throttled edits fall due
    await _settled(service)


def _read_up_to(service: Service, lines: int) -> Callable[[], bool]:
    return lambda: service.runtime.monitor.stats.lines >= lines


async def _settled(service: Service) -> None:
    """The queue is empty (or holds only what falls due later) and jobs had a round."""
    store = service.runtime.store
    now = service.runtime.clock
    await asyncio.sleep(2 * PERIODS.tick)  # a bench may wait: the reminders' round runs
    await eventually(lambda: not store.due(now(), limit=1), 30)


def _count(fake: FakeTelegram, service: Service, seconds: float) -> Figures:
    sent = [c for c in fake.calls("sendMessage") if c.ok]
    reminders = [c for c in sent if REMINDER in c.params["text"]]
    titles = [ALERT_TITLE.search(c.params["text"].split("\n", 1)[0]) for c in sent]
    alerts = [c for c, title in zip(sent, titles, strict=True) if title]
    by_rule = Counter(title[1] for title in titles if title)
    notices = [c for c in sent if c not in reminders and c not in alerts]
    return Figures(
        pushed=len(sent),
        alerts=len(alerts),
        reminders=len(reminders),
        notices=len(notices),
        silent=sum(1 for c in sent if c.params.get("disable_notification")),
        incidents=service.runtime.store.count_incidents(),
        edits=len([c for c in fake.calls("editMessageText") if c.ok]),
        seconds=seconds,
        by_rule=tuple(by_rule.most_common()),
    )


def report(name: str, f: Figures) -> None:
    per = f.pushed / f.incidents if f.incidents else 0.0
    verdict = "✅" if f.pushed <= f.incidents + f.reminders else "❌"
    print(
        f"{name}: {f.pushed} messages pushed ({f.alerts} alerts, {f.reminders} reminders, "
        f"{f.notices} other notices; {f.silent} silent, {f.pushed - f.silent} ringing) for "
        f"{f.incidents} distinct incidents ({per:.2f} per incident), {f.edits} edits; "
        f"target ≤ incidents + reminders {verdict} ({f.seconds:.0f} s)"
    )
    print("  alerts by type: " + ", ".join(f"{rule} {n}" for rule, n in f.by_rule))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="simulated minutes")
    parser.add_argument("--show", action="store_true", help="print each message's first line")
    args = parser.parse_args()
    for name, quiet in (("default settings", False), ("quiet hours on", True)):
        report(name, asyncio.run(run_hour(args.minutes, quiet, args.show)))


if __name__ == "__main__":
    main()
