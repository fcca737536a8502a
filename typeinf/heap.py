"""The C heap of the process (glibc's malloc; elsewhere these do nothing).

limit_arenas()        few malloc arenas for the threads started from now on
return_free_memory()  the heap's free pages given back to the system
"""

from __future__ import annotations

import ctypes
from typing import Any

M_ARENA_MAX = -8  # mallopt's parameter (malloc.h)
ARENAS = 2


def _libc() -> Any | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def limit_arenas(arenas: int = ARENAS) -> None:
    """glibc gives each thread that allocates its own arena (up to 8 per core), and each keeps
    the memory its thread freed: the model's inference threads, the checker's readers and the
    evidence thread.  Called before they start.  Measured on certbot, `predict` cold: the main
    process's share of the peak 311 -> 268 MB (MALLOC_ARENA_MAX=2), the same wall time."""
    libc = _libc()
    if libc is not None:
        try:
            libc.mallopt(M_ARENA_MAX, arenas)
        except AttributeError:
            pass


def return_free_memory() -> None:
    """Give the C heap's free pages back to the system after a project's batches: the inference
    threads' many short-lived tensors leave the allocator's arenas holding freed memory
    (measured on zod's 17,540 sites: 554 MB resident after ranking, 346 MB once returned)."""
    libc = _libc()
    if libc is not None:
        try:
            libc.malloc_trim(0)
        except AttributeError:
            pass
