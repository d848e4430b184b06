"""The message catalog: every user-facing string, in English and Spanish, in one table.

Values are `str.format` templates. Callers pass already HTML-escaped values where the
text goes out as HTML; the templates themselves hold only Telegram's HTML tags.
"""

from __future__ import annotations

from collections.abc import Mapping

EN: Mapping[str, str] = {
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
    "alert.done": "{icon} {summary} — {actor}, {when}",
    "btn.retry": "🔁 Retry",
    "btn.chown": "🔑 Chown",
    "btn.mkdir": "📁 Create folder",
    "btn.clean_retry": "🧹 Clean & retry",
    "btn.restart_container": "♻️ Restart container",
    "btn.restart_process": "♻️ Restart bot",
    "btn.resolve": "✅ Mark fixed",
    "btn.ignore": "🙈 Ignore",
    "btn.mute": "🔕 Mute 1 h",
    "btn.prev": "◀️ Newer",
    "btn.next": "Older ▶️",
    "tap.invalid": "This button is no longer valid.",
    "tap.closed": "Already {state}.",
    "tap.busy": "Already in progress.",
    "tap.running": "Running: {what}…",
    "tap.ignored": "Ignored.",
    "tap.muted": "Muted {rule} until {until}.",
    "tap.resolved": "Marked as fixed.",
    "tap.unavailable": "That action is not configured here.",
    "actor.policy": "automatic",
    "started": "🟢 <b>adminbot is up</b>\nWatching {files}. /help lists the commands.",
    "help": (
        "<b>adminbot</b> watches the pipeline's logs and alerts you here.\n"
        "Watching: {files}\n\n"
        "/status — health, files, disk, open incidents\n"
        "/errors [type] [n] — recent incidents\n"
        "/summary [24h] — what happened\n"
        "/mute &lt;type|all&gt; &lt;1h&gt; — stop alerts for a while\n"
        "/unmute [type] — alerts back on"
    ),
    "status.title": "<b>Status</b> · up {uptime}",
    "status.files": "<b>Watched files</b>",
    "status.file": "• <code>{path}</code> {size}, last line {age}",
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
    "age.never": "never",
    "errors.title": "<b>Incidents</b> {filter}· page {page}",
    "errors.none": "No incidents{filter}.",
    "errors.line": "{icon} #{id} <b>{rule}</b> ×{count} · {state} · {age} ago",
    "errors.usage": "Usage: /errors [type] [n]. Types: {rules}",
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
    "summary.usage": "Usage: /summary [period], e.g. /summary 24h or /summary 7d",
    "mute.usage": (
        "Usage: /mute &lt;type|all&gt; &lt;duration&gt;, e.g. /mute timeout 1h. Types: {rules}"
    ),
    "mute.done": "🔕 {target} muted until {until}. Still recorded.",
    "mute.expired": "🔔 Mute of {target} has expired.",
    "unmute.done": "🔔 Alerts back on ({count} mute(s) removed).",
    "unmute.none": "Nothing was muted.",
    "check.flip": "{icon} <b>{name}</b>: {old} → {new}\n{summary}",
    "check.recovered": "✅ <b>{name}</b> recovered\n{summary}",
    "action.auto": "🤖 Automatic: {summary}",
    "check.state.ok": "ok",
    "check.state.warning": "warning",
    "check.state.critical": "critical",
    "check.state.unknown": "unknown",
    "selfwatch.failing": "⚠️ <b>adminbot {part}</b> is failing: {detail}",
    "selfwatch.ok": "✅ <b>adminbot {part}</b> works again: {detail}",
    "stopping": "🛑 adminbot is stopping.",
}

