"""Corrective actions with hostile input: nothing outside the allowed folders is touched.

Fakes only at the outer edges, each said where used: a recording command runner (the
process boundary; one test uses the real SubprocessRunner instead), an injected
sleep/monotonic pair (so backoff is checked without waiting), and the fake Docker
Engine of tests/fake_docker.py (no Docker engine runs here). The file system is real,
and chown is done for real when the tests run as root.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adminbot.actions.docker import DockerClient
from adminbot.actions.executor import (
    ActionBudget,
    ActionKind,
    ActionOutcome,
    Actions,
    ActionSettings,
    prune_quarantine,
    quarantined,
)
from adminbot.actions.paths import shown_path
from adminbot.actions.runner import CommandResult, SubprocessRunner
from adminbot.errors import ConfigError
from tests.fake_docker import FakeDockerEngine

PY = sys.executable
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
STRANGER = 12345  # the uid/gid the files start with in the chown tests
IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="chown to another uid needs root")


class World:
    """The allowed folder, a folder outside it with a file to protect, and the data dir."""

    def __init__(self, tmp_path: Path) -> None:
        self.base = tmp_path
        self.root = tmp_path / "descargas"
        self.outside = tmp_path / "outside"
        self.data = tmp_path / "data"
        self.quarantine = self.data / "quarantine"
        self.marker = tmp_path / "pwned"
        for folder in (self.root, self.outside, self.data):
            folder.mkdir()
        self.secret = self.outside / "secret.txt"
        self.secret.write_text("keep me")
        if IS_ROOT:
            os.chown(self.secret, STRANGER, STRANGER)
            os.chown(self.outside, STRANGER, STRANGER)
        # Links planted inside the allowed folder that lead out of it.
        (self.root / "link-out.mp4").symlink_to(self.secret)
        (self.root / "dir-out").symlink_to(self.outside)

    def snapshot_outside(self) -> dict[str, tuple[Any, ...]]:
        """Everything outside the allowed folder and the data dir, by lstat and content."""
        seen: dict[str, tuple[Any, ...]] = {}
        for dirpath, dirnames, filenames in os.walk(self.base):
            here = Path(dirpath)
            if here == self.base:
                dirnames[:] = [d for d in dirnames if d not in ("descargas", "data")]
            for name in [*dirnames, *filenames]:
                path = here / name
                info = path.lstat()
                digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
                key = str(path.relative_to(self.base))
                seen[key] = (info.st_mode, info.st_uid, info.st_gid, info.st_size, digest)
        return seen

    def hostile(self, template: str) -> str:
        """Fill a REFUSED_PATHS template for this world."""
        return template.format(root=self.root, secret=self.secret)


# Paths every path-taking action must refuse; {root} is the allowed folder, in which
# World plants link-out.mp4 (a symlink to the outside file) and dir-out (to its folder).
REFUSED_PATHS = [
    pytest.param("{root}/../outside/secret.txt", id="dot-dot"),
    pytest.param("{root}/link-out.mp4", id="final-symlink-out"),
    pytest.param("{root}/dir-out/secret.txt", id="middle-symlink-out"),
    pytest.param("{root}/dir-out", id="dir-symlink-out"),
    pytest.param("/etc/passwd", id="absolute-outside"),
    pytest.param("{secret}", id="the-outside-file"),
    pytest.param("descargas/relative.mp4", id="relative"),
    pytest.param("{root}/a\nb.mp4", id="newline"),
    pytest.param("{root}/a\x00b.mp4", id="nul"),
    pytest.param("{root}/a\x1b[2J.mp4", id="escape-sequence"),
    pytest.param("{root}/" + "x" * 5000, id="too-long"),
    pytest.param("{root}/caf\udcc3\udca9.mp4", id="not-utf8"),
    pytest.param("", id="empty"),
]


class RecordingRunner:
    """Fake at the process boundary: records every argv and answers from a script.

    It also checks that nothing shell-like is ever asked for: argv is a tuple of str
    and the program is never a shell.
    """

    def __init__(
        self, *results: int | CommandResult, on_run: Callable[[tuple[str, ...]], None] | None = None
    ) -> None:
        self.results = list(results) or [0]
        self.on_run = on_run
        self.calls: list[tuple[str, ...]] = []
        self.timeouts: list[float] = []

    async def run(self, argv: Any, timeout: float) -> CommandResult:  # noqa: ASYNC109 - the API
        args = tuple(argv)
        assert all(isinstance(arg, str) for arg in args)
        assert Path(args[0]).name not in {"sh", "bash", "dash", "zsh", "ksh"}
        self.calls.append(args)
        self.timeouts.append(timeout)
        if self.on_run:
            self.on_run(args)
        item = self.results.pop(0) if len(self.results) > 1 else self.results[0]
        if isinstance(item, int):
            return CommandResult(argv=args, exit_code=item, output_tail="", duration=0.01)
        return item


class FakeTime:
    """Injected sleep and monotonic: sleeping records the delay and moves the clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def make_actions(
    world: World,
    *,
    runner: Any = None,
    docker: DockerClient | None = None,
    fake_time: FakeTime | None = None,
    probe: Any = None,
    is_root: bool = True,
    chown_fn: Any = os.chown,
    **overrides: Any,
) -> Actions:
    settings: dict[str, Any] = {
        "allowed_roots": (world.root,),
        "quarantine_dir": world.quarantine,
        "retry_argv": ("python", "main.py", "--retry", "{file_id}"),
    }
    settings.update(overrides)
    clock = fake_time or FakeTime()
    return Actions(
        ActionSettings(**settings),
        runner=runner or RecordingRunner(),
        docker=docker,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        bot_api_probe=probe,
        chown_fn=chown_fn,
        is_root=lambda: is_root,
        clock=lambda: NOW,
    )


