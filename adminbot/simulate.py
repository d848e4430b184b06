"""Realistic log traffic of the video-download pipeline, for demos, tests and benchmarks.

Mostly INFO/DEBUG lines of a python-telegram-bot downloader (httpx requests,
PTB internals, the team's Spanish messages, ffprobe), including benign lines
that mention "timeout", "chown" or "corrupt"; now and then one of the six error
kinds the built-in rules know, or an unrelated error no rule should match.

Over ~400 lines of data: the message tables of a realistic pipeline.
"""

from __future__ import annotations

import base64
import functools
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adminbot.clock import utcnow

logger = logging.getLogger(__name__)

ERROR_KINDS = (
    "timeout",
    "permisos",
    "corrupto",
    "ruta_inexistente",
    "disco_lleno",
    "servidor_caido",
)
ROOT = "/srv/descargas"
BOT_API = "http://127.0.0.1:8081"

# --- small random pieces -----------------------------------------------------------


def _user(rng: random.Random) -> int:
    return rng.choice((5_000_000_000, 6_000_000_000, 700_000_000)) + rng.randrange(90_000_000)


def _file_id(rng: random.Random) -> str:
    tail = base64.urlsafe_b64encode(rng.randbytes(36)).decode("ascii")
    return "BAACAgEAAxkBAAI" + tail[: rng.randrange(40, 48)]


def _video_path(rng: random.Random, user: int) -> str:
    stamp = f"2026{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}_{rng.randrange(240000):06d}"
    name = rng.choice((f"video_{stamp}.mp4", f"VID-{stamp[:8]}-WA{rng.randrange(9999):04d}.mp4"))
    return f"{ROOT}/{user}/{name}"


def _secs(rng: random.Random, low: float = 0.2, high: float = 40.0) -> str:
    return f"{rng.uniform(low, high):.1f}"


# --- the three line formats --------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _second(whole: datetime) -> str:
    return whole.strftime("%Y-%m-%d %H:%M:%S")


def _stamp(now: datetime) -> str:
    """`logging`'s default asctime; the seconds part is cached (strftime is slow)."""
    return f"{_second(now.replace(microsecond=0))},{now.microsecond // 1000:03d}"


def _plain(now: datetime, level: str, name: str, message: str) -> str:
    return f"{_stamp(now)} {level} {name}: {message}"


def _ptb(now: datetime, level: str, name: str, message: str) -> str:
    return f"{_stamp(now)} - {name} - {level} - {message}"


def _bracket(now: datetime, level: str, name: str, message: str) -> str:
    return f"[{_stamp(now)}] [{level}] {name}: {message}"


Formatter = Callable[[datetime, str, str, str], str]


def _own_format(rng: random.Random) -> Formatter:
    """The team's loggers write the plain format, a worker script the bracketed one."""
    return _plain if rng.random() < 0.7 else _bracket


# --- normal traffic ----------------------------------------------------------------


def _normal(rng: random.Random, now: datetime) -> str:
    user = _user(rng)
    roll = rng.random()
    if roll < 0.30:
        method = rng.choice(
            ("getUpdates", "getUpdates", "getFile", "sendMessage", "sendChatAction")
        )
        return _ptb(
            now,
            "INFO",
            "httpx",
            f'HTTP Request: POST {BOT_API}/bot<token>/{method} "HTTP/1.1 200 OK"',
        )
    if roll < 0.42:
        update = rng.randrange(100_000_000, 999_999_999)
        message = rng.choice(
            (
                f"Processing update {update}",
                "Calling Bot API endpoint `getUpdates` with parameters `{'timeout': 10}`",
                "Network Retry Loop (Polling Updates): Starting",
                f"Dropping update {update}: no handler",
                "Call to Bot API endpoint `getFile` finished with return value `{...}`",
            )
        )
        name = rng.choice(
            ("telegram.ext.Application", "telegram.ext.ExtBot", "telegram.ext.Updater")
        )
        return _ptb(now, "DEBUG", name, message)
    if roll < 0.94:
        return _pipeline_info(rng, now, user)
    return _lookalike(rng, now, user)


