"""The message catalog: every user-facing string, in English and Spanish, in one table.

Values are `str.format` templates. Callers pass already HTML-escaped values where the
text goes out as HTML; the templates themselves hold only Telegram's HTML tags.

Long because it is the catalog: data, in two languages.
"""

from __future__ import annotations

from collections.abc import Mapping

EN: Mapping[str, str] = {
    "channel.severity.info": "INFO",
    "channel.severity.warning": "WARNING",
    "channel.severity.error": "ERROR",
    "channel.severity.critical": "CRITICAL",
    "channel.title": "{severity} · {rule} on {host}",
    "channel.host": "Host: {host}",
    "channel.rule": "Type: {rule} (incident #{id})",
    "channel.file": "File: {file}",
    "channel.at": "First seen: {at}",
    "channel.link": "Details: {link}",
    "channel.act": "Act in Telegram: the buttons are there.",
    "channel.test_title": "adminbot test message",
    "channel.http": "the service answered HTTP {status}",
    "channel.refused_url": "Apprise cannot use its URL",
    "channel.test_body": "This channel receives adminbot's alerts.",
    "channel.failed": (
        "📵 <b>Alert channel #{index}</b> ({name}) failed for good and is no longer tried: {reason}"
    ),
    "status.channel_ok": "📨 Channel {name}: ok, {queued} queued",
    "status.channel_failing": "📨 Channel {name}: failing since {since}, {queued} queued",
    "status.channel_dead": "📵 Channel {name}: failed for good ({reason})",
    "severity.info": "ℹ️ INFO",
    "severity.warning": "🟡 WARNING",
    "severity.error": "🟠 ERROR",
    "severity.critical": "🔴 CRITICAL",
    "state.open": "open",
    "state.acknowledged": "acknowledged",
    "state.fixing": "fixing…",
    "state.resolved": "resolved",
    "state.ignored": "ignored",
    "recoverable": "recoverable",
    "critical_note": "needs attention now",
    "alert.file": "File",
    "alert.count": "Seen {count}× · first {first} · last {last}",
    "alert.state": "State",
    "alert.muted": "🔕 Muted until {until}",
    "alert.no_fix": "🚫 No fix: {why}",
    "alert.waiting_server": "⏳ Waiting for the Bot API server (down since {since})",
    "alert.done": "{icon} {summary} — {actor}, {when}",
    "delivery.repeated": "↩️ <i>Possibly repeated: an earlier copy may have arrived.</i>",
    "storm.title": "🌩 <b>Storm · {rule}</b>: {count} new incidents since {since}",
    "storm.title_over": "🌤 <b>Storm over · {rule}</b>: {count} new incidents, {since} → {until}",
    "storm.hits": "{hits} matching lines · last {last}",
    "storm.keys": "<b>Top keys</b>",
    "storm.key_line": "• <code>{value}</code> ×{count}",
    "storm.files": "<b>Files</b>",
    "storm.file_line": "• <code>{path}</code> ({count})",
    "storm.note": "Alerts of this type are grouped here until it calms down.",
    "storm.resumed": "Alerts of this type go one by one again.",
    "btn.storm_list": "📋 Show the list",
    "btn.retry": "🔁 Retry",
    "btn.chown": "🔑 Chown",
    "btn.mkdir": "📁 Create folder",
    "btn.clean_retry": "🧹 Clean & retry",
    "btn.quarantine": "🗃 Quarantine",
    "btn.restart_container": "♻️ Restart container",
    "btn.restart_process": "♻️ Restart pipeline",
    "btn.resolve": "✅ Mark fixed",
    "btn.ignore": "🙈 Ignore",
    "btn.mute": "🔕 Mute…",
    "btn.unmute": "🔔 Unmute",
    "btn.context": "🔎 Context",
    "btn.log": "📄 Log",
    "btn.kind_ignore": "🙈 Ignore this kind",
    "btn.make_rule": "🧩 Make rule",
    "btn.rule_confirm": "✅ Confirm the rule",
    "rule.title": "🧩 <b>Rule proposed from kind #{kind}</b>",
    "rule.name": "Name: <code>{name}</code>",
    "rule.pattern": "Regex: <code>{pattern}</code>",
    "rule.template": "Kind: <code>{template}</code>",
    "rule.samples": "Matches {matched} of the kind's {samples} stored sample lines.",
    "rule.lines": (
        "Last 24 h: matches {matched} of the {lines} lines the store keeps of the "
        "{incidents} incidents seen (up to the latest 20 lines of each)."
    ),
    "rule.own": "Catches this kind's alert: {list}.",
    "rule.new_kinds": "Would also catch other new kinds: {list}.",
    "rule.takes": (
        "⚠️ Would take incidents of existing rules (a rule made here is tried first): {list}."
    ),
    "rule.takes_none": "Takes nothing from existing rules.",
    "rule.confirm_hint": "Confirm to put it in force now; its lines are alerted as {name}.",
    "rule.made": "✅ Rule <code>{name}</code> is in force, made by {actor}.",
    "tap.rule_made": "Rule {name} is in force.",
    "rule.refused.no_kind": "That kind is no longer known.",
    "rule.refused.decided": "A rule was already made of this kind, or it was ignored.",
    "rule.refused.undraftable": "No rule can be drafted from this kind: its template has no words.",
    "rule.refused.stale": "This proposal is out of date: tap Make rule again.",
    "evidence.title": "<b>#{id} · {file}</b> lines {first}–{last}",
    "evidence.moved": "⚠️ Line {line} is no longer where it was (the file was rotated or cut).",
    "evidence.gone": "The file can no longer be read: {why}",
    "evidence.not_watched": "That file is not watched by adminbot: it is not read.",
    "evidence.no_line": "No log line to show for this alert.",
    "evidence.log_caption": "#{id} · last {count} lines up to line {line} of {file}",
    "tap.kind_ignored": "Kind #{kind} ignored: its lines are counted, never alerted.",
    "btn.prev": "◀️ Newer",
    "btn.next": "Older ▶️",
    "tap.invalid": "This button is no longer valid.",
    "tap.closed": "Already {state}.",
    "tap.busy": "Already in progress.",
    "tap.running": "Running: {what}…",
    "tap.ignored": "Ignored.",
    "tap.muted": "Muted {rule} until {until}.",
    "tap.muted_key": "This alert is muted until {until}; its fixes still run.",
    "tap.unmuted": "Alerts about it are back on.",
    "tap.resolved": "Marked as fixed.",
    "tap.unavailable": "That action is not configured here.",
    "actor.policy": "automatic",
    "started": "🟢 <b>adminbot is up</b>\nWatching {files}. /help lists the commands.",
    "help": (
        "<b>adminbot</b> watches the pipeline's logs and alerts you here.\n"
        "Watching: {files}\n\n"
        "/status — health, files, disk, open incidents\n"
        "/errors [type] [n] — recent incidents\n"
        "/summary [24h] [chart] — what happened, with a chart\n"
        "/mute &lt;type|all&gt; [1h] — stop alerts for a while (an hour by default)\n"
        "/unmute [type|all] — alerts back on; alone, the mutes with a button each\n"
        "/maintenance [30m|off] — no alerts while you work\n"
        "/kinds — kinds of error no rule knows"
    ),
    "status.title": "<b>Status</b> · up {uptime}",
    "status.files": "<b>Watched files</b>",
    "status.file": "• <code>{path}</code> {size}, last line {age}",
    "status.file_quiet": (
        "• <code>{path}</code> {size}, no new line since start (last written {age} ago)"
    ),
    "status.file_waiting": "• <code>{path}</code> {size}, no new line since start",
    "status.file_problem": "• <code>{path}</code> ⚠️ {problem}",
    "status.no_files": "• none found yet",
    "status.more_files": "• … and {count} more",
    "status.disk": "<b>Disk</b>",
    "status.disk_line": "• <code>{path}</code> {percent:.0f}% used, {free} free",
    "status.host": "<b>Host</b> CPU {cpu:.0f}% · RAM {mem:.0f}% · adminbot {rss}",
    "status.checks": "<b>Checks</b>",
    "status.check_line": "• {icon} {name}: {summary}",
    "status.open": "<b>Open incidents</b>",
    "status.open_line": "• {rule}: {count}",
    "status.none": "• none",
    "status.mutes": "<b>Muted</b>",
    "status.mute_line": "• {target} until {until}",
    "status.outbox": "⏳ {count} alert(s) waiting for delivery",
    "errors.title": "<b>Incidents</b> {filter}· page {page}",
    "errors.none": "No incidents{filter}.",
    "errors.line": "{icon} #{id} <b>{rule}</b> ×{count} · {state} · {age} ago",
    "errors.usage": "Usage: /errors [type] [n]. Types: {rules}",
    "kinds.title": "<b>Kinds of error no rule knows</b> · {count} in all, latest first",
    "kinds.none": "No error without a rule has been seen yet.",
    "kinds.line": (
        "• #{id} <code>{template}</code>\n   ×{count} · first {first} · last {last} · {state}"
    ),
    "kinds.state.new": "new",
    "kinds.state.learned": "learnt, no alert",
    "kinds.state.ruled": "has a rule",
    "kinds.state.ignored": "ignored",
    "kinds.more": "… and {count} more (oldest not shown)",
    "summary.title": "<b>Summary</b> since {since}",
    "summary.session_title": "<b>Session summary</b> · {since} → {until}",
    "summary.lines": "Lines read: {lines}",
    "summary.incidents": "Incidents: {incidents} ({occurrences} occurrences)",
    "summary.by_rule": "• {rule}: {incidents} ({hits}×)",
    "summary.actions": "Actions: {run} run · {ok} ok · {failed} failed",
    "summary.top": "<b>Top errors</b>",
    "summary.top_line": "• #{id} {rule} ×{count}",
    "summary.open": "Still open: {open}",
    "summary.resolution": "Median time to fix: {duration}",
    "summary.usage": (
        "Usage: /summary [period] [chart], e.g. /summary 24h, /summary 7d or /summary 24h chart"
    ),
    "mute.usage": (
        "Usage: /mute &lt;type|all&gt; [duration], e.g. /mute timeout 1h. Types: {rules}"
    ),
    "mute.done": "🔕 {target} muted until {until}. Still recorded.",
    "mute.expired": "🔔 Mute of {target} has expired.",
    "unmute.done": "🔔 Alerts back on ({count} mute(s) removed).",
    "unmute.none": "Nothing was muted.",
    "check.flip": "{icon} <b>{name}</b>: {old} → {new}\n{summary}",
    "check.first": "{icon} <b>{name}</b>: {new}\n{summary}",
    "check.recovered": "✅ <b>{name}</b> recovered\n{summary}",
    "action.auto": "🤖 Automatic: {summary}",
    "check.state.ok": "ok",
    "check.state.warning": "warning",
    "check.state.critical": "critical",
    "check.state.unknown": "unknown",
    "selfwatch.failing": "⚠️ <b>adminbot {part}</b> is failing: {detail}",
    "selfwatch.ok": "✅ <b>adminbot {part}</b> works again: {detail}",
    "stopping": "🛑 adminbot is stopping.",
    "store.damaged.empty": (
        "🗄️ <b>adminbot's store was found empty</b> at {when} (emptied while adminbot was"
        " stopped); a fresh store was started."
    ),
    "store.damaged.missing": (
        "🗄️ <b>adminbot's store was missing</b> at {when} (deleted while adminbot was "
        "stopped); a fresh store was started."
    ),
    "store.damaged.check_failed": (
        "🗄️ <b>adminbot's store was damaged</b> (found at start, {when}); a fresh store "
        "was started. Past incidents, audit and queued messages stay in the old file."
    ),
    "store.damaged.malformed": (
        "🗄️ <b>adminbot's store became damaged</b> at {when}; a fresh store was started. "
        "Past incidents, audit and queued messages stay in the old file."
    ),
    "store.moved": "The old file is kept for inspection: <code>{path}</code>",
    "store.resume.positions": (
        "Log reading resumed from the positions of {files} file(s) saved at {when}: lines"
        " written meanwhile are read, a few may be counted twice."
    ),
    "store.resume.current": "Log reading went on from where it stood: no line was skipped.",
    "store.resume.unknown": (
        "No saved positions were found: logs are read from their end, so lines written "
        "while adminbot was down are not read."
    ),
    "btn.ack": "👤 I'm on it",
    "tap.acked": "You are on it; reminders stop.",
    "tap.viewer": "Viewers cannot run fixes or change incidents.",
    "alert.on_it": "👤 {who} is on it · {when}",
    "digest.title": "🌙 Quiet hours are over. {count} alert(s) held meanwhile:",
    "digest.line": "{icon} #{id} <b>{rule}</b> ×{count} · since {when}",
    "remind.text": (
        "⏰ Still open and nobody is on it: #{id} <b>{rule}</b> ×{count}, since {when} ({age})."
    ),
    "store.full": (
        "💾 <b>adminbot's data folder is full</b> ({when}): history is paused. Alerts and "
        "notices are sent from memory until it has room again."
    ),
    "store.writable": (
        "💾 adminbot's data folder has room again ({when}): history is recorded again."
    ),
    "store.unrecorded": (
        "💾 <b>{records} error record(s) not recorded</b> (data folder full): {lines} "
        "line(s) of <code>{source}</code>, lines {first}–{last} ({rules}). They were read"
        " and reading went on past them; their incidents are missing from history."
    ),
    "unit.s": "s",
    "unit.m": "m",
    "unit.h": "h",
    "unit.d": "d",
    "notice.unreadable": "⚠️ adminbot could not read a queued notice ({kind}).",
    "summary.child_exit": "Pipeline stopped (exit code {code}).",
    "summary.child_signal": "Pipeline stopped (signal {signal}).",
    "status.pipeline": (
        "Pipeline: pid {pid}, up {uptime}, {restarts} restart(s), CPU {cpu}%, RAM {rss}"
    ),
    "status.pipeline_down": "Pipeline: not running ({restarts} restart(s))",
    "status.quarantine": "Quarantine: {files} file(s), {size}; newest <code>{newest}</code>",
    "status.store": "Store: {size}; closed incidents kept {days:g} days",
    "predict.status_title": "<b>Forecast</b>",
    "predict.disk": "at this rate <code>{folder}</code> is full in ~{eta} (filling {rate}/h)",
    "predict.rate": "{rule} at {factor}× the usual rate ({per_hour} lines/h, usually {usual})",
    "predict.eta_hm": "{hours} h {minutes} min",
    "predict.eta_h": "{hours} h",
    "predict.eta_m": "{minutes} min",
    "status.store_forever": "Store: {size}; closed incidents kept forever",
    "alert.report": "📊 {title} — {actor}, {when}",
    "disk.title": "Disk usage",
    "disk.folder": "• <code>{path}</code> {percent:.0f}% used, {free} free",
    "disk.folder_error": "• <code>{path}</code>: {error}",
    "disk.largest": "  Largest folders:",
    "disk.largest_partial": "  Largest folders (the count stopped early):",
    "disk.subfolder": "  ◦ {name} — {size}",
    "disk.loose_files": "(loose files)",
    "action.kind.retry": "retry",
    "action.kind.chown": "chown",
    "action.kind.mkdir": "create folder",
    "action.kind.clean_retry": "clean and retry",
    "action.kind.restart_container": "restart container",
    "action.kind.restart_process": "restart pipeline",
    "action.kind.quarantine": "quarantine",
    "action.problem.exit": "exit code {exit_code}",
    "action.problem.output": "exit code {exit_code}: {output}",
    "action.problem.missing": "exit code 0 but {missing} is missing",
    "action.problem.error": "{error}",
    "action.reason.text": "{text}",
    "action.reason.refused": "refused: {why}",
    "action.reason.docker_error": "Docker: {error}",
    "action.reason.os_error": "{action} failed: {error}",
    "action.reason.crashed": "{action} crashed: {error}",
    "action.reason.retry_ok": "retry succeeded (attempt {attempt} of {attempts})",
    "action.reason.retry_failed": "retry failed after {attempt} attempt(s): {problem}",
    "action.reason.chown_ok": "owner of {path} changed to {owner}",
    "action.reason.chown_ok_sudo": "owner changed to {owner} (sudo)",
    "action.reason.chown_failed": "chown failed: {problem}",
    "action.reason.sudo_password": "sudo needs a password: allow adminbot to run chown without one",
    "action.reason.sudo_denied": (
        "sudo does not allow adminbot to run chown: add a sudoers rule for it"
    ),
    "action.reason.folder_exists": "the folder already exists",
    "action.reason.folders_created": "created {count} folder(s): {path}",
    "action.reason.folders_created_partly": "created {count} folder(s), but",
    "action.reason.quarantined": "moved to quarantine: {name}",
    "action.reason.restart_failed": "restart failed: {error}",
    "action.reason.container_restarted": "container {container} restarted",
    "action.reason.container_restarted_api": (
        "container {container} restarted and the Bot API answers"
    ),
    "action.reason.docker_lost": "restarted, but Docker stopped answering: {error}",
    "action.reason.api_silent": (
        "container {container} is running, but the Bot API does not answer after {seconds} s"
    ),
    "action.reason.container_down": (
        "restarted, but container {container} is {status} after {seconds} s"
    ),
    "action.reason.budget_used_up": "automatic {action} skipped: budget used up",
    "action.reason.child_budget_used_up": (
        "restart budget used up ({budget} in {minutes} min): waiting for you"
    ),
    "action.reason.child_stopping": "not restarted: adminbot is stopping",
    "action.reason.child_restarted": "restarted, pid {pid}",
    "check.exit_code": " (exit code {exit_code})",
    "check.reason.note": "{text}",
    "check.reason.timed_out": "no result within {seconds} s",
    "check.reason.check_failed": "check failed: {error}",
    "check.reason.disk_read_pending": (
        "{path}: the previous usage read has not returned (hung mount?)"
    ),
    "check.reason.disk_missing": "{path} does not exist (not mounted, or wrong path?)",
    "check.reason.disk_unreadable": "cannot read usage of {path}: {error}",
    "check.reason.disk_usage": "{path} {percent}% used, {free} free",
    "check.reason.fds_usage": "{used} of {limit} file descriptors open ({percent}%)",
    "check.reason.disk_percent_limit": "{path} {percent}% used, {free} free ({level} at {limit}%)",
    "check.reason.disk_free_limit": "{path} {percent}% used, {free} free ({level} below {limit})",
    "check.reason.api_silent": "Bot API server {server} gave no answer within {seconds} s",
    "check.reason.api_unreachable": "Bot API server {server} unreachable: {error}",
    "check.reason.api_server_error": "Bot API server {server} answered HTTP {status}",
    "check.reason.api_unchecked": (
        "Bot API server {server} answers (no token configured: getMe not checked)"
    ),
    "check.reason.api_rejected": (
        "Bot API server {server} is up but rejects the bot token (401): check the token"
    ),
    "check.reason.api_ok": "Bot API server {server} OK",
    "check.reason.api_ok_bot": "Bot API server {server} OK, bot @{username}",
    "check.reason.api_bad_reply": "Bot API server {server} answered HTTP {status}: {description}",
    "check.reason.api_not_bot_api": (
        "Bot API server {server} answered HTTP {status} without the Bot API's JSON"
    ),
    "check.reason.docker_unreachable": "cannot ask Docker about {container}: {error}",
    "check.reason.container_missing": "container {container} does not exist",
    "check.reason.container_restarting": "container {container} is restarting (crash loop?)",
    "check.reason.container_paused": "container {container} is paused",
    "check.reason.container_unhealthy": "container {container} is running but unhealthy",
    "check.reason.container_running": "container {container} is running",
    "check.reason.container_running_health": "container {container} is running ({health})",
    "check.reason.container_stopped": "container {container} is {status}",
    "check.reason.container_created": "container {container} was created but never started",
    "check.reason.container_odd": "container {container} reports status '{status}'",
    "check.reason.process_missing_named": "no process named '{process}' is running",
    "check.reason.process_missing_cmdline": (
        "no process with '{cmdline}' in its command line is running"
    ),
    "check.reason.process_missing_both": (
        "no process named '{process}' with '{cmdline}' in its command line is running"
    ),
    "check.reason.pid_file_missing": "pid file {pid_file} is missing: not running?",
    "check.reason.pid_file_unreadable": "cannot read pid file {pid_file}: {error}",
    "check.reason.pid_file_garbled": "pid file {pid_file} holds '{text}', not a pid",
    "check.reason.pid_stale": "stale pid file {pid_file}: pid {pid} is not running",
    "check.reason.pid_reused": (
        "stale pid file {pid_file}: pid {pid} is now '{name}', not the watched process"
    ),
    "check.reason.process_zombie": "pid {pid} ({name}) is a zombie: it exited and was not reaped",
    "check.reason.process_vanished": "pid {pid} ({name}) exited while being checked",
    "check.reason.process_up": "pid {pid} ({name}) up {uptime}, CPU {cpu}%, RAM {rss}",
    "check.reason.log_waiting": "no line seen yet (watching for {waited}, limit {limit})",
    "check.reason.log_fresh": "last line {quiet} ago",
    "check.reason.log_silent": "no new line for {quiet} (limit {limit})",
    "check.reason.log_silent_alive": (
        "no new line for {quiet} (limit {limit}) while the process is alive"
    ),
    "check.reason.log_silent_dead": (
        "no new line for {quiet} (limit {limit}), but the process is not running: see the "
        "process check"
    ),
    "check.reason.log_never": "no line at all in {waited} of watching (limit {limit})",
    "check.reason.log_never_alive": (
        "no line at all in {waited} of watching (limit {limit}) while the process is alive"
    ),
    "check.reason.log_never_dead": (
        "no line at all in {waited} of watching (limit {limit}), but the process is not "
        "running: see the process check"
    ),
    # -- web dashboard (/dashboard) --
    "dashboard.link": (
        '🔗 <a href="{url}">Open the dashboard</a>\n'
        "The link works once and for 10 minutes; do not forward it."
    ),
    "dashboard.off": "The dashboard is off: set <code>[web] enabled = true</code>.",
    "dashboard.private": "Send /dashboard to me in a private chat: the link logs in as you.",
    # mute choices, /unmute list, crash loops, forum topics (issue 13)
    "btn.mute_for": "🔕 {hours} h",
    "btn.back": "↩️ Back",
    "tap.mute_choose": "Mute this alert for how long?",
    "unmute.title": "🔕 Active mutes (tap one to lift it):",
    "unmute.line": "• {target} — until {until}",
    "unmute.all_types": "all alerts",
    "btn.unmute_one": "🔔 {target}",
    "tap.unmuted_one": "{target}: alerts are back on.",
    "tap.unmute_gone": "That mute has already ended.",
    "alert.loop_settled": "♻️ Restarted {count}× in {span}, running since {since}",
    "alert.loop_open": "♻️ Crashed {count}× in {span}",
    "alert.flap_settled": "🔁 Failed {count}× in {span}, fine again since {since}",
    "alert.flap_open": "🔁 Failing again: {count}× in {span}",
    # daily digest and its chart ([digest], /summary … chart)
    "daily.title": "📰 <b>Daily digest</b> · {since} → {until}",
    "daily.quiet": "✅ A quiet day: no incident, no fix.",
    "daily.incidents": "<b>{incidents} incident(s)</b> · {hits} matching line(s)",
    "daily.by_rule": "By type: {items}",
    "daily.by_host": "By host: {items}",
    "daily.fixes": "🔧 <b>Fixes</b>: {run} run · {ok} ok · {failed} failed",
    "daily.fix_line": "• {kind}: {ok} ok, {failed} failed",
    "daily.open": "📌 <b>Still open</b>: {count} ({items})",
    "daily.open_none": "📌 Nothing is open.",
    "daily.open_line": "• #{id} {rule} ×{count} on {host}",
    "daily.more": "…and {count} more",
    "chart.caption": "📊 {since} → {until}: new incidents per hour by type; disk usage per folder",
    "chart.incidents": "New incidents per hour, by type",
    "chart.incidents_hours": "New incidents per {hours} h, by type",
    "chart.disk": "Disk usage per folder (%)",
    "chart.no_incidents": "No incidents in this period",
    "chart.no_disk": "No disk readings in this period",
    "chart.others": "other types",
    "chart.time": "Time ({zone})",
    # -- noise control: maintenance windows, thresholds, [[ignore]] --------------------------
    "noise.span.s": "{n} s",
    "noise.span.min": "{n} min",
    "noise.span.h": "{n} h",
    "noise.span.d": "{n} d",
    "threshold.reached": "⏱ Threshold reached: {count} in {window}",
    "errors.ignored": "🙈 {count} line(s) ignored by [[ignore]] · last {age} ago",
    "maintenance.usage": (
        "Usage: /maintenance 30m [type=&lt;type&gt;] [host=&lt;name&gt;] to start one, "
        "/maintenance to list them, /maintenance off to end them. Types: {rules}"
    ),
    "maintenance.refused": "Viewers cannot start or end maintenance.",
    "maintenance.all_types": "all types",
    "maintenance.on_hosts": "{types} on {hosts}",
    "maintenance.started": (
        "🛠 Maintenance until {until} for {scope}: incidents are recorded, "
        "no alert, no automatic fix. One summary at the end."
    ),
    "maintenance.none": "No maintenance window is open.",
    "maintenance.title": "🛠 <b>Maintenance</b> · {count} window(s) open",
    "maintenance.line": "• {scope} until {until} ({left} left, scheduled)",
    "maintenance.line_adhoc": "• {scope} until {until} ({left} left)",
    "maintenance.ended": "🛠 Maintenance ended ({count} window(s)); the summary follows.",
    "maintenance.not_ended": "No ad-hoc maintenance window was open (scheduled ones go on).",
    "maintenance.over": "🛠 <b>Maintenance over</b> · {scope} · {since} → {until}",
    "maintenance.nothing": "Nothing happened meanwhile.",
    "maintenance.rule": "• <b>{rule}</b>: {opened} new incident(s), {repeats} repeat(s)",
    "maintenance.keys": "<b>Top keys</b>",
    "maintenance.key": "• {rule} <code>{value}</code> ×{hits}",
    "maintenance.recorded": "Recorded in /errors; alerts and automatic fixes resume now.",
    "status.maintenance": "🛠 Maintenance until {until} for {scope}: no alerts, no automatic fixes",
    # agents: several hosts, one store (adminbot/fleet/)
    "action.reason.remote_expired": "host {host} did not pick the fix up within {minutes} min",
    "tap.host_unreachable": "Host {host} is not reachable: nothing was run.",
    "tap.queued_for_host": "Sent to host {host}: {what}…",
    "alert.host": "🖥 Host: <b>{host}</b>",
    "status.hosts": "<b>Hosts</b>",
    "status.host_line": "🟢 <b>{host}</b> · heartbeat {at} ({ago} ago) · v{version}",
    "status.host_silent": "🔴 <b>{host}</b> · silent since {at} ({ago}) · v{version}",
    "status.host_file": "   • <code>{path}</code> · {size} · {lines} lines",
    "status.host_checks": "   checks: {checks}",
    "summary.by_host": "🖥 host {host}: {incidents} ({hits}×)",
}

