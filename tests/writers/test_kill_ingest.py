"""The kill matrix, papers in: ``paperwire ingest table`` and ``paperwire sync`` killed
(SIGKILL) or stopped (SIGTERM) at a seeded point of their progress, then run again:
the store and the index agree (``paperwire doctor``), and no stored paper is
unsearchable. Before the index journal, a killed ingest left 40% of the papers out of
the index for good (issue 11)."""

from __future__ import annotations

import random
import shutil
import signal
from pathlib import Path

import pytest

from paperwire.models.papers import PaperRecord
from paperwire.models.search import SearchMode, SearchRequest
from paperwire.sources.hf_daily import read_hf_daily_dir
from tests.conftest import HF_DAILY, AppFactory
from tests.writers.children import (
    child_env,
    counts,
    doctor,
    run,
    signal_when,
    start,
    write_table,
)

TABLE_ROWS = 2_000
SIGNALS = [pytest.param(signal.SIGKILL, id="SIGKILL"), pytest.param(signal.SIGTERM, id="SIGTERM")]
EXIT_SIGTERM = 143


def assert_searchable(pw: object, arxiv_ids: list[str]) -> None:
    """Each paper is found by its title (keyword search), i.e. it is in the index."""
    from paperwire.core import Paperwire

    assert isinstance(pw, Paperwire)
    pw.index.refresh()
    for arxiv_id in arxiv_ids:
        paper = pw.store.get(arxiv_id)
        assert paper is not None
        res = pw.search.search(SearchRequest(q=paper.title, mode=SearchMode.keyword, limit=20))
        assert arxiv_id in [h.paper.arxiv_id for h in res.hits], (arxiv_id, paper.title)


def check_stopped(signum: int, returncode: int, output: str) -> None:
    assert "Traceback" not in output, output
    if signum == signal.SIGTERM:
        assert returncode == EXIT_SIGTERM, output  # stopped cleanly after its batch
        assert "stopped" in output
    else:
        assert returncode == -signal.SIGKILL


@pytest.mark.parametrize("signum", SIGNALS)
def test_ingest_killed_midway_then_rerun(
    make_app: AppFactory, database_url: str, tmp_path: Path, signum: int
) -> None:
    pw = make_app(database_url=database_url, semantic=False)
    env = child_env(pw.settings)
    table = tmp_path / "big.jsonl"
    ids = write_table(table, TABLE_ROWS)
    point = random.Random(f"ingest {signum}").randrange(400, TABLE_ROWS - 600)

    stopped = signal_when(
        start(["ingest", "table", str(table)], env), lambda: pw.store.count() >= point, signum
    )
    assert stopped.signalled, stopped.output
    check_stopped(signum, stopped.returncode, stopped.output)
    after = counts(pw)
    print(f"\ningest {signal.Signals(signum).name} at >= {point} papers: {after}")
    if signum == signal.SIGTERM:  # the batch was finished and applied before exiting
        assert after["pending"] == 0 and after["keyword_documents"] == after["papers"], after

    code, output = run(["ingest", "table", str(table)], env)
    assert code == 0 and "Traceback" not in output, output
    final = counts(pw)
    print(f"after the rerun: {final}")
    assert final["papers"] == final["keyword_documents"] == TABLE_ROWS, final
    code, report = doctor(env)
    assert code == 0 and report["in_step"], report
    assert report["keyword"]["documents"] == report["papers"] == TABLE_ROWS
    rng = random.Random(signum)
    assert_searchable(pw, [ids[0], ids[point], ids[-1], *rng.sample(ids, 5)])


@pytest.mark.parametrize("signum", SIGNALS)
def test_sync_killed_midway_then_rerun(
    make_app: AppFactory, database_url: str, tmp_path: Path, signum: int
) -> None:
    pw = make_app(database_url=database_url, semantic=False)
    days = tmp_path / "days"
    days.mkdir()
    for f in sorted(HF_DAILY.glob("2025-0[56]-*.json"))[-24:]:
        shutil.copy(f, days / f.name)
    expected = {r.arxiv_id for r in read_hf_daily_dir(days) if isinstance(r, PaperRecord)}
    assert len(expected) > 500  # two ingest batches at least
    env = child_env(pw.settings)
    args = ["sync", "--source", f"hf-daily:{days}"]

    stopped = signal_when(start(args, env), lambda: pw.store.count() > 0, signum)
    assert stopped.signalled, stopped.output
    check_stopped(signum, stopped.returncode, stopped.output)
    after = counts(pw)
    print(f"\nsync {signal.Signals(signum).name} after its first batch: {after}")
    if signum == signal.SIGTERM:
        assert after["pending"] == 0 and after["keyword_documents"] == after["papers"], after

    code, output = run(args, env)
    assert code == 0 and "Traceback" not in output, output
    final = counts(pw)
    print(f"after the rerun: {final}")
    assert final["papers"] == final["keyword_documents"] == len(expected), final
    code, report = doctor(env)
    assert code == 0 and report["in_step"], report
    assert_searchable(pw, random.Random(signum).sample(sorted(expected), 5))