def _pipeline_info(rng: random.Random, now: datetime, user: int) -> str:
    pick = rng.randrange(10)
    if pick == 0:
        level, name, message = (
            "INFO",
            "descargas.bot",
            f"Usuario {user} envió un vídeo (file_id={_file_id(rng)})",
        )
    elif pick == 1:
        level, name = "INFO", "descargas.worker"
        message = f"Descarga iniciada: {_file_id(rng)} -> {_video_path(rng, user)}"
    elif pick == 2:
        level, name = "INFO", "descargas.worker"
        message = f"Descarga completada en {_secs(rng)} s ({_secs(rng, 1, 900)} MB)"
    elif pick == 3:
        level, name, message = (
            "INFO",
            "descargas.guardar",
            f"Vídeo guardado en {_video_path(rng, user)}",
        )
    elif pick == 4:
        level, name = "DEBUG", "descargas.ffprobe"
        message = f"ffprobe {_video_path(rng, user)}: h264 1920x1080, {_secs(rng, 3, 600)} s"
    elif pick == 5:
        level, name, message = "INFO", "descargas.carpetas", f"Carpeta creada: {ROOT}/{user}"
    elif pick == 6:
        level, name, message = (
            "DEBUG",
            "descargas.cola",
            f"Cola de descargas: {rng.randrange(12)} pendientes",
        )
    elif pick == 7:
        level, name, message = (
            "INFO",
            "descargas.bot",
            f"Mensaje de confirmación enviado al chat {user}",
        )
    elif pick == 8:
        level, name = "INFO", "descargas.db"
        message = f"Registro guardado: video_id={rng.randrange(10**6)} user_id={user}"
    else:
        level, name = "DEBUG", "descargas.worker"
        message = f"Progreso {_file_id(rng)[:24]}…: {rng.randrange(100)}%"
    return _own_format(rng)(now, level, name, message)


_LOOKALIKES = (
    ("INFO", "descargas.config", "Timeouts: read_timeout=30 write_timeout=120 connect_timeout=10"),
    ("DEBUG", "descargas.worker", "Reintento tras timeout resuelto para {path}"),
    ("INFO", "descargas.permisos", "chown 1000:1000 aplicado a {folder}"),
    ("INFO", "descargas.verificar", "Verificación de integridad: 0 archivos corruptos"),
    ("DEBUG", "descargas.ffprobe", "{path}: no corrupt frames, moov atom at start"),
    ("INFO", "descargas.disco", "Espacio libre en /srv/descargas: {gb} GB (disco OK)"),
    ("INFO", "descargas.salud", "Bot API local en http://127.0.0.1:8081 responde en {ms} ms"),
    (
        "DEBUG",
        "telegram.ext.Updater",
        "Network Retry Loop (Polling Updates): Timed out: Timed out. "
        "Failed run number 1 of -1. Retrying.",
    ),
    ("WARNING", "descargas.worker", "Reintentando descarga (intento 2 de 3)"),
    ("WARNING", "descargas.bot", "Flood control: esperando 3 s antes de responder"),
)


def _lookalike(rng: random.Random, now: datetime, user: int) -> str:
    """INFO/DEBUG/benign WARNING lines with the words the rules look for."""
    level, name, template = rng.choice(_LOOKALIKES)
    message = template.format(
        path=_video_path(rng, user),
        folder=f"{ROOT}/{user}",
        gb=_secs(rng, 20, 500),
        ms=_secs(rng, 1, 90),
    )
    if name.startswith("telegram"):
        return _ptb(now, level, name, message)
    return _own_format(rng)(now, level, name, message)


# --- errors ------------------------------------------------------------------------


def _traceback(frames: list[tuple[str, int, str, str]], final: str) -> list[str]:
    lines = ["Traceback (most recent call last):"]
    for file, number, function, code in frames:
        lines += [f'  File "{file}", line {number}, in {function}', f"    {code}"]
    return [*lines, final]


_PTB_SITE = "/opt/bot/.venv/lib/python3.11/site-packages"


def _error_timeout(rng: random.Random, now: datetime) -> list[str]:
    user, file_id = _user(rng), _file_id(rng)
    variant = rng.randrange(4)
    if variant == 0:
        head = _ptb(
            now,
            "ERROR",
            "telegram.ext.Application",
            "No error handlers are registered, logging exception.",
        )
        frames = [
            (
                f"{_PTB_SITE}/telegram/ext/_application.py",
                1325,
                "process_update",
                "await coroutine",
            ),
            (
                f"{_PTB_SITE}/telegram/request/_httpxrequest.py",
                296,
                "do_request",
                "raise TimedOut from err",
            ),
        ]
        return [head, *_traceback(frames, "telegram.error.TimedOut: Timed out")]
    if variant == 1:
        message = (
            f"Tiempo de espera agotado descargando file_id={file_id} (usuario {user}) "
            f"tras {_secs(rng, 30, 60)} s"
        )
        return [_plain(now, "ERROR", "descargas.worker", message)]
    if variant == 2:
        message = f"Download of {file_id} timed out after {_secs(rng, 30, 60)}s"
        return [_bracket(now, "ERROR", "descargas.fetch", message)]
    head = _plain(now, "ERROR", "descargas.worker", f"Fallo al descargar {file_id}")
    frames = [("/opt/bot/descargas/worker.py", 142, "descargar", "await bot.get_file(file_id)")]
    return [head, *_traceback(frames, "httpx.ReadTimeout: timed out")]


