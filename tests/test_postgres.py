"""The shared PostgreSQL store: migrated once by agents starting together, fed from a
host's SQLite history, and the whole bot running on it."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from adminbot.cli import main
from adminbot.config import load_config
from adminbot.errors import ConfigError
from adminbot.incidents.book import IncidentBook
from adminbot.models import IncidentState, Match, Record, Severity, frozen_map
from adminbot.store import pgsql
from adminbot.store.channels import ChannelStore
from adminbot.store.dburl import redact_url
from adminbot.store.noise import NoiseStore
from adminbot.store.pgimport import COPIED, NOT_COPIED, import_sqlite
from adminbot.store.pgschema import MIGRATIONS, migrate
from adminbot.store.pgsql import translate
from adminbot.store.postgres import PgStore
from adminbot.store.rows import UsageSample, key_hash
from adminbot.store.sqlite import Store
from adminbot.store.sqlschema import MIGRATIONS as SQLITE_MIGRATIONS
from adminbot.store.trends import TrendStore
from adminbot.store.userrules import UserRule, UserRuleStore
from tests.clocks import FakeClock
from tests.fake_telegram import FakeTelegram
from tests.harness import ADMIN, append, make_config, pipeline_log, running_bot
from tests.pg import PgCluster

PERMISSION = (
    "2026-11-29 10:00:01,123 ERROR descargas: PermissionError: [Errno 13] "
    "Permission denied: '{path}'"
)


def match(key: str = "/srv/a.mp4") -> Match:
    record = Record(source="/log/bot.log", line_no=1, text=f"ERROR denied {key}")
    return Match("permisos", Severity.ERROR, record, frozen_map({"path": key}), key)


def test_both_backends_have_the_same_number_of_migrations() -> None:
    assert len(MIGRATIONS) == len(SQLITE_MIGRATIONS)


def test_sqlite_only_spellings_are_rewritten_for_postgresql() -> None:
    text, returns_id = translate("INSERT INTO outbox (kind) VALUES (?)")
    assert (text, returns_id) == ("INSERT INTO outbox (kind) VALUES (%s) RETURNING id", True)
    assert translate("SELECT id FROM outbox WHERE chat_id IS ?")[0].endswith(
        "chat_id IS NOT DISTINCT FROM %s"
    )
    assert translate("SET not_before = min(not_before, ?)")[0] == (
        "SET not_before = LEAST(not_before, %s)"
    )
    assert translate("SET offset = excluded.offset LIMIT ? OFFSET ?")[0] == (
        'SET "offset" = excluded."offset" LIMIT %s OFFSET %s'
    )
    assert translate("INSERT INTO meta VALUES (?, ?)") == (
        "INSERT INTO meta VALUES (%s, %s)",
        False,
    )


def test_agents_starting_together_migrate_once(postgres: PgCluster) -> None:
    url = postgres.fresh(migrated=False)
    applied: list[int] = []
    threads = [threading.Thread(target=lambda: applied.append(migrate(url))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(applied) == [0, 0, 0, len(MIGRATIONS)]
    with psycopg.connect(url) as conn:
        versions = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert [v for (v,) in versions] == list(range(1, len(MIGRATIONS) + 1))
    assert PgStore(url, host="h1").schema_version == len(MIGRATIONS)


def test_postgresql_hashes_old_keys_as_python_hashes_new_ones(postgres: PgCluster) -> None:
    """The migration's SQL `key_hash()` backfills the rows written before it; a repeat
    written after it finds them by the hash Python computes."""
    keys = ["/srv/a.mp4", "path=/srv/descargas/año/ñandú.mp4", 'it\'s "quoted"', "🎬", ""]
    url = postgres.fresh(migrated=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        for version, script in enumerate(MIGRATIONS[:-1], start=1):
            conn.execute(script.encode())
            conn.execute("INSERT INTO schema_version VALUES (%s, now()::text)", (version,))
        for key in keys:
            conn.execute(
                "INSERT INTO incidents (rule, severity, key, state, count, first_seen, "
                "last_seen, source, sample, fields, token, host) VALUES ('permisos', 'error', "
                "%s, 'open', 1, '2024-05-01T12:00:00+00:00', '2024-05-01T12:00:00+00:00', "
                "'/log/bot.log', 's', '{}', 't', 'one')",
                (key,),
            )
    assert migrate(url) == 1
    store = PgStore(url, host="one")
    with psycopg.connect(url) as conn:
        stored: dict[str, int] = dict(
            conn.execute("SELECT key, key_hash FROM incidents").fetchall()
        )
    events = IncidentBook(store, FakeClock()).record_batch([match(k) for k in keys])
    store.close()

    assert stored == {key: key_hash(key) for key in keys}
    assert [(e.kind, e.incident.count) for e in events] == [("repeated", 2)] * len(keys)


def test_hosts_sharing_the_store_keep_their_own_incidents(postgres: PgCluster) -> None:
    url = postgres.fresh()
    one, two = PgStore(url, host="one"), PgStore(url, host="two")
    first = IncidentBook(one, FakeClock()).record(match()).incident
    second = IncidentBook(two, FakeClock()).record(match()).incident
    again = IncidentBook(one, FakeClock()).record(match()).incident
    assert first.id != second.id
    assert (again.id, again.count, again.host) == (first.id, 2, "one")
    assert {i.host for i in two.incidents()} == {"one", "two"}
    one.close()
    two.close()


def test_each_host_counts_its_own_incidents_for_its_metrics(postgres: PgCluster) -> None:
    """Prometheus scrapes every host: each gauges its own incidents, their sum the fleet's."""
    url = postgres.fresh()
    one, two = PgStore(url, host="one"), PgStore(url, host="two")
    IncidentBook(one, FakeClock()).record_batch([match("/srv/a.mp4"), match("/srv/b.mp4")])
    IncidentBook(two, FakeClock()).record(match("/srv/c.mp4"))
    assert one.state_counts() == {("permisos", "open"): 2}
    assert two.state_counts() == {("permisos", "open"): 1}
    one.close()
    two.close()


