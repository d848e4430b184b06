"""New kinds of error: how many unknown errors reach a "new kind" incident, and how few false ones.

Run by hand (`.venv/bin/python bench/kinds_bench.py [--lines N] [--seed S]`); not
collected by pytest. Three simulated logs, fed as the tailer would (chunks of lines →
Classifier → KindMiner → incidents in a store):

1. warm-up: N lines of the simulator's traffic (the six known kinds, the unrelated
   errors it writes now and then, INFO/DEBUG lines) during the first hour: learnt;
2. known only: N more lines of the same traffic after the warm-up; every
   `nuevo_tipo` incident opened here is a false one (target 0);
3. unknown mixed in: N lines of that traffic with records of UNKNOWN kinds (errors
   no rule and no warm-up knows, each with varying ids, paths and numbers) mixed in.
   Printed: the share of unknown-kind records that land in a `nuevo_tipo`
   incident (target >= 95 %), incidents per distinct kind (target 1), and
   known records that landed in one (target 0).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adminbot.incidents.book import IncidentBook
from adminbot.incidents.events import EventKind
from adminbot.kinds.miner import KindMiner
from adminbot.models import Match
from adminbot.rules.builtin import NUEVO_TIPO
from adminbot.rules.classifier import Classifier
from adminbot.rules.headers import is_header
from adminbot.rules.reading import read_blocks
from adminbot.rules.ruleset import build_ruleset
from adminbot.simulate import (
    _bracket,
    _file_id,
    _plain,
    _ptb,
    _traceback,
    _user,
    _video_path,
    generate_log,
)
from adminbot.store.kinds import KindStore
from adminbot.store.sqlite import Store

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
SITE = "/opt/bot/.venv/lib/python3.11/site-packages"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


# --- unknown kinds: errors the simulator never writes ---------------------------------


def _vid(rng: random.Random) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
    return "".join(rng.choice(alphabet) for _ in range(11))


def _too_big(rng: random.Random, now: datetime) -> list[str]:
    size = rng.randrange(21, 1900)
    message = f"Download of {_file_id(rng)} failed: File is too big ({size} MB)"
    return [_plain(now, "ERROR", "descargas.worker", message)]


def _kicked(rng: random.Random, now: datetime) -> list[str]:
    head = _ptb(now, "ERROR", "telegram.ext.Application", "Error while sending the video")
    frames = [(f"{SITE}/telegram/_bot.py", 620, "_post", "return await self._do_post(")]
    chat = -1_001_000_000_000 - rng.randrange(10**9)
    final = f"telegram.error.Forbidden: Forbidden: bot was kicked from the supergroup chat {chat}"
    return [head, *_traceback(frames, final)]


def _ytdlp_signin(rng: random.Random, now: datetime) -> list[str]:
    message = (
        f"ERROR: [youtube] {_vid(rng)}: Sign in to confirm you're not a bot. "
        "Use --cookies-from-browser or --cookies for the authentication."
    )
    return [_bracket(now, "ERROR", "descargas.ytdlp", message)]


def _ytdlp_instagram(rng: random.Random, now: datetime) -> list[str]:
    code = _vid(rng)
    message = (
        f"ERROR: [Instagram] {code}: Requested content is not available, rate-limit reached "
        f"or login required. Use --cookies (https://www.instagram.com/p/{code}/)"
    )
    return [_bracket(now, "ERROR", "descargas.ytdlp", message)]


def _deadlock(rng: random.Random, now: datetime) -> list[str]:
    head = _plain(
        now, "ERROR", "descargas.db", f"No se pudo registrar el vídeo {rng.randrange(10**6)}"
    )
    frames = [(f"{SITE}/psycopg2/extras.py", 146, "execute", "return super().execute(query, vars)")]
    return [head, *_traceback(frames, "psycopg2.errors.DeadlockDetected: deadlock detected")]


def _locked(rng: random.Random, now: datetime) -> list[str]:
    head = _plain(
        now, "ERROR", "descargas.cola", f"Cola: fallo al guardar la tarea {rng.randrange(9999)}"
    )
    frames = [("/opt/bot/descargas/cola.py", 88, "guardar", "conn.execute(SQL, fila)")]
    return [head, *_traceback(frames, "sqlite3.OperationalError: database is locked")]


def _killed(rng: random.Random, now: datetime) -> list[str]:
    path = _video_path(rng, _user(rng))
    message = f"ffmpeg terminó con código 137 al convertir {path} tras {rng.uniform(1, 300):.1f}s"
    return [_plain(now, "ERROR", "descargas.convertir", message)]


def _peer_closed(rng: random.Random, now: datetime) -> list[str]:
    head = _bracket(now, "ERROR", "descargas.fetch", f"Fallo en la descarga de {_file_id(rng)}")
    frames = [(f"{SITE}/httpx/_transports/default.py", 86, "map_httpcore_exceptions", "raise")]
    got = rng.randrange(10**6, 10**8)
    final = (
        "httpx.RemoteProtocolError: peer closed connection without sending complete message "
        f"body (received {got} bytes, expected {got + rng.randrange(10**6)})"
    )
    return [head, *_traceback(frames, final)]


def _wrong_file_id(rng: random.Random, now: datetime) -> list[str]:
    message = (
        f"sendVideo a {_user(rng)} falló: Bad Request: wrong file identifier/http url specified"
    )
    return [_plain(now, "ERROR", "descargas.bot", message)]


def _key_error(rng: random.Random, now: datetime) -> list[str]:
    head = _ptb(
        now,
        "ERROR",
        "telegram.ext.Application",
        "No error handlers are registered, logging exception.",
    )
    frames = [("/opt/bot/descargas/bot.py", 211, "al_recibir", "unico = datos['file_unique_id']")]
    return [head, *_traceback(frames, "KeyError: 'file_unique_id'")]


def _json(rng: random.Random, now: datetime) -> list[str]:
    column = rng.randrange(1, 400)
    final = (
        f"json.decoder.JSONDecodeError: Expecting value: line 1 column {column} (char {column - 1})"
    )
    head = _plain(now, "ERROR", "descargas.api", "Respuesta inesperada del extractor")
    frames = [("/usr/lib/python3.11/json/decoder.py", 355, "raw_decode", "raise JSONDecodeError")]
    return [head, *_traceback(frames, final)]


def _h264(rng: random.Random, now: datetime) -> list[str]:
    x, y = rng.randrange(120), rng.randrange(68)
    return [
        f"[h264 @ 0x{rng.randrange(16**12):012x}] error while decoding MB {x} {y}, "
        f"bytestream {rng.randrange(-500, 500)}"
    ]


def _limit_es(rng: random.Random, now: datetime) -> list[str]:
    message = (
        f"Error al enviar el vídeo al chat {_user(rng)}: el archivo supera el límite de 2 GB "
        f"({rng.randrange(2049, 4000)} MB)"
    )
    return [_plain(now, "ERROR", "descargas.enviar", message)]


def _flood(rng: random.Random, now: datetime) -> list[str]:
    head = _ptb(now, "ERROR", "telegram.ext.Application", "Error while answering the user")
    frames = [
        (
            f"{SITE}/telegram/request/_baserequest.py",
            330,
            "_request_wrapper",
            "raise RetryAfter(retry_after)",
        )
    ]
    wait = rng.randrange(3, 600)
    final = f"telegram.error.RetryAfter: Flood control exceeded. Retry in {wait} seconds"
    return [head, *_traceback(frames, final)]


def _title(rng: random.Random, now: datetime) -> list[str]:
    words = ("Vacaciones", "en", "la", "playa", "cumple", "de", "Ana", "2024", "(1)", "final")
    title = " ".join(rng.sample(words, rng.randrange(1, 6)))
    message = f"No se pudo enviar «{title}» al chat {_user(rng)}: Request Entity Too Large"
    return [_plain(now, "ERROR", "descargas.enviar", message)]


UNKNOWN: dict[str, Callable[[random.Random, datetime], list[str]]] = {
    "file_too_big": _too_big,
    "bot_kicked": _kicked,
    "ytdlp_sign_in": _ytdlp_signin,
    "ytdlp_instagram": _ytdlp_instagram,
    "db_deadlock": _deadlock,
    "sqlite_locked": _locked,
    "ffmpeg_killed": _killed,
    "peer_closed": _peer_closed,
    "wrong_file_id": _wrong_file_id,
    "key_error": _key_error,
    "json_decode": _json,
    "h264_decode": _h264,
    "limite_2gb": _limit_es,
    "flood_control": _flood,
    "entity_too_large": _title,
}


NOT_ERRORS = ("h264_decode",)
"""Header-less stderr lines without a traceback: the classifier does not count them as
errors at all (`RuleSet.is_error`), so they never reach the miner."""


def mixed_log(path: Path, base: Path, every: int, seed: int) -> dict[int, str]:
    """`base` with an unknown-kind record after about every `every` lines; the first
    line number of each such record → its kind."""
    rng = random.Random(seed)
    labels: dict[int, str] = {}
    out: list[str] = []
    now = T0 + timedelta(hours=2)
    for line in base.read_text(encoding="utf-8").splitlines():
        # only between records: a header line starts one, and ends the one before
        if is_header(line) and rng.randrange(every) == 0:
            now += timedelta(seconds=rng.randrange(1, 60))
            kind = rng.choice(sorted(UNKNOWN))
            labels[len(out) + 1] = kind
            out.extend(UNKNOWN[kind](rng, now))
        out.append(line)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return labels


# --- feeding a log as the service does -------------------------------------------------


def feed(path: Path, miner: KindMiner, book: IncidentBook) -> tuple[list[Match], int, int]:
    """Every nuevo_tipo match, the nuevo_tipo incidents opened, and the unmatched records."""
    classifier = Classifier(build_ruleset())
    found: list[Match] = []
    opened = unmatched = 0
    for block in read_blocks(path, chunk_bytes=64 * 1024):
        classified = classifier.feed_texts(str(path), block.texts, block.line_no + 1)
        unmatched += len(classified.unmatched_errors)
        kinds = miner.mine(classified.unmatched_errors)
        found += kinds
        events = book.record_batch([*classified.matches, *kinds])
        opened += sum(
            1 for e in events if e.kind is EventKind.OPENED and e.incident.rule == NUEVO_TIPO.name
        )
    return found, opened, unmatched


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--lines", type=int, default=200_000, help="lines per log")
    parser.add_argument("--every", type=int, default=400, help="an unknown record per N lines")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--debug", action="store_true", help="print misses and false ones")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        warm, known, base, mixed = (tmp / f"{n}.log" for n in ("warm", "known", "base", "mixed"))
        generate_log(warm, args.lines, seed=args.seed)
        generate_log(known, args.lines, seed=args.seed + 1)
        generate_log(base, args.lines, seed=args.seed + 2)
        labels = mixed_log(mixed, base, args.every, args.seed + 3)

        clock = Clock()
        store = Store(tmp / "adminbot.sqlite3")
        kinds = KindStore(store)
        book = IncidentBook(store, clock)
        miner = KindMiner(kinds, NUEVO_TIPO, warmup=timedelta(hours=1), clock=clock)

        started = time.perf_counter()
        _, opened, unmatched = feed(warm, miner, book)
        print(
            f"warm-up: {args.lines:,} lines, {unmatched:,} unmatched errors, "
            f"{len(miner)} kinds learnt, {opened} incidents (expected 0: warming up)"
        )

        clock.now = T0 + timedelta(hours=1, minutes=1)
        _, opened, unmatched = feed(known, miner, book)
        print(
            f"known only, after warm-up: {args.lines:,} lines, {unmatched:,} unmatched errors, "
            f"false new-kind incidents: {opened} (target 0), kinds now {len(miner)}"
        )

        clock.now = T0 + timedelta(hours=2)
        matches, opened, unmatched = feed(mixed, miner, book)
        seconds = time.perf_counter() - started
        alerted_lines = {m.record.line_no: m.key for m in matches}
        keys_by_kind: dict[str, set[str]] = defaultdict(set)
        caught = Counter[str]()
        for line_no, kind in labels.items():
            if line_no in alerted_lines:
                caught[kind] += 1
                keys_by_kind[kind].add(alerted_lines[line_no])
        false_lines = [n for n in alerted_lines if n not in labels]
        if args.debug:
            text = mixed.read_text(encoding="utf-8").splitlines()
            for n in false_lines:
                print("FALSE", n, alerted_lines[n], text[n - 1][:150])
            for n, kind in labels.items():
                if n not in alerted_lines:
                    print("MISSED", kind, n, text[n - 1][:150])
            for kind, keys in keys_by_kind.items():
                if len(keys) > 1:
                    print("SPLIT", kind, keys)
            for k in kinds.all():
                print("KIND", k.id, k.count, k.learned, k.template)
        total = len(labels)
        share = sum(caught.values()) / total if total else 0.0
        print(
            f"unknown kinds mixed in: {total:,} unknown records of {len(UNKNOWN)} kinds "
            f"among {args.lines:,} lines; {unmatched:,} unmatched errors"
        )
        print(
            f"  unknown records in a new-kind incident: {sum(caught.values()):,}/{total:,} "
            f"= {share:.1%} (target >= 95%)"
        )
        errors = [k for k in labels.values() if k not in NOT_ERRORS]
        hit = sum(n for k, n in caught.items() if k not in NOT_ERRORS)
        print(
            f"  of those adminbot counts as errors (all but {', '.join(NOT_ERRORS)}): "
            f"{hit:,}/{len(errors):,} = {hit / len(errors):.1%}"
        )
        print(f"  new-kind incidents opened: {opened} for {len(keys_by_kind)} kinds")
        print(f"  known records in a new-kind incident: {len(false_lines)} (target 0)")
        print("  per kind: records caught/seen, incidents")
        seen = Counter(labels.values())
        for kind in sorted(UNKNOWN):
            print(f"    {kind:<16} {caught[kind]:>5}/{seen[kind]:<5} {len(keys_by_kind[kind])}")
        per_kind = [len(keys_by_kind[k]) for k in UNKNOWN if seen[k] and k not in NOT_ERRORS]
        print(
            f"  incidents per distinct kind: mean {sum(per_kind) / len(per_kind):.2f}, "
            f"max {max(per_kind)} (target 1)"
        )
        print(f"total time {seconds:.1f} s; kinds stored: {kinds.total()}")
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
