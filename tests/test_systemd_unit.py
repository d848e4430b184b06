"""The example unit in deploy/: systemd accepts it, and it says what adminbot relies on."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "deploy" / "adminbot.service"

# With User= set, each of these implies NoNewPrivileges=yes (systemd.exec(5)),
# which breaks the chown remedy's `sudo -n chown`.
IMPLY_NO_NEW_PRIVILEGES = (
    "NoNewPrivileges",
    "DynamicUser",
    "LockPersonality",
    "MemoryDenyWriteExecute",
    "PrivateDevices",
    "ProtectClock",
    "ProtectHostname",
    "ProtectKernelLogs",
    "ProtectKernelModules",
    "ProtectKernelTunables",
    "RestrictAddressFamilies",
    "RestrictNamespaces",
    "RestrictRealtime",
    "RestrictSUIDSGID",
    "SystemCallArchitectures",
    "SystemCallFilter",
    "SystemCallLog",
)


class _CaseSensitive(configparser.ConfigParser):
    def optionxform(self, optionstr: str) -> str:
        return optionstr  # systemd keys are case-sensitive; keep them as written


def _unit() -> configparser.ConfigParser:
    parser = _CaseSensitive(strict=False, interpolation=None)
    parser.read_string(UNIT.read_text())
    return parser


def _all_values(key: str) -> list[str]:
    """Every value of a key systemd lets repeat (Environment=), which configparser folds."""
    lines = (line.strip() for line in UNIT.read_text().splitlines())
    return [line.partition("=")[2] for line in lines if line.startswith(f"{key}=")]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not here")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    # verify insists that ExecStart exists; /opt/adminbot is not installed here.
    copy = tmp_path / "adminbot.service"
    text = UNIT.read_text().replace(
        "ExecStart=/opt/adminbot/.venv/bin/adminbot run", "ExecStart=/bin/true run", 1
    )
    assert text != UNIT.read_text()
    copy.write_text(text)

    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=15,
        check=False,
    )

    output = result.stdout + result.stderr
    # verify exits 0 on unknown keys and bad values, so read what it said about our file.
    about_ours = [line for line in output.splitlines() if copy.name in line]
    if result.returncode != 0 and not about_ours:
        pytest.skip(f"systemd-analyze cannot verify in this environment: {output.strip()}")
    assert about_ours == []
    assert result.returncode == 0, output


def test_unit_is_a_notify_service_with_a_watchdog() -> None:
    service = _unit()["Service"]

    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"
    assert int(service["WatchdogSec"]) >= 10


def test_unit_restarts_on_failure_and_leaves_time_to_stop() -> None:
    service = _unit()["Service"]

    assert service["Restart"] == "on-failure"
    assert int(service["RestartSec"]) > 0
    assert service["KillMode"] == "mixed"
    # More than the supervisor's default stop_timeout (10 s) plus the summary.
    assert int(service["TimeoutStopSec"]) > 10


def test_unit_leaves_room_for_thousands_of_open_logs() -> None:
    assert int(_unit()["Service"]["LimitNOFILE"]) >= 65536


def test_unit_runs_adminbot_from_absolute_paths_as_its_own_user() -> None:
    service = _unit()["Service"]

    executable, *args = service["ExecStart"].split()
    assert Path(executable).is_absolute()
    assert args == ["run"]
    assert Path(service["WorkingDirectory"]).is_absolute()
    assert Path(service["EnvironmentFile"].lstrip("-")).is_absolute()
    assert "ADMINBOT_DATA_DIR=/var/lib/adminbot" in _all_values("Environment")
    assert service["StateDirectory"] == "adminbot"
    assert service["User"] not in ("", "root")


def test_unit_shows_how_to_supervise_the_pipeline() -> None:
    assert "adminbot run -- " in UNIT.read_text()


def test_hardening_does_not_imply_no_new_privileges() -> None:
    service = _unit()["Service"]

    enabled = [key for key in IMPLY_NO_NEW_PRIVILEGES if key in service]
    assert enabled == []
    assert service["ProtectSystem"] in ("yes", "full")  # never strict: /var, /opt are written


def test_unit_is_enabled_in_multi_user_target() -> None:
    assert _unit()["Install"]["WantedBy"] == "multi-user.target"