def test_a_storm_batch_on_postgresql_opens_and_bumps_the_right_incidents(
    postgres: PgCluster,
) -> None:
    store = PgStore(postgres.fresh(), host="one")
    book = IncidentBook(store, FakeClock())
    book.record_batch([match(f"/srv/{n}.mp4") for n in range(0, 600, 3)])
    events = book.record_batch([match(f"/srv/{n % 600}.mp4") for n in range(1200)])
    by_key = {e.incident.key: e.incident for e in events}
    assert len(by_key) == 600
    assert {key: i.count for key, i in by_key.items()} == {
        f"/srv/{n}.mp4": 3 if n % 3 == 0 else 2 for n in range(600)
    }
    stored = {i.key: i for i in store.incidents(limit=1000)}
    assert {key: (i.id, i.count) for key, i in stored.items()} == {
        key: (i.id, i.count) for key, i in by_key.items()
    }
    assert [e.kind for e in events[:3]] == ["repeated", "opened", "opened"]
    store.close()


def test_import_sqlite_copies_a_hosts_history_next_to_what_is_there(
    postgres: PgCluster, tmp_path: Path
) -> None:
    url = postgres.fresh()
    other = PgStore(url, host="other")
    IncidentBook(other, FakeClock()).record(match("/srv/other.mp4"))
    local = Store(tmp_path / "s.sqlite3", host="local")
    clock = FakeClock()
    book = IncidentBook(local, clock)
    incident = book.record(match()).incident
    book.record(match())
    book.move(incident.id, IncidentState.RESOLVED, "admin:1")
    local.add_audit(
        incident_id=incident.id, actor="admin:1", kind="chown", operation="chown",
        ok=True, summary="done", now=clock(),
    )  # fmt: skip
    local.set_mute("timeout", clock() + timedelta(hours=1), "admin:1")
    local.set_meta("kinds_since", "2026-11-29T00:00:00+00:00")
    UserRuleStore(local).add(UserRule("mi_regla", "boom", Severity.ERROR, clock(), "admin:1"))
    trends = TrendStore(local)
    trends.add_disk_sample("/srv", UsageSample(clock(), 50, 100))
    trends.count_rules(clock(), ["permisos", "permisos"])
    local.close()
    env = {"ADMINBOT_DATABASE_URL": url, "ADMINBOT_HOST": "local", "ADMINBOT_CONFIG": ""}
    os.environ.update(env)
    try:
        assert main(["db", "import-sqlite", str(tmp_path / "s.sqlite3")]) == 0
    finally:
        for name in env:
            os.environ.pop(name)
    (copied,) = [i for i in other.incidents() if i.host == "local"]
    assert copied.count == 2 and copied.state is IncidentState.RESOLVED
    assert len(other.occurrences(copied.id, limit=10)) == 2
    assert [t.new_state for t in other.transitions(copied.id)][-1] is IncidentState.RESOLVED
    assert [a.summary for a in other.audit(incident_id=copied.id)] == ["done"]
    assert "timeout" in other.mutes()
    assert other.get_meta("kinds_since") == "2026-11-29T00:00:00+00:00"
    assert [r.name for r in UserRuleStore(other).all()] == ["mi_regla"]
    as_local = PgStore(url, host="local")
    local_trends = TrendStore(as_local)
    assert [s.used for s in local_trends.disk_samples("/srv", clock() - timedelta(1))] == [50]
    assert local_trends.recent(clock() - timedelta(hours=1)) == {"permisos": 2}
    as_local.close()
    newer = IncidentBook(other, FakeClock()).record(match("/srv/new.mp4")).incident
    assert newer.id > copied.id
    other.close()


