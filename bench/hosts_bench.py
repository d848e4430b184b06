"""Several agents through one PostgreSQL: do they keep up with their logs? Run by hand.

    .venv/bin/python bench/hosts_bench.py                      # 4 agents, 5,000 lines/s each, 30 s
    .venv/bin/python bench/hosts_bench.py --agents 2 --rate 2000 --seconds 10

Starts a throw-away PostgreSQL (tests.pg) and `--agents` headless agents, each as its
own `python -m adminbot run` process with its own host name, log folder and data dir.
A writer appends the simulator's mix (adminbot.simulate.generate_log: normal traffic
with about 2% error records, tracebacks included) to every agent's log at `--rate`
lines per second each, in 20 ms slices. The lag of an agent is how long after the
last line was written its checkpoint in the database reaches the end of its log
(lines read, classified and committed with their incidents). Then one agent alone
reads a log written beforehand, from its beginning: its ceiling in lines per second.
Target: every agent within 1 s of its log.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `tests` is not an installed package

import psycopg  # noqa: E402

from adminbot.simulate import generate_log  # noqa: E402
from tests.pg import pg_cluster  # noqa: E402

SLICE = 0.02
TARGET_LAG = 1.0


class Agent:
    """One headless agent process watching `folder/pipeline/bot.log`."""

    def __init__(self, folder: Path, name: str, url: str, *, from_beginning: bool = False):
        self.name = name
        self.log = folder / "pipeline" / "bot.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.log.touch()
        config = folder / "adminbot.toml"
        config.write_text(
            f"[watch]\nfrom_beginning = {'true' if from_beginning else 'false'}\n",
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ADMINBOT_", "TELEGRAM"))}
        env |= {
            "ADMIN_ID": "1",
            "ADMINBOT_DATABASE_URL": url,
            "ADMINBOT_HOST": name,
            "ADMINBOT_WATCH": str(self.log),
            "ADMINBOT_DATA_DIR": str(folder / "data"),
            "ADMINBOT_CONFIG": str(config),
            "PYTHONPATH": str(ROOT),
        }
        self.output = (folder / "adminbot.out").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "adminbot", "run"],
            cwd=folder,
            env=env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.output.close()


def stored_offset(conn: psycopg.Connection[tuple[object, ...]], host: str, path: Path) -> int:
    row = conn.execute(
        'SELECT "offset" FROM checkpoints WHERE host = %s AND path = %s', (host, str(path))
    ).fetchone()
    return int(str(row[0])) if row else -1


def wait_for_hosts(url: str, names: Sequence[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            found = {str(r[0]) for r in conn.execute("SELECT name FROM hosts").fetchall()}
            if set(names) <= found:
                return
            time.sleep(0.2)
    raise SystemExit(f"agents did not start within {timeout}s")


def write(agents: Sequence[Agent], lines: Sequence[str], rate: int, seconds: float) -> float:
    """Append `rate` lines/s to every agent's log for `seconds`; returns when the last went."""
    per_slice = max(1, round(rate * SLICE))
    handles = [agent.log.open("a", encoding="utf-8") for agent in agents]
    start = time.monotonic()
    slices = int(seconds / SLICE)
    position = 0
    for index in range(slices):
        pause = start + index * SLICE - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        chunk = "".join(lines[(position + i) % len(lines)] for i in range(per_slice))
        position += per_slice
        for handle in handles:
            handle.write(chunk)
            handle.flush()
    late = time.monotonic() - (start + slices * SLICE)
    for handle in handles:
        handle.close()
    if late > 0.5:
        print(f"  (the writer itself fell {late:.1f} s behind)")
    return time.monotonic()


def caught_up(url: str, agents: Sequence[Agent], since: float, timeout: float) -> dict[str, float]:
    """Seconds after `since` at which each agent's stored checkpoint reached its log's end."""
    sizes = {agent.name: agent.log.stat().st_size for agent in agents}
    lags: dict[str, float] = {}
    deadline = since + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while len(lags) < len(agents) and time.monotonic() < deadline:
            for agent in agents:
                if (
                    agent.name not in lags
                    and stored_offset(conn, agent.name, agent.log) >= sizes[agent.name]
                ):
                    lags[agent.name] = time.monotonic() - since
            time.sleep(0.02)
    return lags


def mix(path: Path, n_lines: int) -> list[str]:
    generate_log(path, n_lines)
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def shared(root: Path, url: str, agents_n: int, rate: int, seconds: float) -> None:
    lines = mix(root / "mix.log", 50_000)
    names = [f"h{n}" for n in range(1, agents_n + 1)]
    agents = [Agent(root / name, name, url) for name in names]
    try:
        wait_for_hosts(url, names)
        time.sleep(2.0)  # each tailer has made its first pass
        print(f"{agents_n} agents, {rate:,} lines/s each for {seconds:g} s, one PostgreSQL")
        ended = write(agents, lines, rate, seconds)
        lags = caught_up(url, agents, ended, timeout=120)
    finally:
        for agent in agents:
            agent.stop()
    for name in names:
        lag = lags.get(name)
        print(f"  {name}: " + (f"caught up {lag:.2f} s after the last line" if lag else "behind"))
    worst = max(lags.values()) if len(lags) == len(names) else float("inf")
    verdict = "kept up" if worst <= TARGET_LAG else "did NOT keep up"
    print(f"  worst lag {worst:.2f} s: {verdict} (target {TARGET_LAG:g} s)")


def ceiling(root: Path, url: str, n_lines: int) -> None:
    folder = root / "alone"
    log = folder / "pipeline" / "bot.log"
    generate_log(log, n_lines)
    agent = Agent(folder, "alone", url, from_beginning=True)
    size = log.stat().st_size
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            while stored_offset(conn, "alone", log) <= 0:
                time.sleep(0.01)
            start = time.monotonic()
            while stored_offset(conn, "alone", log) < size:
                time.sleep(0.01)
            took = time.monotonic() - start
    finally:
        agent.stop()
    print(f"one agent alone: {n_lines:,} lines from its beginning in {took:.1f} s")
    print(f"  ceiling about {n_lines / took:,.0f} lines/s through PostgreSQL")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--rate", type=int, default=5000, help="lines per second per agent")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--alone-lines", type=int, default=300_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hosts-bench-") as tmp, pg_cluster() as cluster:
        root = Path(tmp)
        shared(root, cluster.fresh(), args.agents, args.rate, args.seconds)
        ceiling(root, cluster.fresh(), args.alone_lines)
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    sys.exit(main())
