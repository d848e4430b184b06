"""How the running service asks the C allocator to hold memory.

In a storm the tailer thread and the event loop allocate and free hundreds of
thousands of records, matches and SQL rows a second. glibc gives each thread its
own heap ("arena") and keeps freed blocks in them, so the service's peak RSS grew
to 88-91 MB in the storm benchmark, against 52 MB at rest. With at most two arenas
and blocks of 128 KiB and up mapped on their own (and returned when freed) it
peaked at 72-74 MB, for about 3% of throughput (`bench/tail_bench.py --full
--error-ratio 0.9`). An admin's own `MALLOC_ARENA_MAX` or `MALLOC_MMAP_THRESHOLD_`
is left as set. Elsewhere than glibc nothing is changed.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable, Mapping

logger = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameters (malloc.h)
M_ARENA_MAX = -8
ARENAS = 2
MMAP_THRESHOLD = 128 * 1024

Mallopt = Callable[[int, int], int]


def glibc_mallopt() -> Mallopt | None:
    """The C library's `mallopt`, when the process runs on glibc."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    if not hasattr(libc, "gnu_get_libc_version"):  # musl's mallopt does nothing
        return None
    mallopt: Mallopt = libc.mallopt
    return mallopt


def hold_memory_tightly(env: Mapping[str, str], mallopt: Mallopt | None) -> list[str]:
    """Ask for few arenas and mapped big blocks (see the module's docstring); the
    settings taken, by their environment names. Call before any thread starts."""
    if mallopt is None:
        return []
    taken = []
    for name, parameter, value in (
        ("MALLOC_ARENA_MAX", M_ARENA_MAX, ARENAS),
        ("MALLOC_MMAP_THRESHOLD_", M_MMAP_THRESHOLD, MMAP_THRESHOLD),
    ):
        if name in env:
            continue  # the admin's choice
        if mallopt(parameter, value) == 1:
            taken.append(name)
        else:
            logger.debug("mallopt refused %s=%s", name, value)
    return taken