def test_every_table_of_the_store_is_either_imported_or_said_not_to_be(tmp_path: Path) -> None:
    Store(tmp_path / "s.sqlite3").close()
    with sqlite3.connect(tmp_path / "s.sqlite3") as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert {name for (name,) in rows} == COPIED | NOT_COPIED
    assert not COPIED & NOT_COPIED


def test_import_sqlite_copies_every_table_that_holds_state(
    postgres: PgCluster, tmp_path: Path
) -> None:
    url = postgres.fresh()
    other = PgStore(url, host="other")
    IncidentBook(other, FakeClock()).record(match("/srv/other.mp4"))
    other_noise = NoiseStore(other)
    clock = FakeClock()
    nightly: tuple[str, str, list[str], list[str], datetime, datetime, str] = (
        "scheduled", "0", [], [], clock(), clock() + timedelta(hours=1), "schedule",
    )  # fmt: skip
    theirs = other_noise.add_window(*nightly)
    other_noise.add_hits(theirs.id, "timeout", "a", 1, 2)
    TrendStore(other).count_rules(clock(), ["timeout"])
    local = Store(tmp_path / "s.sqlite3", host="local")
    incident = IncidentBook(local, clock).record(match()).incident
    noise = NoiseStore(local)
    ours = noise.add_window(*nightly)
    adhoc = noise.add_window("adhoc", "Ana", ["timeout"], [], clock(), clock(), "Ana")
    noise.add_hits(ours.id, "timeout", "a", 1, 3)
    noise.add_hits(adhoc.id, "permisos", "/srv/a.mp4", 1, 1)
    noise.hold(incident.id, "maintenance", clock())
    noise.add_threshold_hits("timeout", clock(), 4, clock() - timedelta(minutes=10))
    noise.count_ignored({"timeout": 5}, clock())
    local.save_topic(-100, "permisos", 17)
    trends = TrendStore(local)
    trends.add_disk_sample("/srv", UsageSample(clock(), 10, 100))
    trends.count_rules(clock(), ["timeout"])
    user_rule = UserRule("mi_regla", "boom", Severity.ERROR, clock(), "admin:1")
    assert UserRuleStore(local).add(user_rule)
    ChannelStore(local).mark_dead("ntfy", "gone", clock())
    ChannelStore(local).enqueue("ntfy", 1, {"text": "in flight"}, clock())
    with local.connection() as raw:
        raw.execute(
            "INSERT INTO kinds (template, first_seen, last_seen, count, state, learned, "
            "samples, file) VALUES ('boom <*>', ?, ?, 1, 'new', 0, '[]', 'bot.log')",
            (clock().isoformat(), clock().isoformat()),
        )
        raw.execute(
            "INSERT INTO checkpoints VALUES ('/log/bot.log', 1, 2, 'ab', 2, 10, 3, ?, 'local')",
            (clock().isoformat(),),
        )
    local.count_lines(clock(), 7)
    local.add_audit(
        incident_id=incident.id, actor="admin:1", kind="chown", operation="chown",
        ok=True, summary="done", now=clock(),
    )  # fmt: skip
    local.set_mute("timeout", clock() + timedelta(hours=1), "admin:1")
    local.set_meta("kinds_since", clock().isoformat())
    local.close()
    assert import_sqlite(tmp_path / "s.sqlite3", url).rows["maintenance"] == 2
    (copied,) = [i for i in other.incidents() if i.host == "local"]
    with psycopg.connect(url) as db:

        def rows(sql: str) -> list[tuple[object, ...]]:
            return db.execute(sql.encode()).fetchall()

        for table in sorted(COPIED):
            assert rows(f"SELECT count(*) FROM {table}") != [(0,)], table
        assert rows("SELECT incident_id FROM held_incidents") == [(copied.id,)]
        windows = rows("SELECT id, origin FROM maintenance ORDER BY id")
        assert [origin for _, origin in windows] == ["scheduled", "adhoc"]  # one nightly window
        tally = "SELECT window_id, rule, opened, hits FROM maintenance_hits ORDER BY window_id"
        assert rows(tally) == [
            (theirs.id, "timeout", 2, 5),  # both hosts' tallies of the one window add up
            (windows[1][0], "permisos", 1, 1),
        ]
        # each host's usual rate is its own: the counts stay apart
        assert rows("SELECT host, n FROM rule_counts ORDER BY host") == [("local", 1), ("other", 1)]
        assert rows("SELECT n FROM ignored_lines") == [(5,)]
        assert rows("SELECT thread_id FROM forum_topics") == [(17,)]
        assert rows("SELECT host, folder, used FROM disk_samples") == [("local", "/srv", 10)]
        for table in sorted(NOT_COPIED):
            assert rows(f"SELECT count(*) FROM {table}") == [(0,)], table
    assert NoiseStore(other).held_among([copied.id]) == {copied.id}
    other.close()


