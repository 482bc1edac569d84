"""Process-wide thread pools for reads that run beside a search's own thread.

tantivy, ONNX Runtime, numpy and the Milvus client let go of the GIL while they work, so
a search can hand some of its reads to other threads and wait for them. One pool per use
serves the whole process: started on first use (an import starts no thread), and started
afresh in a forked child, which has none of its parent's threads (a pool copied by
``fork`` would queue work that no thread ever runs).
"""

from __future__ import annotations

import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

__all__ = ["SharedThreads", "usable_cores"]

_ALL: weakref.WeakSet[SharedThreads] = weakref.WeakSet()


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), else every core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


class SharedThreads:
    """A lazily started ``ThreadPoolExecutor`` of ``workers`` threads named ``name``-N.
    Its tasks must not wait on each other's (a full pool would then wait for ever)."""

    def __init__(self, workers: int, name: str) -> None:
        self.workers = workers
        self.name = name
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        _ALL.add(self)

    def pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix=self.name)
            return self._pool

    def _forget(self) -> None:
        self._pool, self._lock = None, threading.Lock()


def _after_fork_in_child() -> None:
    for threads in list(_ALL):
        threads._forget()


os.register_at_fork(after_in_child=_after_fork_in_child)
