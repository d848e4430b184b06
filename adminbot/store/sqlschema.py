"""SQLite's schema history: one script per version, applied in order to a file that
lacks them (`storefile.StoreFile`); PostgreSQL's tables mirror them (`pgschema`).

A script is never edited once released: a change is a new script at the end.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE checkpoints (
        path TEXT PRIMARY KEY, device INTEGER NOT NULL, inode INTEGER NOT NULL,
        fingerprint TEXT NOT NULL, fingerprint_len INTEGER NOT NULL,
        offset INTEGER NOT NULL, line_no INTEGER NOT NULL, updated_at TEXT NOT NULL);
    CREATE TABLE incidents (
        id INTEGER PRIMARY KEY, rule TEXT NOT NULL, severity TEXT NOT NULL, key TEXT NOT NULL,
        state TEXT NOT NULL, count INTEGER NOT NULL, first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL, source TEXT NOT NULL, sample TEXT NOT NULL,
        fields TEXT NOT NULL, token TEXT NOT NULL, resolved_at TEXT);
    CREATE INDEX incidents_by_key ON incidents (rule, key, id);
    CREATE INDEX incidents_by_last_seen ON incidents (last_seen);
    CREATE TABLE occurrences (
        id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL REFERENCES incidents (id),
        seen_at TEXT NOT NULL, source TEXT NOT NULL, line_no INTEGER NOT NULL, text TEXT NOT NULL);
    CREATE INDEX occurrences_by_incident ON occurrences (incident_id, id);
    CREATE TABLE transitions (
        id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL REFERENCES incidents (id),
        at TEXT NOT NULL, old_state TEXT, new_state TEXT NOT NULL, actor TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '');
    CREATE INDEX transitions_by_incident ON transitions (incident_id, id);
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY, incident_id INTEGER, at TEXT NOT NULL, actor TEXT NOT NULL,
        kind TEXT NOT NULL, operation TEXT NOT NULL, exit_code INTEGER, output_tail TEXT,
        duration REAL, ok INTEGER NOT NULL, summary TEXT NOT NULL);
    CREATE INDEX audit_by_at ON audit (at);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY, created_at TEXT NOT NULL, kind TEXT NOT NULL,
        chat_id INTEGER, incident_id INTEGER, payload TEXT NOT NULL, state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, not_before TEXT NOT NULL,
        sent_at TEXT, last_error TEXT);
    CREATE INDEX outbox_pending ON outbox (state, id);
    CREATE TABLE alert_messages (
        incident_id INTEGER NOT NULL, chat_id INTEGER NOT NULL, message_id INTEGER NOT NULL,
        updated_at TEXT NOT NULL, PRIMARY KEY (incident_id, chat_id));
    CREATE TABLE mutes (target TEXT PRIMARY KEY, until TEXT NOT NULL, by TEXT NOT NULL);
    CREATE TABLE line_counts (hour TEXT PRIMARY KEY, lines INTEGER NOT NULL);
    """,
    # The facts behind an audit row's summary, as JSON, so alerts word them at send time.
    "ALTER TABLE audit ADD COLUMN detail TEXT",
    # Delivery that stays useful in a storm and sends an alert once, also across a kill:
    # rows go out by priority; `doubt` counts attempts whose outcome is unknown (timed out,
    # in flight at a crash) and `recovered` how often a crash left the row in flight;
    # a storm of one rule is one message, edited as it goes on.
    """
    ALTER TABLE outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 2;
    ALTER TABLE outbox ADD COLUMN storm_id INTEGER;
    ALTER TABLE outbox ADD COLUMN doubt INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN recovered INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX outbox_by_priority ON outbox (state, priority, id);
    CREATE INDEX outbox_by_incident ON outbox (incident_id, chat_id);
    ALTER TABLE alert_messages ADD COLUMN repeated INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE storms (
        id INTEGER PRIMARY KEY, rule TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT);
    CREATE TABLE storm_messages (
        storm_id INTEGER NOT NULL REFERENCES storms (id), chat_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL, repeated INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (storm_id, chat_id));
    """,
    # Kinds of error no rule knows, mined into templates (adminbot.store.kinds).
    """
    CREATE TABLE kinds (
        id INTEGER PRIMARY KEY, template TEXT NOT NULL, first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL, count INTEGER NOT NULL, state TEXT NOT NULL,
        learned INTEGER NOT NULL, samples TEXT NOT NULL, file TEXT NOT NULL);
    CREATE INDEX kinds_by_last_seen ON kinds (last_seen);
    """,
    # Many hosts, one store: an incident belongs to the host whose log raised it, and
    # repeats group by rule, key and host (rows from before belong to this host, `_adopt`).
    """
    ALTER TABLE incidents ADD COLUMN host TEXT NOT NULL DEFAULT '';
    CREATE INDEX incidents_by_host_key ON incidents (rule, key, host, id);
    """,
    # channels (adminbot/store/channels.py): one outbox per Apprise channel
    """
    CREATE TABLE channel_outbox (
        id INTEGER PRIMARY KEY, channel TEXT NOT NULL, incident_id INTEGER,
        payload TEXT NOT NULL, created_at TEXT NOT NULL, state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',
        done_at TEXT);
    CREATE INDEX channel_outbox_queue ON channel_outbox (channel, state, id);
    CREATE TABLE channel_dead (
        channel TEXT PRIMARY KEY, reason TEXT NOT NULL, at TEXT NOT NULL);
    """,
    # trends (adminbot/store/trends.py): disk usage per round, rule matches per minute
    """
    CREATE TABLE disk_samples (
        id INTEGER PRIMARY KEY, host TEXT NOT NULL, folder TEXT NOT NULL, at TEXT NOT NULL,
        used INTEGER NOT NULL, total INTEGER NOT NULL);
    CREATE INDEX disk_samples_by_folder ON disk_samples (host, folder, at);
    CREATE INDEX disk_samples_by_at ON disk_samples (at);
    CREATE TABLE rule_counts (
        rule TEXT NOT NULL, minute TEXT NOT NULL, n INTEGER NOT NULL,
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
    # Forum topics of the alert chat, one per error type or host (handlers/topics.py);
    # name '' with thread 0 says the chat is not a forum.
    """
    CREATE TABLE forum_topics (
        chat_id INTEGER NOT NULL, name TEXT NOT NULL, thread_id INTEGER NOT NULL,
        PRIMARY KEY (chat_id, name));
    """,
    # Noise control (adminbot/store/noise.py): maintenance windows and what they covered,
    # incidents held back, matches of rules with a threshold, lines [[ignore]] dropped.
    """
    CREATE TABLE maintenance (
        id INTEGER PRIMARY KEY, origin TEXT NOT NULL, name TEXT NOT NULL, rules TEXT NOT NULL,
        hosts TEXT NOT NULL, starts_at TEXT NOT NULL, ends_at TEXT NOT NULL,
        started_by TEXT NOT NULL, closed_at TEXT, UNIQUE (origin, name, starts_at));
    CREATE INDEX maintenance_open ON maintenance (closed_at, ends_at);
    CREATE TABLE maintenance_hits (
        window_id INTEGER NOT NULL, rule TEXT NOT NULL, key TEXT NOT NULL,
        opened INTEGER NOT NULL, hits INTEGER NOT NULL, PRIMARY KEY (window_id, rule, key));
    CREATE TABLE held_incidents (
        incident_id INTEGER PRIMARY KEY, reason TEXT NOT NULL, at TEXT NOT NULL);
    CREATE TABLE threshold_hits (
        rule TEXT NOT NULL, host TEXT NOT NULL, at TEXT NOT NULL, n INTEGER NOT NULL);
    CREATE INDEX threshold_hits_by_rule ON threshold_hits (rule, host, at);
    CREATE TABLE ignored_lines (rule TEXT PRIMARY KEY, n INTEGER NOT NULL, last_at TEXT NOT NULL);
    """,
    # agents: each host keeps its own tail positions (two hosts may tail the same path);
    # rows from before are this host's (`_adopt`). SQLite cannot change a primary key in
    # place, so the table is rebuilt.
    """
    CREATE TABLE checkpoints_by_host (
        path TEXT NOT NULL, device INTEGER NOT NULL, inode INTEGER NOT NULL,
        fingerprint TEXT NOT NULL, fingerprint_len INTEGER NOT NULL,
        offset INTEGER NOT NULL, line_no INTEGER NOT NULL, updated_at TEXT NOT NULL,
        host TEXT NOT NULL DEFAULT '', PRIMARY KEY (host, path));
    INSERT INTO checkpoints_by_host SELECT *, '' FROM checkpoints;
    DROP TABLE checkpoints;
    ALTER TABLE checkpoints_by_host RENAME TO checkpoints;
    """,
    # agents (adminbot/store/hosts.py): one row per host, upserted at every heartbeat.
    """
    CREATE TABLE hosts (
        name TEXT PRIMARY KEY, instance TEXT NOT NULL, pid INTEGER NOT NULL,
        version TEXT NOT NULL, started_at TEXT NOT NULL, heartbeat_at TEXT NOT NULL,
        files TEXT NOT NULL, checks TEXT NOT NULL);
    """,
    # agents (adminbot/store/work.py): a fix tapped on the front for another host's incident.
    """
    CREATE TABLE work (
        id INTEGER PRIMARY KEY, host TEXT NOT NULL, incident_id INTEGER NOT NULL,
        action TEXT NOT NULL, actor TEXT NOT NULL, created_at TEXT NOT NULL,
        state TEXT NOT NULL, claimed_by TEXT, done_at TEXT);
    CREATE INDEX work_by_host ON work (host, state, id);
    CREATE INDEX work_by_incident ON work (incident_id, state);
    """,
    # agents: each host's usual error rate is its own (adminbot/store/trends.py); rows
    # from before are this host's (`_adopt`).
    """
    CREATE TABLE rule_counts_by_host (
        rule TEXT NOT NULL, minute TEXT NOT NULL, n INTEGER NOT NULL,
        host TEXT NOT NULL DEFAULT '', PRIMARY KEY (host, rule, minute));
    INSERT INTO rule_counts_by_host SELECT *, '' FROM rule_counts;
    DROP TABLE rule_counts;
    ALTER TABLE rule_counts_by_host RENAME TO rule_counts;
    CREATE INDEX rule_counts_by_minute ON rule_counts (minute);
    """,
    # agents: a storm is one host's (its message counts that host's incidents).
    "ALTER TABLE storms ADD COLUMN host TEXT NOT NULL DEFAULT ''",
    # One front at a time (adminbot/store/leases.py): the lease, and the epoch each
    # outbox claim was made under, so a deposed front's late writes match nothing.
    """
    CREATE TABLE leases (
        role TEXT PRIMARY KEY, holder TEXT NOT NULL, epoch INTEGER NOT NULL,
        expires_at REAL NOT NULL);
    ALTER TABLE outbox ADD COLUMN claim_epoch INTEGER;
    """,
    # Dashboard login links already used, until they would expire (adminbot/store/logins.py):
    # a link opens one session, even across a restart.
    """
    CREATE TABLE used_logins (nonce TEXT PRIMARY KEY, expires INTEGER NOT NULL);
    """,
    # incidents_by_host_key (rule, key, host, id) serves every lookup by rule and key;
    # the older index only cost each new incident (a storm opens thousands a second).
    "DROP INDEX incidents_by_key",
    # Lookups by key go through a 60-bit hash of it (rows.key_hash): a storm's scattered
    # keys, indexed as text, cost each new incident a page of the index in its commit.
    # `key_hash()` is the connection's own function (storefile), for the rows before.
    """
    ALTER TABLE incidents ADD COLUMN key_hash INTEGER NOT NULL DEFAULT 0;
    UPDATE incidents SET key_hash = key_hash(key);
    CREATE INDEX incidents_by_key_hash ON incidents (key_hash, host);
    DROP INDEX incidents_by_host_key;
    """,
)