def _error_permisos(rng: random.Random, now: datetime) -> list[str]:
    user = _user(rng)
    path = _video_path(rng, user)
    variant = rng.randrange(3)
    if variant == 0:
        head = _plain(
            now, "ERROR", "descargas.guardar", f"No se pudo guardar el vídeo del usuario {user}"
        )
        frames = [
            ("/opt/bot/descargas/guardar.py", 57, "guardar", "shutil.move(temporal, destino)")
        ]
        final = f"PermissionError: [Errno 13] Permission denied: '{path}'"
        return [head, *_traceback(frames, final)]
    if variant == 1:
        return [
            _plain(
                now,
                "ERROR",
                "descargas.guardar",
                f"Permiso denegado al escribir en '{ROOT}/{user}'",
            )
        ]
    message = f"chown falló para {path}: Operation not permitted"
    return [_bracket(now, "ERROR", "descargas.permisos", message)]


def _error_corrupto(rng: random.Random, now: datetime) -> list[str]:
    path = _video_path(rng, _user(rng))
    variant = rng.randrange(3)
    if variant == 0:
        return [f"{path}: Invalid data found when processing input"]  # ffprobe on stderr
    if variant == 1:
        return [
            _plain(
                now, "ERROR", "descargas.ffprobe", f"ffprobe falló para {path}: moov atom not found"
            )
        ]
    return [
        _bracket(now, "ERROR", "descargas.verificar", f"Archivo corrupto: {path} (duración 0 s)")
    ]


def _error_ruta(rng: random.Random, now: datetime) -> list[str]:
    user = _user(rng)
    path = _video_path(rng, user)
    variant = rng.randrange(3)
    if variant == 0:
        head = _plain(now, "ERROR", "descargas.mover", "Error moviendo el vídeo descargado")
        frames = [("/opt/bot/descargas/mover.py", 31, "mover", "os.rename(origen, destino)")]
        final = f"FileNotFoundError: [Errno 2] No such file or directory: '{path}'"
        return [head, *_traceback(frames, final)]
    if variant == 1:
        return [_plain(now, "ERROR", "descargas.carpetas", f"la carpeta no existe: {ROOT}/{user}")]
    return [
        _bracket(
            now, "ERROR", "descargas.limpieza", f"Directory {ROOT}/{user}/pendientes not found"
        )
    ]


def _error_disco(rng: random.Random, now: datetime) -> list[str]:
    path = _video_path(rng, _user(rng))
    variant = rng.randrange(3)
    if variant == 0:
        message = f"OSError: [Errno 28] No space left on device: '{path}'"
        return [_plain(now, "CRITICAL", "descargas.guardar", message)]
    if variant == 1:
        return [
            _plain(
                now,
                "ERROR",
                "descargas.guardar",
                f"No queda espacio en el dispositivo al guardar {path}",
            )
        ]
    return [
        f"[mp4 @ 0x{rng.randrange(16**12):012x}] Error writing trailer: No space left on device"
    ]


def _error_servidor(rng: random.Random, now: datetime) -> list[str]:
    variant = rng.randrange(3)
    if variant == 0:
        head = _ptb(
            now, "ERROR", "telegram.ext.Updater", "Exception happened while polling for updates."
        )
        frames = [
            (
                f"{_PTB_SITE}/telegram/request/_httpxrequest.py",
                303,
                "do_request",
                'raise NetworkError(f"httpx.{err.__class__.__name__}: {err}") from err',
            )
        ]
        final = "telegram.error.NetworkError: httpx.ConnectError: All connection attempts failed"
        return [head, *_traceback(frames, final)]
    if variant == 1:
        message = f"No se puede conectar con el servidor Bot API en {BOT_API}: Connection refused"
        return [_plain(now, "ERROR", "descargas.bot", message)]
    return [
        _plain(
            now,
            "CRITICAL",
            "descargas.salud",
            "El contenedor telegram-bot-api no responde (estado: restarting)",
        )
    ]