def failed(code: int = 1, output: str = "") -> CommandResult:
    return CommandResult(argv=("x",), exit_code=code, output_tail=output, duration=0.01)


def assert_refused(outcome: ActionOutcome) -> None:
    assert outcome.refused is True
    assert outcome.ok is False
    assert outcome.attempts == 0
    assert "\n" not in outcome.summary
    assert len(outcome.summary) <= 201


# Retry


async def test_retry_fills_the_template_from_validated_fields(world: World) -> None:
    runner = RecordingRunner(0)
    actions = make_actions(world, runner=runner, command_timeout=30)

    outcome = await actions.run(ActionKind.RETRY, {"file_id": "BQACAgIAAxk", "errno": "x y"})

    assert outcome.ok is True
    assert outcome.attempts == 1
    assert runner.calls == [("python", "main.py", "--retry", "BQACAgIAAxk")]
    assert runner.timeouts == [30]
    assert outcome.operation == "run python main.py --retry BQACAgIAAxk"
    assert outcome.summary == "retry succeeded (attempt 1 of 3)"


async def test_retry_backs_off_1_then_2_and_gives_up_after_max_retries(world: World) -> None:
    runner = RecordingRunner(failed(1, "ConnectionError: reset\n"))
    clock = FakeTime()
    actions = make_actions(world, runner=runner, fake_time=clock, backoff_delays=(1, 2, 4))

    outcome = await actions.run(ActionKind.RETRY, {"file_id": "ABC"})

    assert clock.sleeps == [1, 2]
    assert len(runner.calls) == 3
    assert outcome.ok is False
    assert outcome.attempts == 3
    assert outcome.exit_code == 1
    assert outcome.summary == "retry failed after 3 attempt(s): exit 1: ConnectionError: reset"
    assert outcome.duration == 3


async def test_retry_backoff_repeats_the_last_delay_when_attempts_outnumber_it(
    world: World,
) -> None:
    clock = FakeTime()
    actions = make_actions(world, runner=RecordingRunner(1), fake_time=clock, max_retries=5)

    outcome = await actions.run(ActionKind.RETRY, {"file_id": "ABC"})

    assert clock.sleeps == [1, 2, 4, 4]
    assert outcome.attempts == 5


async def test_retry_stops_once_an_attempt_succeeds(world: World) -> None:
    clock = FakeTime()
    runner = RecordingRunner(failed(), 0)
    actions = make_actions(world, runner=runner, fake_time=clock)

    outcome = await actions.run(ActionKind.RETRY, {"file_id": "ABC"})

    assert outcome.ok is True
    assert outcome.attempts == 2
    assert clock.sleeps == [1]
    assert outcome.summary == "retry succeeded (attempt 2 of 3)"


async def test_a_retry_command_that_cannot_start_is_not_repeated(world: World) -> None:
    clock = FakeTime()
    cannot = CommandResult(("python",), None, "", 0.0, error="could not start python: nope")
    actions = make_actions(world, runner=RecordingRunner(cannot), fake_time=clock)

    outcome = await actions.run(ActionKind.RETRY, {"file_id": "ABC"})

    assert outcome.attempts == 1
    assert clock.sleeps == []
    assert "could not start" in outcome.summary