ES: Mapping[str, str] = {
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
    "alert.done": "{icon} {summary} — {actor}, {when}",
    "btn.retry": "🔁 Reintentar",
    "btn.chown": "🔑 Chown",
    "btn.mkdir": "📁 Crear carpeta",
    "btn.clean_retry": "🧹 Limpiar y reintentar",
    "btn.restart_container": "♻️ Reiniciar contenedor",
    "btn.restart_process": "♻️ Reiniciar bot",
    "btn.resolve": "✅ Arreglado",
    "btn.ignore": "🙈 Ignorar",
    "btn.mute": "🔕 Silenciar 1 h",
    "btn.prev": "◀️ Recientes",
    "btn.next": "Anteriores ▶️",
    "tap.invalid": "Este botón ya no es válido.",
    "tap.closed": "Ya está {state}.",
    "tap.busy": "Ya en curso.",
    "tap.running": "Ejecutando: {what}…",
    "tap.ignored": "Ignorado.",
    "tap.muted": "{rule} silenciado hasta {until}.",
    "tap.resolved": "Marcado como arreglado.",
    "tap.unavailable": "Esa acción no está configurada aquí.",
    "actor.policy": "automático",
    "started": "🟢 <b>adminbot en marcha</b>\nVigilando {files}. /help lista los comandos.",
    "help": (
        "<b>adminbot</b> vigila los logs del pipeline y te avisa aquí.\n"
        "Vigilando: {files}\n\n"
        "/status — salud, archivos, disco, incidencias abiertas\n"
        "/errors [tipo] [n] — incidencias recientes\n"
        "/summary [24h] — qué ha pasado\n"
        "/mute &lt;tipo|all&gt; &lt;1h&gt; — silenciar avisos un tiempo\n"
        "/unmute [tipo] — reactivar avisos"
    ),
    "status.title": "<b>Estado</b> · activo {uptime}",
    "status.files": "<b>Archivos vigilados</b>",
    "status.file": "• <code>{path}</code> {size}, última línea {age}",
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
    "age.never": "nunca",
    "errors.title": "<b>Incidencias</b> {filter}· página {page}",
    "errors.none": "Sin incidencias{filter}.",
    "errors.line": "{icon} #{id} <b>{rule}</b> ×{count} · {state} · hace {age}",
    "errors.usage": "Uso: /errors [tipo] [n]. Tipos: {rules}",
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
    "summary.usage": "Uso: /summary [periodo], p. ej. /summary 24h o /summary 7d",
    "mute.usage": (
        "Uso: /mute &lt;tipo|all&gt; &lt;duración&gt;, p. ej. /mute timeout 1h. Tipos: {rules}"
    ),
    "mute.done": "🔕 {target} silenciado hasta {until}. Se sigue registrando.",
    "mute.expired": "🔔 Terminó el silencio de {target}.",
    "unmute.done": "🔔 Avisos reactivados ({count} silencio(s) quitados).",
    "unmute.none": "No había nada silenciado.",
    "check.flip": "{icon} <b>{name}</b>: {old} → {new}\n{summary}",
    "check.recovered": "✅ <b>{name}</b> recuperado\n{summary}",
    "action.auto": "🤖 Automático: {summary}",
    "check.state.ok": "bien",
    "check.state.warning": "aviso",
    "check.state.critical": "crítico",
    "check.state.unknown": "desconocido",
    "selfwatch.failing": "⚠️ <b>adminbot {part}</b> falla: {detail}",
    "selfwatch.ok": "✅ <b>adminbot {part}</b> vuelve a funcionar: {detail}",
    "stopping": "🛑 adminbot se detiene.",
}

CATALOGS: Mapping[str, Mapping[str, str]] = {"en": EN, "es": ES}

COMMANDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "status": "Health, files, disk and open incidents",
        "errors": "Recent incidents: /errors [type] [n]",
        "summary": "What happened: /summary [24h]",
        "mute": "Silence alerts: /mute <type|all> <1h>",
        "unmute": "Alerts back on",
        "help": "What this bot does",
    },
    "es": {
        "status": "Salud, archivos, disco e incidencias",
        "errors": "Incidencias recientes: /errors [tipo] [n]",
        "summary": "Qué ha pasado: /summary [24h]",
        "mute": "Silenciar: /mute <tipo|all> <1h>",
        "unmute": "Reactivar avisos",
        "help": "Qué hace este bot",
    },
}


class Catalog:
    """Looks up templates for one language, falling back to English for a missing key."""

    def __init__(self, language: str = "en") -> None:
        self.language = language if language in CATALOGS else "en"
        self._table = CATALOGS[self.language]

    def __call__(self, key: str, **values: object) -> str:
        template = self._table.get(key) or EN[key]
        return template.format(**values) if values else template
