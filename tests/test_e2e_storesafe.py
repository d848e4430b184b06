"""The whole bot on an unlucky day for its store: the admin is told, no line is lost."""

from __future__ import annotations

import os
from pathlib import Path

from tests.fake_telegram import FakeTelegram
from tests.harness import (
    append,
    delivered_alerts,
    eventually,
    make_config,
    pipeline_log,
    running_bot,
)


def denied(n: int) -> str:
    return (
        f"2026-11-29 10:00:0{n % 10},000 ERROR descargas: PermissionError: [Errno 13] "
        f"Permission denied: '/srv/descargas/v{n}.mp4'"
    )


async def test_a_store_emptied_while_stopped_is_told_and_the_lines_written_meanwhile_alerted(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_app, runtime):
        append(log, denied(1))
        await eventually(lambda: runtime.store.count_incidents() == 1)
    os.truncate(config.store_path, 0)
    append(log, *(denied(n) for n in range(10, 15)))

    async with running_bot(config) as (_app, runtime):
        await eventually(lambda: runtime.store.count_incidents() == 5)
        told = await fake_telegram.await_call(
            "sendMessage", lambda c: c.ok and "store was found empty" in c.params["text"]
        )
        await eventually(lambda: len(delivered_alerts(fake_telegram, "ERROR · permisos")) == 6)

    assert "damaged-" in told.params["text"]
    assert "resumed from the positions of 1 file(s)" in told.params["text"]