async def test_retry_with_an_expected_file_fails_until_the_file_exists(world: World) -> None:
    target = world.root / "ABC.mp4"
    attempts: list[int] = []

    def download_on_second_attempt(argv: tuple[str, ...]) -> None:
        attempts.append(1)
        if len(attempts) == 2:
            target.write_bytes(b"video")

    runner = RecordingRunner(0, on_run=download_on_second_attempt)
    actions = make_actions(world, runner=runner, retry_expect_path=f"{world.root}/{{file_id}}.mp4")

    outcome = await actions.run(ActionKind.RETRY, {"file_id": "ABC"})

    assert outcome.ok is True
    assert outcome.attempts == 2
    assert outcome.operation.endswith(f"and expect {target}")


async def test_an_expected_file_outside_the_allowed_folders_is_refused(world: World) -> None:
    runner = RecordingRunner()
    actions = make_actions(world, runner=runner, retry_expect_path="/etc/{file_id}")

    outcome = await actions.run(ActionKind.RETRY, {"file_id": "passwd"})

    assert_refused(outcome)
    assert runner.calls == []


HOSTILE_IDS = [
    "a;rm -rf ~",
    "$(touch /tmp/pwned)",
    "`id`",
    "a\nb",
    "a\x00b",
    "x" * 5000,
    "caf\udcc3\udca9",
    "../../etc/passwd",
    "-rf",
    "a b",
    "{path}",
]


@pytest.mark.parametrize("file_id", HOSTILE_IDS)
async def test_retry_refuses_hostile_fields_and_runs_nothing(world: World, file_id: str) -> None:
    runner = RecordingRunner()
    actions = make_actions(world, runner=runner)
    before = world.snapshot_outside()

    outcome = await actions.run(ActionKind.RETRY, {"file_id": file_id})

    assert_refused(outcome)
    assert runner.calls == []
    assert actions.available(ActionKind.RETRY, {"file_id": file_id}) is False
    assert world.snapshot_outside() == before


@pytest.mark.parametrize("template", REFUSED_PATHS)
async def test_retry_refuses_path_fields_outside_the_allowed_folders(
    world: World, template: str
) -> None:
    runner = RecordingRunner()
    actions = make_actions(world, runner=runner, retry_argv=("python", "main.py", "{path}"))

    outcome = await actions.run(ActionKind.RETRY, {"path": world.hostile(template)})

    assert_refused(outcome)
    assert runner.calls == []


async def test_retry_refuses_a_placeholder_the_log_line_does_not_give(world: World) -> None:
    actions = make_actions(world, retry_argv=("python", "main.py", "--chat", "{chat_id}"))

    outcome = await actions.run(ActionKind.RETRY, {"file_id": "ABC"})

    assert_refused(outcome)
    assert outcome.summary == "the log line does not give chat_id"


@pytest.mark.parametrize(
    "argv",
    [("{file_id}", "x"), ("python", "{file_id.__class__}"), ("python", "{0}"), ()],
)
def test_bad_retry_templates_are_configuration_errors(world: World, argv: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError):
        make_actions(world, retry_argv=argv)


async def test_without_a_retry_command_retry_is_not_offered(world: World) -> None:
    actions = make_actions(world, retry_argv=None)

    assert actions.available(ActionKind.RETRY, {"file_id": "ABC"}) is False
    assert actions.available(ActionKind.CLEAN_RETRY, {"file_id": "ABC"}) is False


async def test_real_runner_passes_a_file_id_as_one_argument(world: World) -> None:
    # The real SubprocessRunner here, no fake: /bin/echo shows exactly what arrived.
    actions = make_actions(world, runner=SubprocessRunner(), retry_argv=("/bin/echo", "{file_id}"))

    outcome = await actions.run(ActionKind.RETRY, {"file_id": "BQAC-_9"})

    assert outcome.ok is True
    assert outcome.output_tail == "BQAC-_9\n"


@pytest.mark.parametrize("file_id", ["$(touch {m})", "`touch {m}`", "x; touch {m}", "x|touch {m}"])
async def test_real_runner_never_sees_shell_metacharacters_in_a_file_id(
    world: World, file_id: str
) -> None:
    actions = make_actions(world, runner=SubprocessRunner(), retry_argv=("/bin/echo", "{file_id}"))

    outcome = await actions.run(ActionKind.RETRY, {"file_id": file_id.format(m=world.marker)})

    assert_refused(outcome)
    assert not world.marker.exists()


