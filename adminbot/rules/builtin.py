"""The built-in rules, as data: the six seed error types, the dead child, the new kind
and the two predictions (a disk filling up, an unusual error rate).

Kept apart from `ruleset.py` so the patterns can be read (and reviewed) on their
own. Patterns are matched case-insensitively against one line at a time: the
final exception line of a traceback, then the record's message, then its other
lines (see `ruleset.RuleSet.classify`). Every alternative is written to fail on
the benign INFO/DEBUG look-alikes in tests/samples, and the level gate
(WARNING or above for headered records) does the rest.
"""

from __future__ import annotations

from adminbot.models import ActionKind, Policy, Severity
from adminbot.rules.spec import RuleSpec


def _any(*alternatives: str) -> str:
    return "|".join(alternatives)


# How the pipeline reaches the local Bot API server: the container or its name,
# its default HTTP port, the `/bot<token>/` and `/file/bot<token>/` URL paths.
_BOT_API = r"(?:\bbot[ _-]?api\b|telegram-bot-api|:8081\b|/bot\d+:|/bot<token>|/file/bot)"
_DOWN = (
    r"(?:connection\s+refused|conexi[óo]n\s+rechazada|\[errno 111\]|econnrefused"
    r"|connecterror|all\s+connection\s+attempts\s+failed|cannot\s+connect"
    r"|connect\s+call\s+failed|no\s+se\s+(?:pudo|puede)\s+conectar|bad\s+gateway"
    r"|service\s+unavailable|server\s+disconnected|(?<!shutting )\bdown\b"
    r"|\bca[íi]d[oa]\b|no\s+responde|not\s+responding|unreachable|inaccesible"
    r"|no\s+disponible|\bexited\b|unhealthy|restarting)"
)

TIMEOUT = RuleSpec(
    name="timeout",
    pattern=_any(
        # timeout, timed out, time-out, TimedOut; not `timeout=30`, `read_timeout`, `-timeout`
        r"(?<![\w-])timed?[ -]?out\b(?!\s*=)",
        r"(?:read|write|connect|pool)timeout\b",
        r"timeouterror",
        r"\[errno 110\]",
        r"\betimedout\b",
        r"tiempo\s+de\s+espera\s+(?:agotado|excedido|superado)",
        r"se\s+agot[óo]\s+el\s+tiempo",
        r"tiempo\s+agotado",
    ),
    severity=Severity.ERROR,
    policy=Policy.AUTO,
    builtin=True,
    fixes=(ActionKind.RETRY,),
    key_fields=("file_id",),
    keywords=("time", "errno", "tiempo"),
    description="A download or Bot API call ran out of time (retrying usually fixes it).",
)

PERMISOS = RuleSpec(
    name="permisos",
    pattern=_any(
        r"permission\s+denied",
        r"permiso\s+denegado",
        r"permisos?\s+insuficientes",
        r"\bsin\s+permisos?\b",
        r"acceso\s+denegado",
        r"operation\s+not\s+permitted",
        r"operaci[óo]n\s+no\s+permitida",
        r"\[errno (?:13|1)\]",
        r"\beacces\b",
        r"\beperm\b",
        r"permissionerror",
        # chown/chmod only together with a failure word: `chown: cannot access` is
        # a missing path, and `chown 1000:1000 aplicado` is no error at all.
        r"\bch(?:mod|own)\b[^\n]{0,80}?(?:not\s+permitted|denied|denegad|fall[óo]|failed"
        r"|\berror|no\s+se\s+pudo|imposible)",
        r"(?:fall[óo]|failed|\berror|no\s+se\s+pudo|imposible|could\s+not)[^\n]{0,40}?"
        r"\bch(?:mod|own)\b",
    ),
    severity=Severity.ERROR,
    policy=Policy.ASK,
    builtin=True,
    fixes=(ActionKind.CHOWN,),
    key_fields=("path",),
    keywords=(
        "permission",
        "permiso",
        "acceso",
        "permitted",
        "permitida",
        "errno",
        "eacces",
        "eperm",
        "chmod",
        "chown",
    ),
    description="The pipeline may not read or write a file or folder (owner or mode).",
)

