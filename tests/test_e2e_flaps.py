"""End to end, against the fake Bot API: an outage that flaps down and up is one alert,
edited as it goes, not a message per round."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path

from adminbot.checks.base import CheckResult, CheckState
from adminbot.clock import utcnow
from adminbot.service.runtime import Runtime
from tests.fake_telegram import FakeTelegram
from tests.harness import ADMIN, FAST, eventually, make_config, running_bot

TITLE = "CRITICAL · servidor_caido</b>"


def _opened(runtime: Runtime, count: int) -> bool:
    return len(runtime.store.incidents()) == count


class FlappingServer:
    """A probe of the Bot API server whose answer the test sets."""

    name = "bot api"
    raises = "servidor_caido"

    def __init__(self) -> None:
        self.state = CheckState.OK

    async def run(self) -> CheckResult:
        return CheckResult.note(self.name, self.state, f"server is {self.state}", utcnow())


async def test_an_outage_that_flaps_three_times_is_one_alert_edited_as_it_goes(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    server = FlappingServer()
    config = make_config(tmp_path, fake_telegram)
    async with running_bot(config, checks=[server], periods=replace(FAST, check=0.05)) as (
        _,
        runtime,
    ):
        for round_ in range(1, 4):
            server.state = CheckState.CRITICAL
            await eventually(partial(_opened, runtime, round_))
            server.state = CheckState.OK
            await eventually(lambda: all(not i.is_open for i in runtime.store.incidents()))
        await eventually(
            lambda: any("Failed 3×" in m.text for m in fake_telegram.messages(ADMIN)), timeout=10
        )
    alerts = [c for c in fake_telegram.calls("sendMessage") if TITLE in c.params["text"]]
    assert len(alerts) == 1
    recovered = [c for c in fake_telegram.calls("sendMessage") if "recovered" in c.params["text"]]
    assert len(recovered) <= 1  # the first recovery may be told; the flaps are the alert's
    (shown,) = [m.text for m in fake_telegram.messages(ADMIN) if m.text.startswith("🔴 CRITICAL")]
    assert "fine again since" in shown and "needs attention now" not in shown