def test_a_database_url_in_an_error_never_shows_its_password(tmp_path: Path) -> None:
    env = {"ADMINBOT_DATABASE_URL": "mysql://bot:s3cret@db/x"}
    with pytest.raises(ConfigError) as raised:
        load_config(env, cwd=tmp_path)
    assert "s3cret" not in str(raised.value)
    assert redact_url("postgresql://bot:s3cret@db:5432/x") == "postgresql://bot:***@db:5432/x"


def test_env_wins_for_the_database_url_and_the_host(tmp_path: Path) -> None:
    (tmp_path / "adminbot.toml").write_text(
        'database_url = "postgresql://file/x"\nhost_name = "from-file"\n', encoding="utf-8"
    )
    config = load_config({"ADMINBOT_HOST": "from-env"}, cwd=tmp_path)
    assert (config.database_url, config.host_name) == ("postgresql://file/x", "from-env")
    env = load_config({"ADMINBOT_DATABASE_URL": "postgresql://env/y"}, cwd=tmp_path)
    assert (env.database_url, env.host_name) == ("postgresql://env/y", "from-file")
    assert load_config({}, cwd=tmp_path / "none").database_url is None


async def test_the_telegram_bot_on_postgresql_alerts_once_and_an_ignore_tap_works(
    tmp_path: Path, fake_telegram: FakeTelegram, postgres: PgCluster
) -> None:
    config = make_config(
        tmp_path, fake_telegram, ADMINBOT_DATABASE_URL=postgres.fresh(), ADMINBOT_HOST="dl-1"
    )
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        assert isinstance(runtime.store, PgStore)
        append(log, PERMISSION.format(path="/srv/descargas/v1.mp4"))
        await fake_telegram.await_call("sendMessage", lambda c: "permisos" in c.params["text"])
        alerts = [m for m in fake_telegram.messages(ADMIN) if "permisos" in m.raw_text]
        assert len(alerts) == 1
        ignore = dict(fake_telegram.buttons(ADMIN, alerts[0].message_id))["🙈 Ignore"]
        fake_telegram.tap(ADMIN, ADMIN, alerts[0].message_id, ignore)
        answer = await fake_telegram.await_call("answerCallbackQuery")
        assert answer.params["text"] == "Ignored."
        (incident,) = runtime.store.incidents(rule="permisos")
        assert (incident.state, incident.host) == (IncidentState.IGNORED, "dl-1")


def test_a_process_frozen_inside_a_transaction_does_not_hold_the_others_back(
    postgres: PgCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGSTOP inside a transaction, seen from the server: a session idle in it. The
    server ends that session, so another host's write to the same row goes through."""
    monkeypatch.setattr(pgsql, "IDLE_IN_TRANSACTION_MS", 300)  # 5 s in production
    url = postgres.fresh()
    frozen, other = PgStore(url, host="a"), PgStore(url, host="b")
    frozen.set_meta("lease", "a")
    frozen._pg.execute("BEGIN")
    frozen._pg.execute("UPDATE meta SET value = 'a, frozen' WHERE key = 'lease'")
    started = time.monotonic()
    other.set_meta("lease", "b")  # waits on the frozen row lock until the server cuts it
    assert time.monotonic() - started < 5
    assert other.get_meta("lease") == "b"
    frozen.close()
    other.close()