async def test_a_file_name_with_metacharacters_inside_the_folder_stays_one_literal_argument(
    world: World,
) -> None:
    # Real runner. Such a name is legal inside the allowed folder, so it is not refused:
    # it is passed as a single argv element and never interpreted.
    name = f"a;$(touch {world.marker.name})`id`|b.mp4"
    (world.root / name).write_bytes(b"x")
    script = "import sys; print(sys.argv[1:])"
    actions = make_actions(
        world, runner=SubprocessRunner(), retry_argv=(PY, "-c", script, "{path}")
    )

    outcome = await actions.run(ActionKind.RETRY, {"path": str(world.root / name)})

    assert outcome.ok is True
    assert outcome.output_tail.strip() == str([str(world.root / name)])
    assert not world.marker.exists()


# Chown


@needs_root
async def test_chown_changes_the_owner_for_real_as_root(world: World) -> None:
    video = world.root / "a.mp4"
    video.write_bytes(b"x")
    os.chown(video, STRANGER, STRANGER)
    actions = make_actions(world, owner="4242", group="4343")

    outcome = await actions.run(ActionKind.CHOWN, {"path": str(video)})

    assert outcome.ok is True
    assert (video.stat().st_uid, video.stat().st_gid) == (4242, 4343)
    assert outcome.operation == f"chown 4242:4343 {video}"


@needs_root
async def test_chown_resolves_owner_names_and_changes_only_what_is_configured(
    world: World,
) -> None:
    video = world.root / "a.mp4"
    video.write_bytes(b"x")
    os.chown(video, STRANGER, STRANGER)
    actions = make_actions(world, owner="root")

    outcome = await actions.run(ActionKind.CHOWN, {"path": str(video)})

    assert outcome.ok is True
    assert (video.stat().st_uid, video.stat().st_gid) == (0, STRANGER)
    assert outcome.operation == f"chown 0 {video}"


@needs_root
async def test_chown_refuses_a_final_symlink_even_one_that_stays_inside(world: World) -> None:
    video = world.root / "a.mp4"
    video.write_bytes(b"x")
    os.chown(video, STRANGER, STRANGER)
    (world.root / "alias.mp4").symlink_to(video)
    actions = make_actions(world, owner="0", group="0")

    outcome = await actions.run(ActionKind.CHOWN, {"path": str(world.root / "alias.mp4")})

    assert_refused(outcome)
    assert "symbolic link" in outcome.summary
    assert video.stat().st_uid == STRANGER


@pytest.mark.parametrize("template", REFUSED_PATHS)
async def test_chown_refuses_hostile_paths_and_touches_nothing_outside(
    world: World, template: str
) -> None:
    calls: list[tuple[Any, ...]] = []

    def recording_chown(*args: Any, **kwargs: Any) -> None:
        calls.append(args)
        os.chown(*args, **kwargs)

    runner = RecordingRunner()
    actions = make_actions(world, owner="0", group="0", chown_fn=recording_chown, runner=runner)
    before = world.snapshot_outside()

    outcome = await actions.run(ActionKind.CHOWN, {"path": world.hostile(template)})

    assert_refused(outcome)
    assert calls == []
    assert runner.calls == []
    assert world.snapshot_outside() == before


@needs_root
async def test_chown_of_a_name_with_metacharacters_inside_the_folder_works(world: World) -> None:
    video = world.root / f"$(touch {world.marker.name}); `id`.mp4"
    video.write_bytes(b"x")
    os.chown(video, STRANGER, STRANGER)
    actions = make_actions(world, owner="0", group="0")

    outcome = await actions.run(ActionKind.CHOWN, {"path": str(video)})

    assert outcome.ok is True
    assert video.stat().st_uid == 0
    assert not world.marker.exists()


async def test_chown_without_root_runs_sudo_n_without_dereferencing(world: World) -> None:
    video = world.root / "a b;c.mp4"
    video.write_bytes(b"x")
    runner = RecordingRunner(0)
    actions = make_actions(world, runner=runner, is_root=False, owner="4242", group="4343")

    outcome = await actions.run(ActionKind.CHOWN, {"path": str(video)})

    assert outcome.ok is True
    assert runner.calls == [
        ("sudo", "-n", "chown", "--no-dereference", "4242:4343", "--", str(video))
    ]


async def test_chown_via_sudo_that_wants_a_password_says_how_to_fix_it(world: World) -> None:
    (world.root / "a.mp4").write_bytes(b"x")
    runner = RecordingRunner(failed(1, "sudo: a password is required\n"))
    actions = make_actions(world, runner=runner, is_root=False, owner="4242")

    outcome = await actions.run(ActionKind.CHOWN, {"path": str(world.root / "a.mp4")})

    assert outcome.ok is False
    assert outcome.refused is False
    assert outcome.summary == "sudo needs a password: allow adminbot to run chown without one"
    assert outcome.output_tail == "sudo: a password is required\n"


