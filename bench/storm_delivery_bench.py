"""After a storm of distinct incidents, how soon does a new critical alert reach the admin,
and what does the storm itself cost in messages? Run by hand.

    .venv/bin/python bench/storm_delivery_bench.py                 # 10,000 incidents in 10 s
    .venv/bin/python bench/storm_delivery_bench.py --count 2000 --seconds 2
    .venv/bin/python bench/storm_delivery_bench.py --fixable    # folders it may create

The real pipeline, as `tests.harness.running_bot` builds it (build_service with the
TelegramFront, the watchdog tailer, the SQLite store, the paced outbox delivery) on
production periods and the default `[alerts] storm_threshold`, against
`tests.fake_telegram` on 127.0.0.1, which answers at once. A writer appends one
permission error per new incident, each on its own path, spread evenly over
`--seconds`; right after the last one it appends a `disco_lleno` line (critical, another
rule) and times it from that write to the fake's answer to its sendMessage. With
`--fixable` each line is a missing folder inside `[actions] allowed_folders`
(`ruta_inexistente`, fixed automatically by creating it, `auto_fix_budget` at a time).
Targets: the critical within 5 s; the storm costs at most 20 messages (edits aside).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `tests` is not an installed package

from adminbot.config import load_config  # noqa: E402
from adminbot.service.runtime import Periods  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402
from tests.harness import ADMIN, running_bot  # noqa: E402

LINE = (
    "2026-11-29 10:00:01,123 ERROR descargas: PermissionError: [Errno 13] "
    "Permission denied: '/srv/descargas/storm/v{n:05d}.mp4'\n"
)
FIXABLE = (
    "2026-11-29 10:00:01,123 ERROR descargas.carpetas: la carpeta no existe: {root}/d{n:05d}\n"
)
CRITICAL = "2026-11-29 10:00:12,000 ERROR descargas: OSError: [Errno 28] No space left\n"
TARGET_SECONDS = 5.0
TARGET_MESSAGES = 20


def write_storm(log: Path, count: int, seconds: float, line: str = LINE) -> float:
    """Append `count` lines spread over `seconds` in 10 ms slices, then the critical line;
    returns when the critical line was written."""
    slices = max(1, int(seconds / 0.01))
    per_slice = -(-count // slices)
    start = time.monotonic()
    with log.open("a", encoding="utf-8") as handle:
        for index, first in enumerate(range(0, count, per_slice)):
            pause = start + index * 0.01 - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            handle.write(
                "".join(line.format(n=n) for n in range(first, min(count, first + per_slice)))
            )
            handle.flush()
        handle.write(CRITICAL)
        handle.flush()
        return time.monotonic()


async def run(args: argparse.Namespace) -> int:
    with FakeTelegram() as fake, tempfile.TemporaryDirectory(prefix="storm-bench-") as tmp:
        folder = Path(tmp)
        (folder / "pipeline").mkdir()
        log = folder / "pipeline" / "pipeline.log"
        log.touch()
        env = {
            "TELEGRAM_TOKEN": fake.token,
            "ADMIN_ID": str(ADMIN),
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "ADMINBOT_WATCH": str(folder / "pipeline" / "*.log"),
            "ADMINBOT_DATA_DIR": str(folder / "data"),
        }
        line = LINE
        if args.fixable:
            media = folder / "media"
            media.mkdir()
            (folder / "adminbot.toml").write_text(
                f"[actions]\nallowed_folders = [{str(media)!r}]\n", encoding="utf-8"
            )
            line = FIXABLE.replace("{root}", str(media))
        config = load_config(env, cwd=folder)
        async with running_bot(config, periods=Periods()) as (_, runtime):
            await fake.await_call("sendMessage", timeout=10)
            await asyncio.sleep(0.5)
            mark = fake.mark()
            started = time.monotonic()
            written = await asyncio.to_thread(write_storm, log, args.count, args.seconds, line)
            critical = await fake.await_call(
                "sendMessage",
                lambda c: c.ok and "disco_lleno" in c.params["text"],
                timeout=args.timeout,
                since=mark,
            )
            await asyncio.sleep(args.settle)
            calls = fake.calls()[mark:]
            sends = [c for c in calls if c.method == "sendMessage" and c.ok]
            storm_sends = [c for c in sends if "disco_lleno" not in c.params["text"]]
            edits = [c for c in calls if c.method == "editMessageText" and c.ok]
            storms = [c for c in storm_sends if "Storm" in c.params["text"]]
            opened = sum(n for (_rule, _state), n in runtime.store.state_counts().items())
            print(f"{args.count} distinct incidents written in {written - started:.2f}s")
            print(
                f"incidents in the store: {opened}; outbox depth now {runtime.store.outbox_depth()}"
            )
            latency = critical.time - written
            verdict = "MET" if latency <= TARGET_SECONDS else "NOT met"
            print(
                f"critical disco_lleno reached the Bot API {latency:.2f}s after its write "
                f"({verdict}, target {TARGET_SECONDS:g}s)"
            )
            verdict = "MET" if len(storm_sends) <= TARGET_MESSAGES else "NOT met"
            print(
                f"the storm cost {len(storm_sends)} messages ({len(storms)} storm message(s), "
                f"{len(storm_sends) - len(storms)} single alerts) and {len(edits)} edits "
                f"in {time.monotonic() - started:.1f}s ({verdict}, target <= {TARGET_MESSAGES})"
            )
            if storms:
                last = fake.messages(ADMIN)
                shown = next(
                    m.text
                    for m in last
                    if m.message_id == storms[0].response["result"]["message_id"]
                )
                print("storm message as the admin sees it now:")
                print("  " + shown.replace("\n", "\n  "))
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="distinct incidents")
    parser.add_argument("--seconds", type=float, default=10.0, help="spread over this long")
    parser.add_argument("--timeout", type=float, default=120.0, help="wait for the critical")
    parser.add_argument("--settle", type=float, default=3.0, help="watch this long afterwards")
    parser.add_argument(
        "--fixable", action="store_true", help="missing folders the bot may create (auto policy)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
