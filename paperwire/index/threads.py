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
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

__all__ = ["SharedThreads", "handed_or_here", "single_thread_blas", "taken_back", "usable_cores"]

_ALL: weakref.WeakSet[SharedThreads] = weakref.WeakSet()
_T = TypeVar("_T")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), else every core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def single_thread_blas() -> None:
    """From now on numpy's BLAS (OpenBLAS) computes on the calling thread, in this whole
    process: a serving process calls it as it starts (``web.heap.tuned_for_serving``,
    ``paperwire mcp``), from its main thread (OpenBLAS ignores the call from others).

    Why: OpenBLAS's own threads spin for a while after every product they share, and
    the next request's work (its query embedding, candidate pass and counts, which share
    the cores through ``SharedThreads``) lost a core to them: at 1M papers a candidate
    pass right after a date filter's BLAS product took 29.5-30.1 ms p50 instead of
    17.0-18.0 (``docs/benchmarks.md``). The scans that pay for two cores share them
    through ``SharedThreads`` instead (``index.vectors._scanned``). Jobs (ingest, the
    map of the field) keep BLAS on every core."""
    import numpy  # noqa: F401 - a BLAS library is limited only once it is loaded
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def handed_or_here(
    handed: Future[_T] | None, fn: Callable[..., _T], *args: Any, **kwargs: Any
) -> _T:
    """The result of ``fn(*args, **kwargs)``, handed to another thread as ``handed``:
    waited for once a thread runs it, taken back and run in this thread while it is
    still queued (a crowd has every pool thread busy) or where it was never handed
    over. A task may call it on work it handed on: it never waits on a queued task."""
    if handed is None or handed.cancel():  # True too where it was taken back before
        return fn(*args, **kwargs)
    return handed.result()


def taken_back(handed: Future[Any]) -> None:
    """``handed`` is not wanted any more (its caller failed, or runs it itself later):
    cancelled while still queued, else waited for (its result or error ignored), so no
    handed work runs on past its caller."""
    if not handed.cancel():
        wait([handed])


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

    def share(self, size: int, part: Callable[[int, int], None], threads: int, step: int) -> None:
        """``part(start, stop)`` over ``range(size)`` in up to ``threads`` spans
        (multiples of ``step``): the first in the calling thread, the others in the
        pool's. A span no pool thread has started by the time the caller is done with
        its own (the pool busy with other callers' spans) is taken back and run by the
        caller: a crowd of callers never queues behind the pool. ``part`` must let go of
        the GIL (numpy's copies and products do) for the spans to run at once."""
        if size <= 0:
            return
        steps = -(-size // step)
        per = -(-steps // max(1, min(threads, steps))) * step
        spans = [(start, min(size, start + per)) for start in range(0, size, per)]
        others = [(self.pool().submit(part, *span), span) for span in spans[1:]]
        try:
            part(*spans[0])
            for job, span in others:
                if job.cancel():
                    part(*span)
                else:
                    job.result()
        except BaseException:
            # No span goes on writing after the caller has its error.
            for job, _ in others:
                job.cancel()
            wait([job for job, _ in others])
            raise

    def _forget(self) -> None:
        self._pool, self._lock = None, threading.Lock()


def _after_fork_in_child() -> None:
    for threads in list(_ALL):
        threads._forget()


os.register_at_fork(after_in_child=_after_fork_in_child)