async def test_chown_is_not_offered_without_an_owner_or_for_a_missing_file(world: World) -> None:
    (world.root / "a.mp4").write_bytes(b"x")
    video = {"path": str(world.root / "a.mp4")}

    assert make_actions(world).available(ActionKind.CHOWN, video) is False
    with_owner = make_actions(world, owner="0")
    assert with_owner.available(ActionKind.CHOWN, video) is True
    assert with_owner.available(ActionKind.CHOWN, {"path": str(world.root / "gone.mp4")}) is False
    assert with_owner.available(ActionKind.CHOWN, {}) is False


async def test_chown_with_an_unknown_user_is_refused(world: World) -> None:
    (world.root / "a.mp4").write_bytes(b"x")
    actions = make_actions(world, owner="no-such-user-here")

    outcome = await actions.run(ActionKind.CHOWN, {"path": str(world.root / "a.mp4")})

    assert_refused(outcome)
    assert "unknown user" in outcome.summary


# Create folder


async def test_mkdir_creates_every_missing_folder_with_the_configured_mode(world: World) -> None:
    old = os.umask(0o077)
    try:
        actions = make_actions(world, folder_mode=0o775)
        outcome = await actions.run(ActionKind.MKDIR, {"path": f"{world.root}/Serie/T1"})
    finally:
        os.umask(old)

    assert outcome.ok is True
    assert outcome.summary == f"created 2 folder(s): {shown_path(world.root / 'Serie' / 'T1')}"
    for folder in (world.root / "Serie", world.root / "Serie" / "T1"):
        assert folder.is_dir()
        assert folder.stat().st_mode & 0o7777 == 0o775


@needs_root
async def test_mkdir_gives_each_created_folder_the_configured_owner(world: World) -> None:
    (world.root / "Serie").mkdir()
    os.chown(world.root / "Serie", STRANGER, STRANGER)
    actions = make_actions(world, owner="4242", group="4343")

    outcome = await actions.run(ActionKind.MKDIR, {"path": f"{world.root}/Serie/T1/E1"})

    assert outcome.ok is True
    assert outcome.operation == f"mkdir -p -m 775 {world.root}/Serie/T1/E1 and chown 4242:4343"
    assert (world.root / "Serie").stat().st_uid == STRANGER  # existed: left alone
    for folder in (world.root / "Serie" / "T1", world.root / "Serie" / "T1" / "E1"):
        assert (folder.stat().st_uid, folder.stat().st_gid) == (4242, 4343)


async def test_mkdir_without_root_changes_owner_of_each_created_folder_through_sudo(
    world: World,
) -> None:
    runner = RecordingRunner(0)
    actions = make_actions(world, runner=runner, is_root=False, owner="4242", group="4343")

    outcome = await actions.run(ActionKind.MKDIR, {"path": f"{world.root}/A/B"})

    assert outcome.ok is True
    assert [call[-1] for call in runner.calls] == [f"{world.root}/A", f"{world.root}/A/B"]


async def test_mkdir_for_a_missing_file_creates_the_folder_it_goes_in(world: World) -> None:
    actions = make_actions(world)

    outcome = await actions.run(ActionKind.MKDIR, {"path": f"{world.root}/Nueva/video.mp4"})

    assert outcome.ok is True
    assert (world.root / "Nueva").is_dir()
    assert not (world.root / "Nueva" / "video.mp4").exists()


async def test_mkdir_of_an_existing_folder_succeeds_without_changes(world: World) -> None:
    (world.root / "ya").mkdir()

    outcome = await make_actions(world).run(ActionKind.MKDIR, {"path": f"{world.root}/ya"})

    assert outcome.ok is True
    assert outcome.summary == "the folder already exists"


async def test_mkdir_refuses_when_a_file_is_in_the_way(world: World) -> None:
    (world.root / "file").write_text("x")

    outcome = await make_actions(world).run(ActionKind.MKDIR, {"path": f"{world.root}/file/sub"})

    assert_refused(outcome)
    assert "not a folder" in outcome.summary