ES: Mapping[str, str] = {
    "channel.severity.info": "INFORMACIÓN",
    "channel.severity.warning": "AVISO",
    "channel.severity.error": "FALLO",
    "channel.severity.critical": "CRÍTICO",
    "channel.title": "{severity} · {rule} en {host}",
    "channel.host": "Servidor: {host}",
    "channel.rule": "Tipo: {rule} (incidencia #{id})",
    "channel.file": "Archivo: {file}",
    "channel.at": "Visto por primera vez: {at}",
    "channel.link": "Detalles: {link}",
    "channel.act": "Actúa en Telegram: allí están los botones.",
    "channel.test_title": "Mensaje de prueba de adminbot",
    "channel.http": "el servicio respondió HTTP {status}",
    "channel.refused_url": "Apprise no puede usar su URL",
    "channel.test_body": "Este canal recibe los avisos de adminbot.",
    "channel.failed": (
        "📵 <b>Canal de avisos #{index}</b> ({name}) ha fallado definitivamente"
        " y ya no se intenta: {reason}"
    ),
    "status.channel_ok": "📨 Canal {name}: bien, {queued} en cola",
    "status.channel_failing": "📨 Canal {name}: falla desde {since}, {queued} en cola",
    "status.channel_dead": "📵 Canal {name}: ha fallado definitivamente ({reason})",
    "severity.info": "ℹ️ INFO",
    "severity.warning": "🟡 AVISO",
    "severity.error": "🟠 ERROR",
    "severity.critical": "🔴 CRÍTICO",
    "state.open": "abierto",
    "state.acknowledged": "visto",
    "state.fixing": "arreglando…",
    "state.resolved": "resuelto",
    "state.ignored": "ignorado",
    "recoverable": "recuperable",
    "critical_note": "requiere atención ya",
    "alert.file": "Archivo",
    "alert.count": "Visto {count}× · primero {first} · último {last}",
    "alert.state": "Estado",
    "alert.muted": "🔕 Silenciada hasta {until}",
    "alert.no_fix": "🚫 Sin arreglo: {why}",
    "alert.waiting_server": "⏳ Esperando al servidor Bot API (caído desde {since})",
    "alert.done": "{icon} {summary} — {actor}, {when}",
    "delivery.repeated": "↩️ <i>Posible repetición: puede que ya llegara una copia.</i>",
    "storm.title": "🌩 <b>Tormenta · {rule}</b>: {count} incidentes nuevos desde {since}",
    "storm.title_over": (
        "🌤 <b>Fin de la tormenta · {rule}</b>: {count} incidentes nuevos, {since} → {until}"
    ),
    "storm.hits": "{hits} líneas coincidentes · última {last}",
    "storm.keys": "<b>Claves más frecuentes</b>",
    "storm.key_line": "• <code>{value}</code> ×{count}",
    "storm.files": "<b>Archivos</b>",
    "storm.file_line": "• <code>{path}</code> ({count})",
    "storm.note": "Las alertas de este tipo se agrupan aquí hasta que amaine.",
    "storm.resumed": "Las alertas de este tipo vuelven a llegar una a una.",
    "btn.storm_list": "📋 Ver la lista",
    "btn.retry": "🔁 Reintentar",
    "btn.chown": "🔑 Chown",
    "btn.mkdir": "📁 Crear carpeta",
    "btn.clean_retry": "🧹 Limpiar y reintentar",
    "btn.quarantine": "🗃 Cuarentena",
    "btn.restart_container": "♻️ Reiniciar contenedor",
    "btn.restart_process": "♻️ Reiniciar pipeline",
    "btn.resolve": "✅ Arreglado",
    "btn.ignore": "🙈 Ignorar",
    "btn.mute": "🔕 Silenciar…",
    "btn.unmute": "🔔 Reactivar",
    "btn.context": "🔎 Contexto",
    "btn.log": "📄 Registro",
    "btn.kind_ignore": "🙈 Ignorar este tipo",
    "btn.make_rule": "🧩 Crear regla",
    "btn.rule_confirm": "✅ Confirmar la regla",
    "rule.title": "🧩 <b>Regla propuesta a partir del tipo #{kind}</b>",
    "rule.name": "Nombre: <code>{name}</code>",
    "rule.pattern": "Expresión regular: <code>{pattern}</code>",
    "rule.template": "Tipo: <code>{template}</code>",
    "rule.samples": "Coincide con {matched} de las {samples} líneas de muestra guardadas del tipo.",
    "rule.lines": (
        "Últimas 24 h: coincide con {matched} de las {lines} líneas que el almacén guarda de "
        "los {incidents} incidentes vistos (hasta las 20 últimas de cada uno)."
    ),
    "rule.own": "Recoge la alerta de este tipo: {list}.",
    "rule.new_kinds": "También recogería otros tipos nuevos: {list}.",
    "rule.takes": (
        "⚠️ Se quedaría con incidentes de reglas existentes "
        "(una regla creada aquí se prueba primero): {list}."
    ),
    "rule.takes_none": "No quita nada a las reglas existentes.",
    "rule.confirm_hint": "Confirma para activarla ya; sus líneas se alertan como {name}.",
    "rule.made": "✅ La regla <code>{name}</code> está activa, creada por {actor}.",
    "tap.rule_made": "La regla {name} está activa.",
    "rule.refused.no_kind": "Ese tipo ya no se conoce.",
    "rule.refused.decided": "Ya se creó una regla de este tipo, o se ignoró.",
    "rule.refused.undraftable": (
        "No se puede proponer una regla de este tipo: su plantilla no tiene palabras."
    ),
    "rule.refused.stale": "Esta propuesta está desfasada: pulsa Crear regla otra vez.",
    "evidence.title": "<b>#{id} · {file}</b> líneas {first}–{last}",
    "evidence.moved": "⚠️ La línea {line} ya no está donde estaba (el archivo rotó o se recortó).",
    "evidence.gone": "El archivo ya no se puede leer: {why}",
    "evidence.not_watched": "adminbot no vigila ese archivo: no se lee.",
    "evidence.no_line": "Esta alerta no tiene línea de log que mostrar.",
    "evidence.log_caption": "#{id} · últimas {count} líneas hasta la línea {line} de {file}",
    "tap.kind_ignored": "Tipo #{kind} ignorado: sus líneas se cuentan, nunca se alertan.",
    "btn.prev": "◀️ Recientes",
    "btn.next": "Anteriores ▶️",
    "tap.invalid": "Este botón ya no es válido.",
    "tap.closed": "Ya está {state}.",
    "tap.busy": "Ya en curso.",
    "tap.running": "Ejecutando: {what}…",
    "tap.ignored": "Ignorado.",
    "tap.muted": "{rule} silenciado hasta {until}.",
    "tap.muted_key": "Esta alerta queda silenciada hasta {until}; sus arreglos siguen.",
    "tap.unmuted": "Vuelven los avisos sobre ella.",
    "tap.resolved": "Marcado como arreglado.",
    "tap.unavailable": "Esa acción no está configurada aquí.",
    "actor.policy": "automático",
    "started": "🟢 <b>adminbot en marcha</b>\nVigilando {files}. /help lista los comandos.",
    "help": (
        "<b>adminbot</b> vigila los logs del pipeline y te avisa aquí.\n"
        "Vigilando: {files}\n\n"
        "/status — salud, archivos, disco, incidencias abiertas\n"
        "/errors [tipo] [n] — incidencias recientes\n"
        "/summary [24h] [chart] — qué ha pasado, con un gráfico\n"
        "/mute &lt;tipo|all&gt; [1h] — silenciar avisos un tiempo (una hora si no se dice)\n"
        "/unmute [tipo|all] — reactivar avisos; solo, los silencios con un botón cada uno\n"
        "/maintenance [30m|off] — sin avisos mientras trabajas\n"
        "/kinds — tipos de error que ninguna regla conoce"
    ),
    "status.title": "<b>Estado</b> · activo {uptime}",
    "status.files": "<b>Archivos vigilados</b>",
    "status.file": "• <code>{path}</code> {size}, última línea {age}",
    "status.file_quiet": (
        "• <code>{path}</code> {size}, ninguna línea nueva desde el inicio "
        "(última escritura hace {age})"
    ),
    "status.file_waiting": "• <code>{path}</code> {size}, ninguna línea nueva desde el inicio",
    "status.file_problem": "• <code>{path}</code> ⚠️ {problem}",
    "status.no_files": "• ninguno todavía",
    "status.more_files": "• … y {count} más",
    "status.disk": "<b>Disco</b>",
    "status.disk_line": "• <code>{path}</code> {percent:.0f}% usado, {free} libres",
    "status.host": "<b>Equipo</b> CPU {cpu:.0f}% · RAM {mem:.0f}% · adminbot {rss}",
    "status.checks": "<b>Comprobaciones</b>",
    "status.check_line": "• {icon} {name}: {summary}",
    "status.open": "<b>Incidencias abiertas</b>",
    "status.open_line": "• {rule}: {count}",
    "status.none": "• ninguna",
    "status.mutes": "<b>Silenciado</b>",
    "status.mute_line": "• {target} hasta {until}",
    "status.outbox": "⏳ {count} aviso(s) pendientes de entrega",
    "errors.title": "<b>Incidencias</b> {filter}· página {page}",
    "errors.none": "Sin incidencias{filter}.",
    "errors.line": "{icon} #{id} <b>{rule}</b> ×{count} · {state} · hace {age}",
    "errors.usage": "Uso: /errors [tipo] [n]. Tipos: {rules}",
    "kinds.title": "<b>Tipos de error sin regla</b> · {count} en total, los últimos primero",
    "kinds.none": "Aún no se ha visto ningún error sin regla.",
    "kinds.line": (
        "• #{id} <code>{template}</code>\n   ×{count} · primero {first} · último {last} · {state}"
    ),
    "kinds.state.new": "nuevo",
    "kinds.state.learned": "aprendido, sin aviso",
    "kinds.state.ruled": "con regla",
    "kinds.state.ignored": "ignorado",
    "kinds.more": "… y {count} más (no se muestran los más antiguos)",
    "summary.title": "<b>Resumen</b> desde {since}",
    "summary.session_title": "<b>Resumen de sesión</b> · {since} → {until}",
    "summary.lines": "Líneas leídas: {lines}",
    "summary.incidents": "Incidencias: {incidents} ({occurrences} apariciones)",
    "summary.by_rule": "• {rule}: {incidents} ({hits}×)",
    "summary.actions": "Acciones: {run} ejecutadas · {ok} bien · {failed} fallidas",
    "summary.top": "<b>Errores más frecuentes</b>",
    "summary.top_line": "• #{id} {rule} ×{count}",
    "summary.open": "Siguen abiertas: {open}",
    "summary.resolution": "Mediana hasta arreglo: {duration}",
    "summary.usage": (
        "Uso: /summary [periodo] [chart], p. ej. /summary 24h, /summary 7d o /summary 24h chart"
    ),
    "mute.usage": (
        "Uso: /mute &lt;tipo|all&gt; [duración], p. ej. /mute timeout 1h. Tipos: {rules}"
    ),
    "mute.done": "🔕 {target} silenciado hasta {until}. Se sigue registrando.",
    "mute.expired": "🔔 Terminó el silencio de {target}.",
    "unmute.done": "🔔 Avisos reactivados ({count} silencio(s) quitados).",
    "unmute.none": "No había nada silenciado.",
    "check.flip": "{icon} <b>{name}</b>: {old} → {new}\n{summary}",
    "check.first": "{icon} <b>{name}</b>: {new}\n{summary}",
    "check.recovered": "✅ <b>{name}</b> recuperado\n{summary}",
    "action.auto": "🤖 Automático: {summary}",
    "check.state.ok": "bien",
    "check.state.warning": "aviso",
    "check.state.critical": "crítico",
    "check.state.unknown": "desconocido",
    "selfwatch.failing": "⚠️ <b>adminbot {part}</b> falla: {detail}",
    "selfwatch.ok": "✅ <b>adminbot {part}</b> vuelve a funcionar: {detail}",
    "stopping": "🛑 adminbot se detiene.",
    "store.damaged.empty": (
        "🗄️ <b>El almacén de adminbot estaba vacío</b> a las {when} (se vació con "
        "adminbot parado); se empezó uno nuevo."
    ),
    "store.damaged.missing": (
        "🗄️ <b>El almacén de adminbot no estaba</b> a las {when} (se borró con adminbot "
        "parado); se empezó uno nuevo."
    ),
    "store.damaged.check_failed": (
        "🗄️ <b>El almacén de adminbot estaba dañado</b> (visto al arrancar, {when}); se "
        "empezó uno nuevo. Las incidencias, la auditoría y los mensajes en cola "
        "anteriores quedan en el archivo viejo."
    ),
    "store.damaged.malformed": (
        "🗄️ <b>El almacén de adminbot se dañó</b> a las {when}; se empezó uno nuevo. Las "
        "incidencias, la auditoría y los mensajes en cola anteriores quedan en el archivo"
        " viejo."
    ),
    "store.moved": "El archivo viejo se guarda para revisarlo: <code>{path}</code>",
    "store.resume.positions": (
        "La lectura de los logs siguió desde las posiciones de {files} archivo(s) "
        "guardadas a las {when}: se leen las líneas escritas entretanto; alguna puede "
        "contarse dos veces."
    ),
    "store.resume.current": (
        "La lectura de los logs siguió desde donde estaba: no se saltó ninguna línea."
    ),
    "store.resume.unknown": (
        "No había posiciones guardadas: los logs se leen desde su final, así que no se "
        "leen las líneas escritas con adminbot parado."
    ),
    "btn.ack": "👤 Me encargo",
    "tap.acked": "Te encargas tú; no habrá más recordatorios.",
    "tap.viewer": "Los observadores no pueden lanzar arreglos ni cambiar incidencias.",
    "alert.on_it": "👤 {who} se encarga · {when}",
    "digest.title": "🌙 Terminaron las horas de silencio. {count} aviso(s) retenidos:",
    "digest.line": "{icon} #{id} <b>{rule}</b> ×{count} · desde {when}",
    "remind.text": (
        "⏰ Sigue abierto y nadie lo atiende: #{id} <b>{rule}</b> ×{count}, desde {when} ({age})."
    ),
    "store.full": (
        "💾 <b>La carpeta de datos de adminbot está llena</b> ({when}): el historial está "
        "en pausa. Los avisos se envían desde la memoria hasta que vuelva a haber sitio."
    ),
    "store.writable": (
        "💾 La carpeta de datos de adminbot vuelve a tener sitio ({when}): el historial se"
        " registra de nuevo."
    ),
    "store.unrecorded": (
        "💾 <b>{records} registro(s) de error sin guardar</b> (carpeta de datos llena): "
        "{lines} línea(s) de <code>{source}</code>, líneas {first}–{last} ({rules}). Se "
        "leyeron y la lectura siguió adelante; sus incidencias faltan en el historial."
    ),
    "unit.s": "s",
    "unit.m": "min",
    "unit.h": "h",
    "unit.d": "d",
    "notice.unreadable": "⚠️ adminbot no pudo leer un aviso en cola ({kind}).",
    "summary.child_exit": "Pipeline detenido (código de salida {code}).",
    "summary.child_signal": "Pipeline detenido (señal {signal}).",
    "status.pipeline": (
        "Pipeline: pid {pid}, activo {uptime}, {restarts} reinicio(s), CPU {cpu}%, RAM {rss}"
    ),
    "status.pipeline_down": "Pipeline: parado ({restarts} reinicio(s))",
    "status.quarantine": (
        "Cuarentena: {files} archivo(s), {size}; el más reciente <code>{newest}</code>"
    ),
    "status.store": "Almacén: {size}; los incidentes cerrados se guardan {days:g} días",
    "predict.status_title": "<b>Previsión</b>",
    "predict.disk": ("a este ritmo <code>{folder}</code> se llena en ~{eta} (se llena a {rate}/h)"),
    "predict.rate": (
        "{rule} a {factor}× su ritmo habitual ({per_hour} líneas/h, lo habitual {usual})"
    ),
    "predict.eta_hm": "{hours} h {minutes} min",
    "predict.eta_h": "{hours} h",
    "predict.eta_m": "{minutes} min",
    "status.store_forever": "Almacén: {size}; los incidentes cerrados se guardan siempre",
    "alert.report": "📊 {title} — {actor}, {when}",
    "disk.title": "Uso del disco",
    "disk.folder": "• <code>{path}</code> {percent:.0f}% ocupado, {free} libres",
    "disk.folder_error": "• <code>{path}</code>: {error}",
    "disk.largest": "  Carpetas más grandes:",
    "disk.largest_partial": "  Carpetas más grandes (el recuento se cortó antes de acabar):",
    "disk.subfolder": "  ◦ {name} — {size}",
    "disk.loose_files": "(archivos sueltos)",
    "action.kind.retry": "reintento",
    "action.kind.chown": "cambio de dueño",
    "action.kind.mkdir": "creación de carpeta",
    "action.kind.clean_retry": "limpieza y reintento",
    "action.kind.restart_container": "reinicio del contenedor",
    "action.kind.restart_process": "reinicio del pipeline",
    "action.kind.quarantine": "cuarentena",
    "action.problem.exit": "código de salida {exit_code}",
    "action.problem.output": "código de salida {exit_code}: {output}",
    "action.problem.missing": "código de salida 0 pero falta {missing}",
    "action.problem.error": "{error}",
    "action.reason.text": "{text}",
    "action.reason.refused": "rechazado: {why}",
    "action.reason.docker_error": "Docker: {error}",
    "action.reason.os_error": "{action} falló: {error}",
    "action.reason.crashed": "{action} se interrumpió por un error: {error}",
    "action.reason.retry_ok": "reintento correcto (intento {attempt} de {attempts})",
    "action.reason.retry_failed": "el reintento falló tras {attempt} intento(s): {problem}",
    "action.reason.chown_ok": "dueño de {path} cambiado a {owner}",
    "action.reason.chown_ok_sudo": "dueño cambiado a {owner} (sudo)",
    "action.reason.chown_failed": "chown falló: {problem}",
    "action.reason.sudo_password": (
        "sudo pide contraseña: permite a adminbot ejecutar chown sin ella"
    ),
    "action.reason.sudo_denied": (
        "sudo no permite a adminbot ejecutar chown: añade una regla en sudoers"
    ),
    "action.reason.folder_exists": "la carpeta ya existe",
    "action.reason.folders_created": "creada(s) {count} carpeta(s): {path}",
    "action.reason.folders_created_partly": "creada(s) {count} carpeta(s), pero",
    "action.reason.quarantined": "movido a cuarentena: {name}",
    "action.reason.restart_failed": "no se pudo reiniciar: {error}",
    "action.reason.container_restarted": "contenedor {container} reiniciado",
    "action.reason.container_restarted_api": (
        "contenedor {container} reiniciado y la Bot API responde"
    ),
    "action.reason.docker_lost": "reiniciado, pero Docker dejó de responder: {error}",
    "action.reason.api_silent": (
        "el contenedor {container} está en marcha, pero la Bot API no responde tras {seconds} s"
    ),
    "action.reason.container_down": (
        "reiniciado, pero el contenedor {container} está {status} tras {seconds} s"
    ),
    "action.reason.budget_used_up": "{action} automático omitido: cupo agotado",
    "action.reason.child_budget_used_up": (
        "cupo de reinicios agotado ({budget} en {minutes} min): esperando tu decisión"
    ),
    "action.reason.child_stopping": "sin reiniciar: adminbot se está deteniendo",
    "action.reason.child_restarted": "reiniciado, pid {pid}",
    "check.exit_code": " (código de salida {exit_code})",
    "check.reason.note": "{text}",
    "check.reason.timed_out": "sin resultado en {seconds} s",
    "check.reason.check_failed": "la comprobación falló: {error}",
    "check.reason.disk_read_pending": (
        "{path}: la lectura anterior de uso no ha vuelto (¿montaje colgado?)"
    ),
    "check.reason.disk_missing": "{path} no existe (¿sin montar, o ruta errónea?)",
    "check.reason.disk_unreadable": "no se puede leer el uso de {path}: {error}",
    "check.reason.disk_usage": "{path} {percent}% ocupado, {free} libres",
    "check.reason.fds_usage": "{used} de {limit} descriptores de archivo abiertos ({percent}%)",
    "check.reason.disk_percent_limit": (
        "{path} {percent}% ocupado, {free} libres ({level} desde {limit}%)"
    ),
    "check.reason.disk_free_limit": (
        "{path} {percent}% ocupado, {free} libres ({level} por debajo de {limit})"
    ),
    "check.reason.api_silent": "el servidor Bot API {server} no respondió en {seconds} s",
    "check.reason.api_unreachable": "servidor Bot API {server} inalcanzable: {error}",
    "check.reason.api_server_error": "el servidor Bot API {server} respondió HTTP {status}",
    "check.reason.api_unchecked": (
        "el servidor Bot API {server} responde (sin token configurado: getMe sin comprobar)"
    ),
    "check.reason.api_rejected": (
        "el servidor Bot API {server} funciona pero rechaza el token del bot (401): revisa el token"
    ),
    "check.reason.api_ok": "servidor Bot API {server} correcto",
    "check.reason.api_ok_bot": "servidor Bot API {server} correcto, bot @{username}",
    "check.reason.api_bad_reply": (
        "el servidor Bot API {server} respondió HTTP {status}: {description}"
    ),
    "check.reason.api_not_bot_api": (
        "el servidor Bot API {server} respondió HTTP {status} sin el JSON de la Bot API"
    ),
    "check.reason.docker_unreachable": "no se puede consultar a Docker por {container}: {error}",
    "check.reason.container_missing": "el contenedor {container} no existe",
    "check.reason.container_restarting": (
        "el contenedor {container} se está reiniciando (¿bucle de fallos?)"
    ),
    "check.reason.container_paused": "el contenedor {container} está en pausa",
    "check.reason.container_unhealthy": (
        "el contenedor {container} está en marcha pero no está sano"
    ),
    "check.reason.container_running": "el contenedor {container} está en marcha",
    "check.reason.container_running_health": "el contenedor {container} está en marcha ({health})",
    "check.reason.container_stopped": "el contenedor {container} está {status}",
    "check.reason.container_created": "el contenedor {container} se creó pero nunca arrancó",
    "check.reason.container_odd": "el contenedor {container} indica el estado '{status}'",
    "check.reason.process_missing_named": "no hay ningún proceso llamado '{process}' en marcha",
    "check.reason.process_missing_cmdline": (
        "no hay ningún proceso con '{cmdline}' en su línea de órdenes"
    ),
    "check.reason.process_missing_both": (
        "no hay ningún proceso llamado '{process}' con '{cmdline}' en su línea de órdenes"
    ),
    "check.reason.pid_file_missing": "falta el archivo de pid {pid_file}: ¿no está en marcha?",
    "check.reason.pid_file_unreadable": "no se puede leer el archivo de pid {pid_file}: {error}",
    "check.reason.pid_file_garbled": (
        "el archivo de pid {pid_file} contiene '{text}', que no es un pid"
    ),
    "check.reason.pid_stale": "archivo de pid {pid_file} caducado: el pid {pid} no está en marcha",
    "check.reason.pid_reused": (
        "archivo de pid {pid_file} caducado: el pid {pid} es ahora '{name}', otro proceso"
    ),
    "check.reason.process_zombie": "el pid {pid} ({name}) es un zombi: terminó y nadie lo recogió",
    "check.reason.process_vanished": "el pid {pid} ({name}) terminó durante la comprobación",
    "check.reason.process_up": "pid {pid} ({name}) activo {uptime}, CPU {cpu}%, RAM {rss}",
    "check.reason.log_waiting": (
        "aún no se ha visto ninguna línea (vigilando desde hace {waited}, límite {limit})"
    ),
    "check.reason.log_fresh": "última línea hace {quiet}",
    "check.reason.log_silent": "ninguna línea nueva desde hace {quiet} (límite {limit})",
    "check.reason.log_silent_alive": (
        "ninguna línea nueva desde hace {quiet} (límite {limit}) con el proceso vivo"
    ),
    "check.reason.log_silent_dead": (
        "ninguna línea nueva desde hace {quiet} (límite {limit}), y el proceso no está en "
        "marcha: mira la comprobación del proceso"
    ),
    "check.reason.log_never": "ninguna línea en {waited} de vigilancia (límite {limit})",
    "check.reason.log_never_alive": (
        "ninguna línea en {waited} de vigilancia (límite {limit}) con el proceso vivo"
    ),
    "check.reason.log_never_dead": (
        "ninguna línea en {waited} de vigilancia (límite {limit}), y el proceso no está en "
        "marcha: mira la comprobación del proceso"
    ),
    # -- web dashboard (/dashboard) --
    "dashboard.link": (
        '🔗 <a href="{url}">Abrir el panel</a>\n'
        "El enlace sirve una vez y durante 10 minutos; no lo reenvíes."
    ),
    "dashboard.off": "El panel está apagado: pon <code>[web] enabled = true</code>.",
    "dashboard.private": "Envíame /dashboard en un chat privado: el enlace entra como tú.",
    # mute choices, /unmute list, crash loops, forum topics (issue 13)
    "btn.mute_for": "🔕 {hours} h",
    "btn.back": "↩️ Volver",
    "tap.mute_choose": "¿Cuánto tiempo silenciar esta alerta?",
    "unmute.title": "🔕 Silencios activos (toca uno para quitarlo):",
    "unmute.line": "• {target} — hasta {until}",
    "unmute.all_types": "todas las alertas",
    "btn.unmute_one": "🔔 {target}",
    "tap.unmuted_one": "{target}: vuelven los avisos.",
    "tap.unmute_gone": "Ese silencio ya había terminado.",
    "alert.loop_settled": "♻️ Reiniciado {count}× en {span}, en marcha desde {since}",
    "alert.loop_open": "♻️ Caído {count}× en {span}",
    "alert.flap_settled": "🔁 Falló {count}× en {span}, bien de nuevo desde {since}",
    "alert.flap_open": "🔁 Falla otra vez: {count}× en {span}",
    # daily digest and its chart ([digest], /summary … chart)
    "daily.title": "📰 <b>Resumen del día</b> · {since} → {until}",
    "daily.quiet": "✅ Un día tranquilo: ninguna incidencia, ningún arreglo.",
    "daily.incidents": "<b>{incidents} incidencia(s)</b> · {hits} línea(s) coincidentes",
    "daily.by_rule": "Por tipo: {items}",
    "daily.by_host": "Por servidor: {items}",
    "daily.fixes": "🔧 <b>Arreglos</b>: {run} ejecutados · {ok} bien · {failed} fallidos",
    "daily.fix_line": "• {kind}: {ok} bien, {failed} fallidos",
    "daily.open": "📌 <b>Siguen abiertas</b>: {count} ({items})",
    "daily.open_none": "📌 No queda nada abierto.",
    "daily.open_line": "• #{id} {rule} ×{count} en {host}",
    "daily.more": "…y {count} más",
    "chart.caption": (
        "📊 {since} → {until}: incidencias nuevas por hora y tipo; uso de disco por carpeta"
    ),
    "chart.incidents": "Incidencias nuevas por hora, por tipo",
    "chart.incidents_hours": "Incidencias nuevas cada {hours} h, por tipo",
    "chart.disk": "Uso de disco por carpeta (%)",
    "chart.no_incidents": "Ninguna incidencia en este periodo",
    "chart.no_disk": "Ninguna lectura de disco en este periodo",
    "chart.others": "otros tipos",
    "chart.time": "Hora ({zone})",
    # -- noise control: maintenance windows, thresholds, [[ignore]] --------------------------
    "noise.span.s": "{n} s",
    "noise.span.min": "{n} min",
    "noise.span.h": "{n} h",
    "noise.span.d": "{n} d",
    "threshold.reached": "⏱ Umbral alcanzado: {count} en {window}",
    "errors.ignored": "🙈 {count} línea(s) ignoradas por [[ignore]] · la última hace {age}",
    "maintenance.usage": (
        "Uso: /maintenance 30m [type=&lt;tipo&gt;] [host=&lt;nombre&gt;] para empezar, "
        "/maintenance para verlas, /maintenance off para terminarlas. Tipos: {rules}"
    ),
    "maintenance.refused": "Los observadores no pueden empezar ni terminar mantenimientos.",
    "maintenance.all_types": "todos los tipos",
    "maintenance.on_hosts": "{types} en {hosts}",
    "maintenance.started": (
        "🛠 Mantenimiento hasta las {until} para {scope}: las incidencias se registran, "
        "sin avisos ni arreglos automáticos. Un resumen al final."
    ),
    "maintenance.none": "No hay ninguna ventana de mantenimiento abierta.",
    "maintenance.title": "🛠 <b>Mantenimiento</b> · {count} ventana(s) abiertas",
    "maintenance.line": "• {scope} hasta las {until} (quedan {left}, programada)",
    "maintenance.line_adhoc": "• {scope} hasta las {until} (quedan {left})",
    "maintenance.ended": "🛠 Mantenimiento terminado ({count} ventana(s)); sigue el resumen.",
    "maintenance.not_ended": (
        "No había ningún mantenimiento manual abierto (los programados siguen)."
    ),
    "maintenance.over": "🛠 <b>Fin del mantenimiento</b> · {scope} · {since} → {until}",
    "maintenance.nothing": "No ha pasado nada mientras tanto.",
    "maintenance.rule": (
        "• <b>{rule}</b>: {opened} incidencia(s) nueva(s), {repeats} repetición(es)"
    ),
    "maintenance.keys": "<b>Claves principales</b>",
    "maintenance.key": "• {rule} <code>{value}</code> ×{hits}",
    "maintenance.recorded": "Registrado en /errors; los avisos y arreglos automáticos vuelven ya.",
    "status.maintenance": (
        "🛠 Mantenimiento hasta las {until} para {scope}: sin avisos ni arreglos automáticos"
    ),
    # agents: several hosts, one store (adminbot/fleet/)
    "action.reason.remote_expired": "el servidor {host} no recogió el arreglo en {minutes} min",
    "tap.host_unreachable": "El servidor {host} no responde: no se ha ejecutado nada.",
    "tap.queued_for_host": "Enviado al servidor {host}: {what}…",
    "alert.host": "🖥 Servidor: <b>{host}</b>",
    "status.hosts": "<b>Servidores</b>",
    "status.host_line": "🟢 <b>{host}</b> · latido {at} (hace {ago}) · v{version}",
    "status.host_silent": "🔴 <b>{host}</b> · en silencio desde {at} ({ago}) · v{version}",
    "status.host_file": "   • <code>{path}</code> · {size} · {lines} líneas",
    "status.host_checks": "   comprobaciones: {checks}",
    "summary.by_host": "🖥 servidor {host}: {incidents} ({hits}×)",
}

