"""The collector and BLAS of a serving process (``web.heap``): settled once the app starts,
and only where the app is served (``serve``, ``up``, each worker), not in apps of tests."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from threadpoolctl import threadpool_info, threadpool_limits

from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.web.app import create_app
from paperwire.web.asgi import worker_app
from paperwire.web.heap import YOUNG, settle_heap, tuned_for_serving


def _blas_threads() -> list[int]:
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


@pytest.fixture
def collector() -> Iterator[None]:
    """Give the test process its collector and its BLAS threads back: frozen objects are
    never freed, and BLAS limits hold for the whole process."""
    threshold = gc.get_threshold()
    blas = max(_blas_threads(), default=1)
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        threadpool_limits(limits=blas, user_api="blas")


def test_a_served_app_freezes_the_heap_when_it_starts(tmp_path: Path, collector: None) -> None:
    pw = Paperwire(Settings(home=tmp_path, semantic=False))
    try:
        threadpool_limits(limits=2, user_api="blas")
        app = create_app(pw)
        assert _blas_threads() and set(_blas_threads()) == {2}
        app = tuned_for_serving(app)
        assert set(_blas_threads()) == {1}  # numpy's OpenBLAS: no threads of its own
        assert gc.get_freeze_count() == 0
        with TestClient(app) as client:  # start-up runs
            assert gc.get_freeze_count() > 10_000  # the imported modules at least
            assert gc.get_threshold()[0] == YOUNG
            assert client.get("/").status_code == 200
    finally:
        pw.close()


def test_only_served_apps_are_tuned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collector: None
) -> None:
    threadpool_limits(limits=2, user_api="blas")
    pw = Paperwire(Settings(home=tmp_path, semantic=False))
    try:
        with TestClient(create_app(pw)) as client:
            assert client.get("/").status_code == 200
            assert gc.get_freeze_count() == 0
            assert set(_blas_threads()) == {2}
    finally:
        pw.close()
    monkeypatch.setenv("PAPERWIRE_HOME", str(tmp_path))
    worker = worker_app()  # each worker of ``serve --workers N``
    try:
        assert settle_heap in worker.router.on_startup
        assert set(_blas_threads()) == {1}
    finally:
        worker.state.pw.close()


def test_blas_is_held_to_one_thread_even_where_numpy_was_not_loaded_yet() -> None:
    """threadpoolctl limits only the BLAS libraries already loaded: the call loads numpy's."""
    code = (
        "import sys; from paperwire.index.threads import single_thread_blas; "
        "loaded = 'numpy' in sys.modules; single_thread_blas(); "
        "from threadpoolctl import threadpool_info; "
        "print(loaded, sorted({p['num_threads'] for p in threadpool_info() "
        "if p['user_api'] == 'blas'}))"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2"}  # as on a machine of 2 cores or more
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert run.stdout.split() == ["False", "[1]"]