def _error_unrelated(rng: random.Random, now: datetime) -> list[str]:
    user = _user(rng)
    variant = rng.randrange(4)
    if variant == 0:
        head = _ptb(
            now,
            "ERROR",
            "telegram.ext.Application",
            "No error handlers are registered, logging exception.",
        )
        frames = [(f"{_PTB_SITE}/telegram/_bot.py", 620, "_post", "return await self._do_post(")]
        return [
            head,
            *_traceback(frames, "telegram.error.Forbidden: Forbidden: bot was blocked by the user"),
        ]
    if variant == 1:
        message = (
            "Message is not modified: specified new message content and reply markup "
            "are exactly the same as a current content and reply markup of the message"
        )
        return [_plain(now, "ERROR", "descargas.bot", f"No se pudo editar el mensaje: {message}")]
    if variant == 2:
        message = (
            'duplicate key value violates unique constraint "videos_file_unique_id_key" '
            f"(user_id={user})"
        )
        return [_bracket(now, "ERROR", "descargas.db", message)]
    message = 'connection to server at "127.0.0.1", port 5432 failed: Connection refused'
    return [_plain(now, "ERROR", "descargas.db", message)]


_ERRORS: dict[str, Callable[[random.Random, datetime], list[str]]] = {
    "timeout": _error_timeout,
    "permisos": _error_permisos,
    "corrupto": _error_corrupto,
    "ruta_inexistente": _error_ruta,
    "disco_lleno": _error_disco,
    "servidor_caido": _error_servidor,
}


def error_record(rng: random.Random, now: datetime, kind: str | None = None) -> str:
    """One error record of `kind` (one of ERROR_KINDS), or of an unrelated kind if None."""
    make = _ERRORS[kind] if kind is not None else _error_unrelated
    return "\n".join(make(rng, now))


def sample_line(rng: random.Random, now: datetime, *, error_ratio: float = 0.02) -> str:
    """One record (maybe a multi-line traceback): an error with probability
    `error_ratio` (mostly the six kinds, sometimes an unrelated one), else normal traffic."""
    if rng.random() < error_ratio:
        kind = rng.choice(ERROR_KINDS) if rng.random() < 0.85 else None
        return error_record(rng, now, kind)
    return _normal(rng, now)


def generate_log(path: Path, n_lines: int, *, error_ratio: float = 0.02, seed: int = 0) -> None:
    """Write a log of exactly `n_lines` lines, about `error_ratio` of them in error records."""
    rng = random.Random(seed)  # noqa: S311 - demo traffic, nothing secret
    now = datetime(2026, 11, 29, 8, 0, 0, tzinfo=UTC)
    written = error_lines = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        chunk: list[str] = []
        while written < n_lines:
            now += timedelta(milliseconds=rng.randrange(1, 40))
            record = _normal(rng, now)
            # Pace errors by lines, not records: tracebacks are several lines long.
            if error_lines < error_ratio * written:
                kind = rng.choice(ERROR_KINDS) if rng.random() < 0.85 else None
                candidate = error_record(rng, now, kind)
                if candidate.count("\n") + 1 <= n_lines - written:
                    record = candidate
                    error_lines += candidate.count("\n") + 1
            written += record.count("\n") + 1
            chunk.append(record)
            if len(chunk) >= 4096:
                out.write("\n".join(chunk) + "\n")
                chunk.clear()
        if chunk:
            out.write("\n".join(chunk) + "\n")


def simulate(
    path: Path,
    *,
    rate: float = 2.0,
    duration: float | None = None,
    seed: int | None = None,
    stop: threading.Event | None = None,
    error_every: float | None = None,
    root: Path | str = ROOT,
) -> int:
    """Append `rate` records per second to `path` until `duration` passes or `stop` is set.

    Every `error_every` seconds (default 3) one of the six error kinds is written
    instead, cycling through them, the first one after about a second, so a demo
    shows an alert within a few seconds. The download folders named in the lines
    lie under `root` (the demo's own folder, where its fixes may act). Returns the
    number of records written.
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    rng = random.Random(seed)  # noqa: S311 - demo traffic, nothing secret
    stop = stop or threading.Event()
    every = 3.0 if error_every is None else max(error_every, 0.0)
    kinds = list(ERROR_KINDS)
    cycle = rng.randrange(len(kinds))
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    next_error = started + min(1.0, every)
    written = 0
    with path.open("a", encoding="utf-8", newline="\n") as out:
        while not stop.is_set():
            now_mono = time.monotonic()
            if duration is not None and now_mono - started >= duration:
                break
            now = utcnow()
            if now_mono >= next_error:
                record = error_record(rng, now, kinds[cycle % len(kinds)])
                cycle += 1
                next_error = now_mono + every
            else:
                record = _normal(rng, now)
            if str(root) != ROOT:
                record = record.replace(ROOT, str(root))
            out.write(record + "\n")
            out.flush()
            written += 1
            stop.wait(_delay(started, written, rate))
    logger.debug("Simulated %d records into %s", written, path)
    return written


def _delay(started: float, written: int, rate: float) -> float:
    """Time to wait so that `written` records land at `rate` per second on average."""
    return max(0.0, started + written / rate - time.monotonic())
