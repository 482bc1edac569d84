"""Moving backends with real data: SQLite → PostgreSQL (`paperwire migrate`) and the
embedded index → Milvus Lite (`paperwire index --rebuild --backend milvus`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from paperwire.cli import app
from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.index.factory import open_index
from paperwire.jobs.migrate import (
    MigrateError,
    compare_indexes,
    migrate_store,
    rebuild_into,
    sample_queries,
    settings_with_index,
)
from paperwire.models.papers import PaperRecord
from paperwire.services.ingest import ingest_records
from paperwire.sources.hf_daily import read_hf_daily_dir
from tests.conftest import HF_DAILY

WEEK = (dt.date(2025, 6, 9), dt.date(2025, 6, 13))
runner = CliRunner()


def sqlite_app(home: Path, **overrides: object) -> Paperwire:
    """An app on SQLite + the embedded index, whatever PAPERWIRE_TEST_BACKEND says."""
    url = f"sqlite:///{home / 'paperwire.db'}"
    return Paperwire(Settings(home=home, database_url=url, index="embedded", **overrides))


def ingest_week(pw: Paperwire) -> int:
    summary = ingest_records(pw, read_hf_daily_dir(HF_DAILY, *WEEK), "hf-daily")
    assert summary.added > 100 and not summary.rejected
    return summary.added


def table_counts(pw: Paperwire) -> dict[str, int]:
    with pw.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
        # what migrate copies: not Alembic's bookkeeping nor the page caches' change log
        names = [r[0] for r in rows if r[0] not in ("alembic_version", "data_changes")]
        return {
            n: int(conn.execute(text(f'SELECT COUNT(*) FROM "{n}"')).scalar_one()) for n in names
        }


def test_migrate_sqlite_to_postgresql(tmp_path: Path, postgres_url: str) -> None:
    src = sqlite_app(tmp_path / "src", semantic=False)
    added = ingest_week(src)
    src.store.set_meta("last_sync", "2025-06-13")
    counts = table_counts(src)
    assert counts["papers"] == added and counts["featured"] >= added

    progress: list[int] = []
    tables: list[str] = []
    report = migrate_store(
        src.db,
        postgres_url,
        batch_size=40,  # several batches per table
        on_table=lambda name, rows: tables.append(name),
        on_progress=progress.append,
    )
    assert report.ok, report.tables
    assert {c.table: c.target for c in report.tables} == counts
    assert sum(progress) == report.copied == sum(counts.values())
    assert tables.index("papers") < tables.index("featured")  # foreign-key order

    dst = Paperwire(Settings(home=tmp_path / "dst", database_url=postgres_url, semantic=False))
    try:
        for arxiv_id in ["2506.08007", *src.store.hidden_ids()]:
            assert dst.store.get(arxiv_id) == src.store.get(arxiv_id)
        paper = dst.store.get("2506.08007")
        assert paper is not None and paper.title == "Reinforcement Pre-Training"
        assert paper.upvotes == 130 and dt.date(2025, 6, 10) in paper.featured_days
        assert dst.store.get_meta("last_sync") == "2025-06-13"
        # Sequences moved past the copied ids: the target takes new papers.
        new = PaperRecord(arxiv_id="2599.00001", source="table", title="New", abstract="A.")
        assert dst.store.upsert([(new, "test")]).added == ["2599.00001"]
        assert dst.store.count() == added + 1
    finally:
        dst.close()

    with pytest.raises(MigrateError, match="not empty"):
        migrate_store(src.db, postgres_url)
    with pytest.raises(MigrateError, match="current database"):
        migrate_store(src.db, src.db.url)
    again = migrate_store(src.db, postgres_url, resume=True)  # idempotent upserts
    assert {c.table: c.source for c in again.tables} == counts
    # Only the rows of the paper added to the target differ (and its queued index change).
    differ = {c.table for c in again.tables if not c.ok}
    assert differ == {"papers", "paper_sources", "index_journal"}
    src.close()


def test_migrate_command(tmp_path: Path, postgres_url: str) -> None:
    home = tmp_path / "home"
    url = f"sqlite:///{home / 'paperwire.db'}"
    src = sqlite_app(home, semantic=False)
    ingest_week(src)
    src.close()
    env = {"PAPERWIRE_DATABASE_URL": url, "PAPERWIRE_INDEX": "embedded"}
    args = ["migrate", "--to", postgres_url, "--home", str(home)]
    result = runner.invoke(app, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "papers" in result.output and "differs" not in result.output
    again = runner.invoke(app, args, env=env, catch_exceptions=False)
    assert again.exit_code == 1 and "--resume" in again.output


@pytest.mark.slow  # real embeddings
def test_rebuild_into_milvus(tmp_path: Path) -> None:
    from paperwire.jobs.embed import embed_backlog

    home = tmp_path / "home"
    pw = sqlite_app(home)
    added = ingest_week(pw)
    embed_backlog(pw, limit=60)
    assert pw.index.keyword_count() == added and pw.index.vector_count() == 60

    milvus = open_index(settings_with_index(pw.settings, "milvus"))
    try:
        assert rebuild_into(pw, milvus) == added
        cmp = compare_indexes(pw.index, milvus, sample_queries(pw, 20))
        assert (cmp.old_keyword, cmp.new_keyword) == (added, added)
        assert (cmp.old_vectors, cmp.new_vectors) == (60, 60)
        assert len(cmp.overlaps) == 20
        # Different analyzers (stemmed tantivy vs. unstemmed Milvus Lite), same papers.
        assert cmp.mean_overlap >= 0.6, list(zip(cmp.queries, cmp.overlaps, strict=True))
    finally:
        milvus.close()
    pw.close()

    # The same through the CLI; the configured (embedded) index is left as it was.
    env = {
        "PAPERWIRE_DATABASE_URL": f"sqlite:///{home / 'paperwire.db'}",
        "PAPERWIRE_INDEX": "embedded",
    }
    result = runner.invoke(
        app,
        ["index", "--rebuild", "--backend", "milvus", "--home", str(home)],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert f"indexed {added} papers into milvus" in result.output
    assert "top-10 overlap of 20 title queries" in result.output
    rows = {
        line.split("│")[1].strip(): line.split("│")[2:4]
        for line in result.output.splitlines()
        if line.count("│") == 4
    }
    assert [c.strip() for c in rows["keyword documents"]] == [str(added), str(added)]
    assert [c.strip() for c in rows["vector documents"]] == ["60", "60"]