@pytest.mark.parametrize("template", REFUSED_PATHS)
async def test_mkdir_refuses_hostile_paths_and_creates_nothing_outside(
    world: World, template: str
) -> None:
    actions = make_actions(world, owner="0", group="0")
    hostile = world.hostile(template)
    before = world.snapshot_outside()
    inside_before = sorted(p.name for p in world.root.iterdir())

    outcome = await actions.run(ActionKind.MKDIR, {"path": hostile + "/new"})

    assert_refused(outcome)
    assert world.snapshot_outside() == before
    assert sorted(p.name for p in world.root.iterdir()) == inside_before


@pytest.mark.parametrize(
    "kind", [ActionKind.MKDIR, ActionKind.CHOWN, ActionKind.QUARANTINE, ActionKind.CLEAN_RETRY]
)
@pytest.mark.parametrize("template", [*REFUSED_PATHS, pytest.param("{root}/ok.mp4", id="fine")])
async def test_without_allowed_folders_a_path_fix_is_refused_for_that_alone(
    world: World, kind: ActionKind, template: str
) -> None:
    """The reason is the configuration, whatever the log's path holds: the path is not
    even read (a storm plans every new incident of an `auto` rule once)."""
    (world.root / "ok.mp4").write_bytes(b"x")
    actions = make_actions(world, allowed_roots=(), owner="0", group="0")
    before = world.snapshot_outside()

    outcome = await actions.run(kind, {"path": world.hostile(template), "file_id": "ABC"})

    assert_refused(outcome)
    assert "no allowed folders are configured" in outcome.summary
    assert actions.why_not(kind, {"path": world.hostile(template), "file_id": "ABC"}) == (
        "no allowed folders are configured"
    )
    assert world.snapshot_outside() == before
    assert (world.root / "ok.mp4").read_bytes() == b"x"


# Clean & retry


async def test_clean_retry_moves_the_file_into_quarantine_then_retries(world: World) -> None:
    video = world.root / "peli.mp4"
    video.write_bytes(b"corrupt bytes")
    seen_at_retry: list[bool] = []
    runner = RecordingRunner(0, on_run=lambda argv: seen_at_retry.append(video.exists()))
    actions = make_actions(world, runner=runner)

    outcome = await actions.run(ActionKind.CLEAN_RETRY, {"path": str(video), "file_id": "ABC"})

    assert outcome.ok is True
    assert not video.exists()
    kept = world.quarantine / "20240501T120000Z-peli.mp4"
    assert kept.read_bytes() == b"corrupt bytes"
    assert seen_at_retry == [False]
    assert outcome.summary.startswith(f"moved to quarantine: {kept}; retry succeeded")
    assert outcome.operation == (
        f"move {video} into {world.quarantine}, then run python main.py --retry ABC"
    )


async def test_files_with_the_same_name_get_unique_quarantine_names(world: World) -> None:
    actions = make_actions(world)
    for content in (b"first", b"second", b"third"):
        (world.root / "a.mp4").write_bytes(content)
        outcome = await actions.run(
            ActionKind.CLEAN_RETRY, {"path": str(world.root / "a.mp4"), "file_id": "A"}
        )
        assert outcome.ok is True

    kept = {p.name: p.read_bytes() for p in world.quarantine.iterdir()}
    assert kept == {
        "20240501T120000Z-a.mp4": b"first",
        "20240501T120000Z-a-1.mp4": b"second",
        "20240501T120000Z-a-2.mp4": b"third",
    }


async def test_quarantine_names_are_sanitised(world: World) -> None:
    name = "$(rm -rf ~); `id` ñ.mp4"
    (world.root / name).write_bytes(b"x")

    outcome = await make_actions(world).run(
        ActionKind.CLEAN_RETRY, {"path": str(world.root / name), "file_id": "A"}
    )

    assert outcome.ok is True
    assert [p.name for p in world.quarantine.iterdir()] == ["20240501T120000Z-rm_-rf_id_.mp4"]


@pytest.mark.parametrize("template", REFUSED_PATHS)
async def test_clean_retry_refuses_hostile_paths_and_moves_nothing(
    world: World, template: str
) -> None:
    runner = RecordingRunner()
    actions = make_actions(world, runner=runner)
    before = world.snapshot_outside()

    outcome = await actions.run(
        ActionKind.CLEAN_RETRY, {"path": world.hostile(template), "file_id": "A"}
    )

    assert_refused(outcome)
    assert runner.calls == []
    assert not world.quarantine.exists()
    assert world.snapshot_outside() == before