CORRUPTO = RuleSpec(
    name="corrupto",
    pattern=_any(
        r"invalid\s+data\s+found\s+when\s+processing\s+input",
        r"moov\s+atom\s+not\s+found",
        r"ebml\s+header\s+parsing\s+failed",
        r"invalid\s+nal\s+unit\s+size",
        r"could\s+not\s+find\s+codec\s+parameters",
        r"\bcorrupt(?:ed|ion|o|a|os|as)?\b",
        r"\bdañad[oa]s?\b",
        # not `Invalid file_id` (a Telegram request error) nor `invalid file path`
        r"invalid\s+(?:(?:video|media|mp4)\s+)?file\b(?!\s+(?:path|name|descriptor|id))",
        r"broken\s+(?:video|media|file)",
        r"not\s+a\s+valid\s+(?:video|media|mp4)",
        r"(?:archivo|fichero|v[íi]deo)\s+(?:inv[áa]lido|ilegible|truncado)",
    ),
    severity=Severity.ERROR,
    policy=Policy.ASK,
    builtin=True,
    fixes=(ActionKind.CLEAN_RETRY, ActionKind.RETRY),
    fallbacks=(ActionKind.QUARANTINE,),
    key_fields=("path",),
    keywords=(
        "valid",
        "moov",
        "ebml",
        "codec",
        "corrupt",
        "dañad",
        "broken",
        "archivo",
        "fichero",
        "video",
        "vídeo",
    ),
    description="A downloaded video cannot be read by ffprobe/ffmpeg (truncated or broken).",
)

RUTA_INEXISTENTE = RuleSpec(
    name="ruta_inexistente",
    pattern=_any(
        r"no\s+such\s+(?:file|directory)",
        r"\[errno (?:2|20)\]",
        r"\benoent\b",
        r"filenotfounderror",
        r"notadirectoryerror",
        r"not\s+a\s+directory",
        r"\b(?:directory|folder|path|file)\s+(?:\S+\s+)?(?:not\s+found|does\s+not\s+exist)",
        r"\b(?:carpeta|ruta|directorio|archivo|fichero)\b[^\n]{0,80}?\bno\s+existe\b",
        r"\bno\s+existe\s+(?:la\s+|el\s+)?(?:carpeta|ruta|directorio|archivo|fichero)\b",
        r"\b(?:carpeta|ruta|directorio|archivo|fichero)\s+no\s+encontrad[oa]",
        r"no\s+se\s+(?:encontr[óo]|encuentra)\s+(?:la\s+|el\s+)?"
        r"(?:carpeta|ruta|directorio|archivo|fichero)",
    ),
    severity=Severity.ERROR,
    policy=Policy.AUTO,
    builtin=True,
    fixes=(ActionKind.MKDIR,),
    quiet_success=True,  # the folder appears; the admin need not hear of it
    key_fields=("path",),
    keywords=("such", "errno", "enoent", "found", "directory", "exist", "encontr", "encuentra"),
    description="A file or folder the pipeline expects is missing (e.g. the user's folder).",
)

DISCO_LLENO = RuleSpec(
    name="disco_lleno",
    pattern=_any(
        r"no\s+space\s+left",
        r"\[errno (?:28|122)\]",
        r"\benospc\b",
        r"\bedquot\b",
        r"disk\s+quota\s+exceeded",
        r"\bdisk\s+(?:is\s+)?full\b",
        r"\bdisco\s+(?:est[áa]\s+)?lleno\b",
        r"no\s+queda\s+espacio",
        r"sin\s+espacio(?:\s+libre)?\s+en\s+(?:el\s+)?(?:disco|dispositivo)",
        r"espacio\s+(?:en\s+disco\s+)?insuficiente",
    ),
    severity=Severity.CRITICAL,
    policy=Policy.ALERT,
    builtin=True,
    disk_report=True,  # the alert says which folders fill the disk
    key_fields=("*",),  # one disk-full incident, whatever file hit it
    keywords=("space", "errno", "enospc", "edquot", "quota", "disk", "disco", "espacio"),
    description="The disk holding the downloads is full; nothing can be saved.",
)

