"""The PostgreSQL schema: versioned migrations, applied once however many agents start.

The tables mirror SQLite's (sqlschema.py `MIGRATIONS`), column for column and in the same
order, so the shared queries (and `INSERT ... VALUES` without column names) mean the
same on both. Timestamps stay ISO text, one representation for both backends; ids are
BIGINT (Telegram chat ids do not fit 32 bits). The version is the row count of
`schema_version`; each migration runs in its own transaction under
`pg_advisory_lock`, so twenty agents starting together migrate once and the other
nineteen wait, then find nothing to do.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

logger = logging.getLogger(__name__)

LOCK_KEY = 0x61646D696E626F74  # "adminbot": one advisory lock for the schema, per database

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE checkpoints (
        path TEXT PRIMARY KEY, device BIGINT NOT NULL, inode BIGINT NOT NULL,
        fingerprint TEXT NOT NULL, fingerprint_len BIGINT NOT NULL,
        "offset" BIGINT NOT NULL, line_no BIGINT NOT NULL, updated_at TEXT NOT NULL);
    CREATE TABLE incidents (
        id BIGSERIAL PRIMARY KEY, rule TEXT NOT NULL, severity TEXT NOT NULL, key TEXT NOT NULL,
        state TEXT NOT NULL, count BIGINT NOT NULL, first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL, source TEXT NOT NULL, sample TEXT NOT NULL,
        fields TEXT NOT NULL, token TEXT NOT NULL, resolved_at TEXT);
    CREATE INDEX incidents_by_key ON incidents (rule, key, id);
    CREATE INDEX incidents_by_last_seen ON incidents (last_seen);
    CREATE TABLE occurrences (
        id BIGSERIAL PRIMARY KEY, incident_id BIGINT NOT NULL REFERENCES incidents (id),
        seen_at TEXT NOT NULL, source TEXT NOT NULL, line_no BIGINT NOT NULL, text TEXT NOT NULL);
    CREATE INDEX occurrences_by_incident ON occurrences (incident_id, id);
    CREATE TABLE transitions (
        id BIGSERIAL PRIMARY KEY, incident_id BIGINT NOT NULL REFERENCES incidents (id),
        at TEXT NOT NULL, old_state TEXT, new_state TEXT NOT NULL, actor TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '');
    CREATE INDEX transitions_by_incident ON transitions (incident_id, id);
    CREATE TABLE audit (
        id BIGSERIAL PRIMARY KEY, incident_id BIGINT, at TEXT NOT NULL, actor TEXT NOT NULL,
        kind TEXT NOT NULL, operation TEXT NOT NULL, exit_code BIGINT, output_tail TEXT,
        duration DOUBLE PRECISION, ok BIGINT NOT NULL, summary TEXT NOT NULL);
    CREATE INDEX audit_by_at ON audit (at);
    CREATE TABLE outbox (
        id BIGSERIAL PRIMARY KEY, created_at TEXT NOT NULL, kind TEXT NOT NULL,
        chat_id BIGINT, incident_id BIGINT, payload TEXT NOT NULL, state TEXT NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0, not_before TEXT NOT NULL,
        sent_at TEXT, last_error TEXT);
    CREATE INDEX outbox_pending ON outbox (state, id);
    CREATE TABLE alert_messages (
        incident_id BIGINT NOT NULL, chat_id BIGINT NOT NULL, message_id BIGINT NOT NULL,
        updated_at TEXT NOT NULL, PRIMARY KEY (incident_id, chat_id));
    CREATE TABLE mutes (target TEXT PRIMARY KEY, until TEXT NOT NULL, by TEXT NOT NULL);
    CREATE TABLE line_counts (hour TEXT PRIMARY KEY, lines BIGINT NOT NULL);
    """,
    "ALTER TABLE audit ADD COLUMN detail TEXT",
    """
    ALTER TABLE outbox ADD COLUMN priority BIGINT NOT NULL DEFAULT 2;
    ALTER TABLE outbox ADD COLUMN storm_id BIGINT;
    ALTER TABLE outbox ADD COLUMN doubt BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN recovered BIGINT NOT NULL DEFAULT 0;
    CREATE INDEX outbox_by_priority ON outbox (state, priority, id);
    CREATE INDEX outbox_by_incident ON outbox (incident_id, chat_id);
    ALTER TABLE alert_messages ADD COLUMN repeated BIGINT NOT NULL DEFAULT 0;
    CREATE TABLE storms (
        id BIGSERIAL PRIMARY KEY, rule TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT);
    CREATE TABLE storm_messages (
        storm_id BIGINT NOT NULL REFERENCES storms (id), chat_id BIGINT NOT NULL,
        message_id BIGINT NOT NULL, repeated BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (storm_id, chat_id));
    """,
    """
    CREATE TABLE kinds (
        id BIGSERIAL PRIMARY KEY, template TEXT NOT NULL, first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL, count BIGINT NOT NULL, state TEXT NOT NULL,
        learned BIGINT NOT NULL, samples TEXT NOT NULL, file TEXT NOT NULL);
    CREATE INDEX kinds_by_last_seen ON kinds (last_seen);
    """,
    # Many hosts, one store: an incident belongs to the host whose log raised it.
    """
    ALTER TABLE incidents ADD COLUMN host TEXT NOT NULL DEFAULT '';
    CREATE INDEX incidents_by_host_key ON incidents (rule, key, host, id);
    """,
    # One outbox per Apprise channel (adminbot/store/channels.py).
    """
    CREATE TABLE channel_outbox (
        id BIGSERIAL PRIMARY KEY, channel TEXT NOT NULL, incident_id BIGINT,
        payload TEXT NOT NULL, created_at TEXT NOT NULL, state TEXT NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',
        done_at TEXT);
    CREATE INDEX channel_outbox_queue ON channel_outbox (channel, state, id);
    CREATE TABLE channel_dead (
        channel TEXT PRIMARY KEY, reason TEXT NOT NULL, at TEXT NOT NULL);
    """,
    # Trends (adminbot/store/trends.py): disk usage per round, rule matches per minute.
    """
    CREATE TABLE disk_samples (
        id BIGSERIAL PRIMARY KEY, host TEXT NOT NULL, folder TEXT NOT NULL, at TEXT NOT NULL,
        used BIGINT NOT NULL, total BIGINT NOT NULL);
    CREATE INDEX disk_samples_by_folder ON disk_samples (host, folder, at);
    CREATE INDEX disk_samples_by_at ON disk_samples (at);
    CREATE TABLE rule_counts (
        rule TEXT NOT NULL, minute TEXT NOT NULL, n BIGINT NOT NULL,
        PRIMARY KEY (rule, minute));
    CREATE INDEX rule_counts_by_minute ON rule_counts (minute);
    """,
    # Rules the admin made in the chat from a kind (adminbot/store/userrules.py).
    """
    CREATE TABLE user_rules (
        name TEXT PRIMARY KEY, pattern TEXT NOT NULL, severity TEXT NOT NULL,
        created_at TEXT NOT NULL, created_by TEXT NOT NULL);
    """,
    # The dashboard counts open incidents per host (adminbot/store/browse.py).
    """
    CREATE INDEX incidents_by_host_state ON incidents (host, state);
    """,
    # Forum topics of the alert chat (handlers/topics.py).
    """
    CREATE TABLE forum_topics (
        chat_id BIGINT NOT NULL, name TEXT NOT NULL, thread_id BIGINT NOT NULL,
        PRIMARY KEY (chat_id, name));
    """,
    # Noise control (adminbot/store/noise.py): maintenance windows and what they covered,
    # incidents held back, matches of rules with a threshold, lines [[ignore]] dropped.
    """
    CREATE TABLE maintenance (
        id BIGSERIAL PRIMARY KEY, origin TEXT NOT NULL, name TEXT NOT NULL, rules TEXT NOT NULL,
        hosts TEXT NOT NULL, starts_at TEXT NOT NULL, ends_at TEXT NOT NULL,
        started_by TEXT NOT NULL, closed_at TEXT, UNIQUE (origin, name, starts_at));
    CREATE INDEX maintenance_open ON maintenance (closed_at, ends_at);
    CREATE TABLE maintenance_hits (
        window_id BIGINT NOT NULL, rule TEXT NOT NULL, key TEXT NOT NULL,
        opened BIGINT NOT NULL, hits BIGINT NOT NULL, PRIMARY KEY (window_id, rule, key));
    CREATE TABLE held_incidents (
        incident_id BIGINT PRIMARY KEY, reason TEXT NOT NULL, at TEXT NOT NULL);
    CREATE TABLE threshold_hits (
        rule TEXT NOT NULL, host TEXT NOT NULL, at TEXT NOT NULL, n BIGINT NOT NULL);
    CREATE INDEX threshold_hits_by_rule ON threshold_hits (rule, host, at);
    CREATE TABLE ignored_lines (rule TEXT PRIMARY KEY, n BIGINT NOT NULL, last_at TEXT NOT NULL);
    """,
    # agents: each host keeps its own tail positions (two hosts may tail the same path).
    """
    ALTER TABLE checkpoints ADD COLUMN host TEXT NOT NULL DEFAULT '';
    ALTER TABLE checkpoints DROP CONSTRAINT checkpoints_pkey;
    ALTER TABLE checkpoints ADD PRIMARY KEY (host, path);
    """,
    # agents (adminbot/store/hosts.py): one row per host, upserted at every heartbeat.
    """
    CREATE TABLE hosts (
        name TEXT PRIMARY KEY, instance TEXT NOT NULL, pid BIGINT NOT NULL,
        version TEXT NOT NULL, started_at TEXT NOT NULL, heartbeat_at TEXT NOT NULL,
        files TEXT NOT NULL, checks TEXT NOT NULL);
    """,
    # agents (adminbot/store/work.py): a fix tapped on the front for another host's incident.
    """
    CREATE TABLE work (
        id BIGSERIAL PRIMARY KEY, host TEXT NOT NULL, incident_id BIGINT NOT NULL,
        action TEXT NOT NULL, actor TEXT NOT NULL, created_at TEXT NOT NULL,
        state TEXT NOT NULL, claimed_by TEXT, done_at TEXT);
    CREATE INDEX work_by_host ON work (host, state, id);
    CREATE INDEX work_by_incident ON work (incident_id, state);
    """,
    # agents: each host's usual error rate is its own (adminbot/store/trends.py).
    """
    ALTER TABLE rule_counts ADD COLUMN host TEXT NOT NULL DEFAULT '';
    ALTER TABLE rule_counts DROP CONSTRAINT rule_counts_pkey;
    ALTER TABLE rule_counts ADD PRIMARY KEY (host, rule, minute);
    """,
    # agents: a storm is one host's (its message counts that host's incidents).
    "ALTER TABLE storms ADD COLUMN host TEXT NOT NULL DEFAULT ''",
    # One front at a time (adminbot/store/leases.py); `db_now()` is the server's clock,
    # so hosts whose clocks disagree still agree on when a lease expires.
    """
    CREATE TABLE leases (
        role TEXT PRIMARY KEY, holder TEXT NOT NULL, epoch BIGINT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL);
    ALTER TABLE outbox ADD COLUMN claim_epoch BIGINT;
    CREATE FUNCTION db_now() RETURNS DOUBLE PRECISION LANGUAGE SQL VOLATILE
        AS $$ SELECT extract(epoch FROM clock_timestamp())::double precision $$;
    """,
    # Dashboard login links already used (adminbot/store/logins.py).
    """
    CREATE TABLE used_logins (nonce TEXT PRIMARY KEY, expires BIGINT NOT NULL);
    """,
    # incidents_by_host_key serves every lookup by rule and key (see sqlite.py).
    "DROP INDEX incidents_by_key",
    # Lookups by key go through a 60-bit hash of it (see sqlite.py and rows.key_hash,
    # which this function computes the same: the first 15 hex digits of the MD5).
    """
    CREATE FUNCTION key_hash(k TEXT) RETURNS BIGINT LANGUAGE SQL IMMUTABLE STRICT
        AS $$ SELECT ('x' || substr(md5(k), 1, 15))::bit(60)::bigint $$;
    ALTER TABLE incidents ADD COLUMN key_hash BIGINT NOT NULL DEFAULT 0;
    UPDATE incidents SET key_hash = key_hash(key);
    CREATE INDEX incidents_by_key_hash ON incidents (key_hash, host);
    DROP INDEX incidents_by_host_key;
    """,
)

HOST_LOCK_CLASS = 0x61646D69  # "admi": the advisory-lock space of host names


def schema_version(conn: psycopg.Connection[Any]) -> int:
    """How many migrations this database has (0 when it has none, or no table yet)."""
    found = conn.execute("SELECT to_regclass('schema_version')").fetchone()
    if found is None or found[0] is None:
        return 0
    row = conn.execute("SELECT count(*) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(url: str) -> int:
    """Bring the database at `url` up to date under the schema's advisory lock; migrations run."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version "
                "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            done = schema_version(conn)
            for version, script in enumerate(MIGRATIONS[done:], start=done + 1):
                with conn.transaction():
                    conn.execute(script)
                    conn.execute("INSERT INTO schema_version VALUES (%s, now()::text)", (version,))
                logger.info("PostgreSQL store migrated to version %s", version)
            return len(MIGRATIONS) - done
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
