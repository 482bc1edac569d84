"""Several writers at once, as the README's tour and docs/deployment.md run them: a CLI
ingest while ``paperwire up`` serves and embeds (before the index journal it crashed
with ``KeywordIndexLockedError`` and its papers never became searchable: issue 11), and
two ingests at once while a server runs."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx

from paperwire.services.ingest import ingest_records
from paperwire.sources.table import read_table
from tests.conftest import HF_DAILY, AppFactory
from tests.writers.children import (
    child_env,
    counts,
    doctor,
    run,
    running,
    serving,
    start,
    wait_for,
    write_table,
)
from tests.writers.test_kill_derived import FAST_MODEL


def found(base: str, title: str, arxiv_id: str) -> bool:
    res = httpx.get(
        f"{base}/api/search", params={"q": title, "mode": "keyword", "limit": 20}, timeout=10
    ).json()
    return arxiv_id in [h["paper"]["arxiv_id"] for h in res["hits"]]


def test_cli_ingest_while_up_serves_and_embeds(
    make_app: AppFactory, database_url: str, tmp_path: Path
) -> None:
    pw = make_app(database_url=database_url, semantic=True)
    days = tmp_path / "days"
    days.mkdir()
    for f in sorted(HF_DAILY.glob("2025-06-*.json"))[:8]:
        shutil.copy(f, days / f.name)
    table = tmp_path / "x.jsonl"
    ids = write_table(table, 400)
    env = child_env(pw.settings, **FAST_MODEL)

    # `up` serves and embeds; SIGTERM at the end stops it after the current chunk.
    with running(["up", "--from", str(days)], env) as (base, _up):
        backlog = pw.store.backlog_count(pw.model_name)
        t0 = time.monotonic()
        code, output = run(["ingest", "table", str(table)], env)
        ingest_s = time.monotonic() - t0
        assert code == 0, output
        assert "Traceback" not in output and "LockedError" not in output, output
        last = pw.store.get(ids[-1])
        # The ingest started while `up` still had papers to embed (how fast the embed then
        # finishes depends on the machine, so only the start is asserted).
        assert last is not None and backlog > 0
        searchable_s = wait_for(lambda: found(base, last.title, last.arxiv_id), 30, "search")
        print(
            f"\nCLI ingest of {len(ids)} papers while `up` embedded {backlog} others: "
            f"{ingest_s:.1f} s; its last paper searchable {searchable_s:.1f} s after the "
            f"ingest exited ({ingest_s + searchable_s:.1f} s after it started)"
        )
    code, report = doctor(env)
    assert code == 0 and report["in_step"], report
    assert report["keyword"]["documents"] == report["papers"] == pw.store.count()


def test_two_ingests_at_once_while_a_server_runs(
    make_app: AppFactory, database_url: str, tmp_path: Path
) -> None:
    pw = make_app(database_url=database_url, semantic=False)
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    ids = write_table(first, 1_000) + write_table(second, 1_000, skip=1_000)
    seed = tmp_path / "seed.jsonl"
    write_table(seed, 200, skip=2_000)
    ingest_records(pw, read_table(seed), "table")
    env = child_env(pw.settings)

    with serving(env) as base:
        procs = [start(["ingest", "table", str(t)], env) for t in (first, second)]
        for proc in procs:
            output, _ = proc.communicate(timeout=300)
            assert proc.returncode == 0 and "Traceback" not in output, output
        last = pw.store.get(ids[-1])
        assert last is not None
        wait_for(lambda: found(base, last.title, last.arxiv_id), 30, "search")
        status = httpx.get(f"{base}/api/status", timeout=10).json()
        assert status["keyword_documents"] == status["papers"] == 2_200, status
    print(f"\ntwo ingests at once + a server: {counts(pw)}")
    code, report = doctor(env)
    assert code == 0 and report["in_step"], report
