"""The kill matrix, derived data: ``paperwire embed``, ``paperwire index --rebuild`` and
``paperwire index --compact`` killed (SIGKILL) or stopped (SIGTERM) at a seeded point,
then recovered by a rerun or by just starting the server: the store and the index agree
(``paperwire doctor``), and a rebuild or compaction interrupted midway never leaves search
empty for good."""

from __future__ import annotations

import json
import random
import signal
import time
from pathlib import Path

import httpx
import pytest

from paperwire.services.indexer import keyword_half
from tests.conftest import AppFactory
from tests.writers.children import (
    app_with_papers,
    child_env,
    counts,
    doctor,
    more_segments,
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


# Three batches of the store's reads (2,000 papers each): the new segment's files
# appear with the first, and the other two leave the signal time before the commit.
COMPACT_PAPERS = 6_000
# Ctrl-C too: `index --compact` stops at once on it (no batch to finish first).
COMPACT_SIGNALS = [*SIGNALS, pytest.param(signal.SIGINT, id="SIGINT")]


def _writer_held_by(index_dir: Path, pid: int) -> bool:
    """Whether process ``pid`` holds tantivy's writer lock on ``index_dir``: read from
    ``/proc/locks`` (taking the lock to find out would make the child's writer fail).
    A waiter's line (``1: -> FLOCK ...``) has its pid one field later, and never
    matches."""
    lock = index_dir / ".tantivy-writer.lock"
    try:
        inode = lock.stat().st_ino
    except FileNotFoundError:
        return False
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[4] == str(pid) and fields[5].endswith(f":{inode}"):
            return True
    return False


def _segment_files(index_dir: Path) -> tuple[set[str], set[str]]:
    """The segment ids ``meta.json`` names, and those the directory's files belong to."""
    meta = json.loads((index_dir / "meta.json").read_text())
    live = {s["segment_id"].replace("-", "") for s in meta["segments"]}
    on_disk = {f.name.split(".")[0] for f in index_dir.iterdir() if not f.name.startswith(".")}
    return live, on_disk - {"meta"}


@pytest.mark.skipif(not Path("/proc/locks").is_file(), reason="reads Linux's /proc/locks")
@pytest.mark.parametrize("signum", COMPACT_SIGNALS)
def test_compaction_killed_midway_leaves_the_index_as_it_was(
    make_app: AppFactory, database_url: str, tmp_path: Path, signum: int
) -> None:
    """``paperwire index --compact`` writes every document again in one commit: killed,
    stopped or interrupted while it writes its new segment, the old commit stands (every
    paper found, in step, the same segments), its locks go with it, and a rerun compacts
    and deletes the files the lost attempt left."""
    pw, ids = app_with_papers(
        make_app,
        database_url,
        tmp_path,
        COMPACT_PAPERS,
        semantic=False,
        index="embedded",
        index_apply_seconds=0.001,  # applied batch by batch, as a bulk load is
    )
    more_segments(pw)
    keyword = keyword_half(pw)
    assert keyword is not None
    index_dir = keyword.path
    before = keyword.segments()
    assert before > 1  # nothing would change if it were one already
    env = child_env(pw.settings)
    delay = random.Random(f"compact {signum}").uniform(0.0, 0.1)
    seen: list[float] = []

    def writing(pid: int) -> bool:
        """The child holds the writer and its new segment's files exist, since at
        least ``delay`` s."""
        if not _writer_held_by(index_dir, pid):
            return False
        live, on_disk = _segment_files(index_dir)
        if on_disk <= live:
            return False
        seen.append(time.monotonic())
        return seen[-1] - seen[0] >= delay

    proc = start(["index", "--compact"], env)
    stopped = signal_when(proc, lambda: writing(proc.pid), signum)
    name = signal.Signals(signum).name
    assert stopped.signalled, stopped.output
    if signum == signal.SIGINT:
        assert stopped.returncode == 130 and "Traceback" not in stopped.output, stopped.output
        assert "interrupted: no document was lost" in stopped.output, stopped.output
    else:
        check_stopped(signum, stopped.returncode, stopped.output)
    live, on_disk = _segment_files(index_dir)
    if signum == signal.SIGKILL:
        assert on_disk - live, "the kill landed before the new segment was written"
    after = counts(pw)
    keyword.refresh()
    print(f"\ncompact {name} {delay:.3f} s into its new segment: {after}")
    assert after["keyword_documents"] == COMPACT_PAPERS and after["pending"] == 0, after
    assert keyword.segments() == before
    code, report = doctor(env)
    assert code == 0 and report["in_step"] and report["keyword_segments"] == before, report
    assert_searchable(pw, random.Random(signum).sample(ids, 5))

    code, output = run(["index", "--compact"], env)  # locks released: it runs to the end
    assert code == 0 and f"{before} segments -> 1" in output, output
    keyword.refresh()
    assert keyword.segments() == 1
    live, on_disk = _segment_files(index_dir)
    assert on_disk == live, on_disk - live  # nothing left of the lost attempt
    code, report = doctor(env)
    assert code == 0 and report["in_step"] and report["keyword_segments"] == 1, report
    assert_searchable(pw, random.Random(signum + 1).sample(ids, 5))