SERVIDOR_CAIDO = RuleSpec(
    name="servidor_caido",
    pattern=_any(
        # python-telegram-bot only talks to the Bot API, so a NetworkError caused by
        # a refused/dropped connection or a 502/503 means the Bot API server is down.
        r"networkerror:[^\n]{0,80}?(?:connecterror|remoteprotocolerror|readerror"
        r"|bad\s+gateway|service\s+unavailable|connection\s+refused"
        r"|all\s+connection\s+attempts\s+failed|server\s+disconnected)",
        # Anything else needs both: the Bot API named, and a sign that it is down.
        # A refused PostgreSQL connection (port 5432) is not this rule.
        _BOT_API + r"[^\n]{0,160}?" + _DOWN,
        _DOWN + r"[^\n]{0,160}?" + _BOT_API,
    ),
    severity=Severity.CRITICAL,
    policy=Policy.ASK,
    builtin=True,
    fixes=(ActionKind.RESTART_CONTAINER,),
    # A Bot API server that blinked during a restart should not wake anyone.
    verify_first=True,
    key_fields=("*",),  # one outage, however each call words it
    keywords=("networkerror", "bot api", "bot_api", "bot-api", "botapi", ":8081", "/bot"),
    description=(
        "The local Telegram Bot API server (telegram-bot-api, usually 127.0.0.1:8081) "
        "refuses or drops connections, or answers 502/503."
    ),
)

PROCESO_CAIDO = RuleSpec(
    name="proceso_caido",
    pattern=None,  # raised by adminbot.supervise.child when the pipeline exits on its own
    severity=Severity.CRITICAL,
    policy=Policy.AUTO,
    builtin=True,
    fixes=(ActionKind.RESTART_PROCESS,),
    description="The supervised pipeline process exited on its own.",
)

NUEVO_TIPO = RuleSpec(
    name="nuevo_tipo",
    pattern=None,  # raised by adminbot.kinds for errors no rule knows, one incident per kind
    severity=Severity.WARNING,  # the miner raises it to error for a burst (kinds.miner.Burst)
    policy=Policy.ALERT,
    builtin=True,
    description="An error no rule knows, of a kind not seen before on this host.",
)

DISCO_PREVISTO = RuleSpec(
    name="disco_previsto",
    pattern=None,  # raised by adminbot.predict.watch when the fill trend nears the limit
    severity=Severity.WARNING,
    policy=Policy.ALERT,
    builtin=True,
    description="At the last hour's rate, a watched folder's disk reaches its critical level soon.",
)

RITMO_INUSUAL = RuleSpec(
    name="ritmo_inusual",
    pattern=None,  # raised by adminbot.predict.watch; its key is the rule running hot
    severity=Severity.WARNING,
    policy=Policy.ALERT,
    builtin=True,
    description="A rule matches lines far faster than it usually does.",
)

HOST_SILENCIOSO = RuleSpec(
    name="host_silencioso",
    pattern=None,  # raised by adminbot.fleet.silence for a host whose heartbeat stopped
    severity=Severity.CRITICAL,
    policy=Policy.ALERT,
    builtin=True,
    description="A host sharing the store has not sent its heartbeat for 3 check periods.",
)

# Order matters only when two rules match the same line: the more severe and
# more specific first, timeouts last (a timeout is often a symptom of the others).
SEEDS = (DISCO_LLENO, SERVIDOR_CAIDO, PERMISOS, RUTA_INEXISTENTE, CORRUPTO, TIMEOUT)
"""The six seed error types that log lines raise, in precedence order."""

BUILTIN = (
    *SEEDS,
    PROCESO_CAIDO,
    NUEVO_TIPO,
    DISCO_PREVISTO,
    RITMO_INUSUAL,
    HOST_SILENCIOSO,
)
"""Every built-in rule: the seeds, then the incident types only adminbot itself raises."""