async def test_clean_retry_refuses_folders_and_links_that_stay_inside(world: World) -> None:
    (world.root / "folder").mkdir()
    (world.root / "a.mp4").write_bytes(b"x")
    (world.root / "alias.mp4").symlink_to(world.root / "a.mp4")
    actions = make_actions(world)

    for name in ("folder", "alias.mp4"):
        outcome = await actions.run(
            ActionKind.CLEAN_RETRY, {"path": str(world.root / name), "file_id": "A"}
        )
        assert_refused(outcome)
    assert (world.root / "a.mp4").exists()
    assert (world.root / "alias.mp4").is_symlink()


async def test_clean_retry_does_not_retry_with_a_hostile_file_id_nor_move_the_file(
    world: World,
) -> None:
    (world.root / "a.mp4").write_bytes(b"x")
    runner = RecordingRunner()

    outcome = await make_actions(world, runner=runner).run(
        ActionKind.CLEAN_RETRY, {"path": str(world.root / "a.mp4"), "file_id": "$(id)"}
    )

    assert_refused(outcome)
    assert (world.root / "a.mp4").exists()
    assert runner.calls == []


@pytest.fixture
def other_filesystem(world: World) -> Iterator[Path]:
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == world.root.stat().st_dev:
        pytest.skip("no second file system (/dev/shm) to move across")
    folder = shm / f"adminbot-test-{os.getpid()}-{id(world)}"
    folder.mkdir()
    yield folder
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


async def test_clean_retry_moves_across_file_systems(world: World, other_filesystem: Path) -> None:
    video = world.root / "a.mp4"
    video.write_bytes(b"y" * 100_000)
    actions = make_actions(world, quarantine_dir=other_filesystem)

    outcome = await actions.run(ActionKind.CLEAN_RETRY, {"path": str(video), "file_id": "A"})

    assert outcome.ok is True
    assert not video.exists()
    assert (other_filesystem / "20240501T120000Z-a.mp4").read_bytes() == b"y" * 100_000


def test_prune_removes_only_quarantined_files_older_than_the_limit(tmp_path: Path) -> None:
    old = tmp_path / "20240101T000000Z-old.mp4"
    young = tmp_path / "20240420T000000Z-young.mp4"
    for path in (old, young):
        path.write_bytes(b"x")
    now = datetime(2024, 5, 1, tzinfo=UTC).timestamp()

    removed = prune_quarantine(tmp_path, max_age_days=14, now=now)

    assert removed == [old]
    assert not old.exists()
    assert young.exists()


def test_prune_of_a_missing_quarantine_is_a_no_op(tmp_path: Path) -> None:
    assert prune_quarantine(tmp_path / "none", max_age_days=1, now=0) == []


def test_quarantined_lists_name_size_and_age(tmp_path: Path) -> None:
    (tmp_path / "20240430T120000Z-a.mp4").write_bytes(b"12345")
    now = datetime(2024, 5, 1, 12, tzinfo=UTC).timestamp()

    [item] = quarantined(tmp_path, now=now)

    assert item.name == "20240430T120000Z-a.mp4"
    assert item.size == 5
    assert item.age_seconds == 86400
    assert item.quarantined_at == datetime(2024, 4, 30, 12, tzinfo=UTC)


# Restart container (against tests/fake_docker.py: no Docker engine runs here)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeDockerEngine]:
    with FakeDockerEngine(tmp_path / "docker.sock", restart_delay=0.15) as fake:
        yield fake


def restart_actions(
    world: World, engine: FakeDockerEngine, probe: Any = None, **kw: Any
) -> Actions:
    """Real sleep and clock here: the fake engine flips state after real time passes."""
    settings = ActionSettings(
        allowed_roots=(world.root,),
        quarantine_dir=world.quarantine,
        container="bot-api",
        restart_verify_seconds=kw.pop("verify", 2.0),
        restart_poll_seconds=0.03,
        restart_wait_seconds=5,
    )
    docker = DockerClient(socket_path=str(engine.socket_path), timeout=2.0)
    return Actions(settings, runner=RecordingRunner(), docker=docker, bot_api_probe=probe, **kw)


async def test_restart_waits_until_the_container_runs_and_the_bot_api_answers(
    world: World, engine: FakeDockerEngine
) -> None:
    engine.add("bot-api")
    probes: list[bool] = []

    async def probe() -> bool:
        probes.append(True)
        return True

    outcome = await restart_actions(world, engine, probe).run(ActionKind.RESTART_CONTAINER, {})

    assert outcome.ok is True
    assert outcome.summary == "container bot-api restarted and the Bot API answers"
    assert outcome.operation == "restart container bot-api"
    assert ("POST", "/containers/bot-api/restart?t=5") in engine.requests
    inspections = [r for r in engine.requests if r == ("GET", "/containers/bot-api/json")]
    assert len(inspections) >= 2  # it saw "restarting" at least once before "running"
    assert probes == [True]