CATALOGS: Mapping[str, Mapping[str, str]] = {"en": EN, "es": ES}

COMMANDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "status": "Health, files, disk and open incidents",
        "errors": "Recent incidents: /errors [type] [n]",
        "summary": "What happened: /summary [24h] [chart]",
        "mute": "Silence alerts: /mute <type|all> [1h]",
        "unmute": "Active mutes, each with a button to lift it",
        "maintenance": "Maintenance: /maintenance [30m|off] [type=…] [host=…]",
        "kinds": "Kinds of error no rule knows",
        "dashboard": "A one-time link to the web dashboard",
        "help": "What this bot does",
    },
    "es": {
        "status": "Salud, archivos, disco e incidencias",
        "errors": "Incidencias recientes: /errors [tipo] [n]",
        "summary": "Qué ha pasado: /summary [24h] [chart]",
        "mute": "Silenciar: /mute <tipo|all> [1h]",
        "unmute": "Silencios activos, cada uno con su botón",
        "maintenance": "Mantenimiento: /maintenance [30m|off] [type=…] [host=…]",
        "kinds": "Tipos de error sin regla",
        "dashboard": "Un enlace de un solo uso al panel web",
        "help": "Qué hace este bot",
    },
}


class Catalog:
    """Looks up templates for one language, falling back to English for a missing key."""

    def __init__(self, language: str = "en") -> None:
        self.language = language if language in CATALOGS else "en"
        self._table = CATALOGS[self.language]

    def template(self, key: str) -> str:
        """The raw template, for callers that fill it themselves."""
        return self._table.get(key) or EN[key]

    def __call__(self, key: str, **values: object) -> str:
        template = self.template(key)
        return template.format(**values) if values else template
