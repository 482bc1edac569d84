"""The kill matrix, derived data: ``paperwire embed`` and ``paperwire index --rebuild``
killed (SIGKILL) or stopped (SIGTERM) at a seeded point, then recovered by a rerun or
by just starting the server: the store and the index agree (``paperwire doctor``), and
a rebuild interrupted midway never leaves search empty for good."""

from __future__ import annotations

import random
import signal
from pathlib import Path

import httpx
import pytest

from tests.conftest import AppFactory
from tests.writers.children import (
    app_with_papers,
    child_env,
    counts,
    doctor,
    run,
    serving,
    signal_when,
    start,
    wait_for,
)
from tests.writers.test_kill_ingest import SIGNALS, assert_searchable, check_stopped

EMBED_PAPERS = 260  # chunks of 128: SIGTERM after the first leaves a third to do
# The test is about kills, not about vectors: short inputs make the model 4x faster.
FAST_MODEL = {"PAPERWIRE_EMBEDDING_MAX_TOKENS": "32"}
REBUILD_PAPERS = 3_000  # applied in batches of 2,000: the kill lands after the first


@pytest.mark.parametrize("signum", SIGNALS)
def test_embed_killed_midway_then_rerun(
    make_app: AppFactory, database_url: str, tmp_path: Path, signum: int
) -> None:
    pw, ids = app_with_papers(make_app, database_url, tmp_path, EMBED_PAPERS, semantic=True)
    env = child_env(pw.settings, **FAST_MODEL)
    model = pw.model_name
    point = random.Random(f"embed {signum}").randrange(1, 128)

    stopped = signal_when(
        start(["embed"], env), lambda: pw.store.embedded_count(model) >= point, signum
    )
    assert stopped.signalled, stopped.output
    check_stopped(signum, stopped.returncode, stopped.output)
    after = counts(pw)
    embedded = pw.store.embedded_count(model)
    print(f"\nembed {signal.Signals(signum).name} at >= {point} embedded: {after}, {embedded=}")
    assert 0 < embedded < EMBED_PAPERS
    if signum == signal.SIGTERM:  # its chunk was saved and applied before exiting
        assert after["pending"] == 0 and after["vectors"] == embedded, after

    code, output = run(["embed"], env)
    assert code == 0 and "Traceback" not in output, output
    final = counts(pw)
    print(f"after the rerun: {final}")
    assert final["vectors"] == final["papers"] == EMBED_PAPERS, final
    code, report = doctor(env)
    assert code == 0 and report["in_step"], report
    assert report["vectors"]["documents"] == report["vectors"]["expected"] == EMBED_PAPERS
    assert_searchable(pw, random.Random(signum).sample(ids, 3))


@pytest.mark.parametrize("signum", SIGNALS)
def test_rebuild_killed_midway_then_the_server_finishes_it(
    make_app: AppFactory, database_url: str, tmp_path: Path, signum: int
) -> None:
    pw, ids = app_with_papers(make_app, database_url, tmp_path, REBUILD_PAPERS, semantic=False)
    assert counts(pw)["keyword_documents"] == REBUILD_PAPERS
    env = child_env(pw.settings)

    def midway() -> bool:  # every paper was queued, and some are applied again
        return 0 < pw.journal.pending_count() < REBUILD_PAPERS

    stopped = signal_when(start(["index", "--rebuild", "--clear"], env), midway, signum)
    assert stopped.signalled, stopped.output
    check_stopped(signum, stopped.returncode, stopped.output)
    after = counts(pw)
    print(f"\nrebuild --clear {signal.Signals(signum).name} midway: {after}")
    # Every paper is indexed or still queued (SIGTERM may land in the last batch).
    assert after["keyword_documents"] + after["pending"] >= REBUILD_PAPERS, after
    if signum == signal.SIGKILL:
        assert after["pending"] > 0 and after["keyword_documents"] < REBUILD_PAPERS, after

    # Nothing but a server start: its follower applies what the rebuild left queued.
    with serving(env) as base:
        seconds = wait_for(lambda: pw.journal.pending_count() == 0, 120, "the queue to drain")
        status = httpx.get(f"{base}/api/status", timeout=10).json()
        print(f"the server drained the rest in {seconds:.1f} s: {counts(pw)}")
        assert status["keyword_documents"] == status["papers"] == REBUILD_PAPERS, status
    code, report = doctor(env)
    assert code == 0 and report["in_step"], report
    assert_searchable(pw, random.Random(signum).sample(ids, 5))
