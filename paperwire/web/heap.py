"""The garbage collector (and BLAS's threads) of a serving process (``paperwire
serve``/``up``, each worker).

A full collection walks every container the process holds: the imported modules,
FastAPI's routes and schemas, SQLAlchemy's mappers, the templates, the index's maps.
Measured at 74.7k papers (``SearchService.search``, 100 queries × keyword and hybrid,
one process): two full collections in 200 searches took 150–260 ms each, during which
every request of the worker waits; and collecting the young objects every 700
allocations (the default) ran ~1.3 young collections per search, ~1.5 ms each.

So a server, once its app is built, collects once and freezes what is alive
(``gc.freeze``: never walked again; it lives as long as the process anyway), and
collects young objects every ``YOUNG`` allocations. Same 200 searches: 85 ms of
collections in all instead of ~690 ms, and no pause over 20 ms. Apps built by tests and
scripts (``create_app`` alone) leave the collector as it is: what is frozen is never
freed.
"""

from __future__ import annotations

import gc

from fastapi import FastAPI

from paperwire.index.threads import single_thread_blas

__all__ = ["YOUNG", "settle_heap", "tuned_for_serving"]

YOUNG = 10_000


def settle_heap() -> None:
    """Collect, freeze what is alive, and collect young objects less often."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG, older, oldest)


def tuned_for_serving(app: FastAPI) -> FastAPI:
    """``app`` with ``settle_heap`` run at its start-up (after the app is built); and
    from now on BLAS on the calling thread (``index.threads.single_thread_blas``: no BLAS
    threads spinning on the cores the next request needs), set here, in the thread that
    builds the app: OpenBLAS takes its thread count from the main thread only."""
    single_thread_blas()
    app.router.on_startup.append(settle_heap)
    return app