async def test_restart_reports_the_bot_api_when_it_never_answers(
    world: World, engine: FakeDockerEngine
) -> None:
    engine.add("bot-api")

    async def never() -> bool:
        return False

    outcome = await restart_actions(world, engine, never, verify=0.4).run(
        ActionKind.RESTART_CONTAINER, {}
    )

    assert outcome.ok is False
    assert outcome.summary == (
        "container bot-api is running, but the Bot API does not answer after 0.4 s"
    )


async def test_restart_reports_a_container_that_does_not_come_back(
    world: World, engine: FakeDockerEngine
) -> None:
    engine.add("bot-api", comes_back=False)

    outcome = await restart_actions(world, engine, verify=0.4).run(ActionKind.RESTART_CONTAINER, {})

    assert outcome.ok is False
    assert outcome.summary == "restarted, but container bot-api is exited after 0.4 s"


async def test_restart_of_a_missing_container_fails_clearly(
    world: World, engine: FakeDockerEngine
) -> None:
    outcome = await restart_actions(world, engine).run(ActionKind.RESTART_CONTAINER, {})

    assert outcome.ok is False
    assert outcome.refused is False
    assert outcome.summary == "restart failed: no such container: bot-api"


async def test_restart_with_the_engine_down_fails_clearly(world: World, tmp_path: Path) -> None:
    settings = ActionSettings(
        allowed_roots=(world.root,), quarantine_dir=world.quarantine, container="bot-api"
    )
    docker = DockerClient(socket_path=str(tmp_path / "absent.sock"), timeout=1.0)
    actions = Actions(settings, runner=RecordingRunner(), docker=docker)

    outcome = await actions.run(ActionKind.RESTART_CONTAINER, {})

    assert outcome.ok is False
    assert outcome.summary.startswith("restart failed: Docker engine not reachable")


async def test_restart_uses_the_configured_container_never_one_from_the_log(
    world: World, engine: FakeDockerEngine
) -> None:
    engine.add("bot-api")
    engine.add("database")

    outcome = await restart_actions(world, engine).run(
        ActionKind.RESTART_CONTAINER, {"container": "database", "name": "database"}
    )

    assert outcome.ok is True
    assert [r for r in engine.requests if r[0] == "POST"] == [
        ("POST", "/containers/bot-api/restart?t=5")
    ]


async def test_restart_is_not_offered_without_a_container_or_docker(world: World) -> None:
    assert make_actions(world).available(ActionKind.RESTART_CONTAINER, {}) is False
    no_docker = make_actions(world, container="bot-api")
    assert no_docker.available(ActionKind.RESTART_CONTAINER, {}) is False


def test_an_invalid_container_name_is_a_configuration_error(world: World) -> None:
    with pytest.raises(ConfigError):
        make_actions(world, container="../etc")


# Budget and structure


def test_budget_allows_limit_uses_per_sliding_window() -> None:
    clock = FakeTime()
    budget = ActionBudget(limit=2, window_seconds=600, monotonic=clock.monotonic)

    assert [budget.allow(), budget.allow(), budget.allow()] == [True, True, False]
    assert budget.remaining() == 0
    clock.now += 601
    assert budget.remaining() == 2
    assert budget.allow() is True


def test_the_whole_file_system_cannot_be_an_allowed_folder(world: World) -> None:
    with pytest.raises(ConfigError):
        make_actions(world, allowed_roots=(Path("/"),))


def test_no_action_module_can_reach_a_shell() -> None:
    package = Path(__file__).resolve().parent.parent / "adminbot"
    for module in sorted(package.rglob("*.py")):
        source = module.read_text()
        for forbidden in ("shell=True", "create_subprocess_shell", "os.system", "os.popen"):
            assert forbidden not in source, f"{module.name} uses {forbidden}"


async def test_chown_via_sudo_without_a_sudoers_rule_says_so(world: World) -> None:
    (world.root / "a.mp4").write_bytes(b"x")
    denied = "Sorry, user adminbot is not allowed to execute '/usr/bin/chown' as root\n"
    actions = make_actions(
        world, runner=RecordingRunner(failed(1, denied)), is_root=False, owner="1"
    )

    outcome = await actions.run(ActionKind.CHOWN, {"path": str(world.root / "a.mp4")})

    assert outcome.summary == "sudo does not allow adminbot to run chown: add a sudoers rule for it"
