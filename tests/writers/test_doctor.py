"""``paperwire doctor`` finds each kind of drift and ``--repair`` fixes it; the index
journal's applier never skips a change (PostgreSQL commits sequence values out of
order) and only one process applies at a time."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np
from sqlalchemy import update
from typer.testing import CliRunner

from paperwire.cli import app
from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.index.base import IndexDoc
from paperwire.jobs.doctor import diagnose, repair
from paperwire.models.papers import PaperRecord
from paperwire.models.search import SearchMode, SearchRequest
from paperwire.services.indexer import apply_pending, keyword_half
from paperwire.services.ingest import ingest_records
from paperwire.sources.hf_daily import read_hf_daily_dir
from paperwire.store.audit import AuditStore
from paperwire.store.db import Database
from paperwire.store.journal import IndexJournal, record_changes
from paperwire.store.schema.papers import Paper
from paperwire.store.users import UserStore
from tests.conftest import HF_DAILY, AppFactory
from tests.writers.children import settings_env

DAY = dt.date(2025, 6, 10)  # 36 papers


def ingest_day(pw: Paperwire) -> list[str]:
    ingest_records(pw, read_hf_daily_dir(HF_DAILY, DAY, DAY), "hf-daily")
    return sorted(d.arxiv_id for docs in pw.store.iter_index_docs(None) for d in docs)


def _vector(seed: int, dim: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def test_doctor_reports_each_kind_of_drift_and_repair_fixes_it(
    make_app: AppFactory, database_url: str
) -> None:
    pw = make_app(database_url=database_url, semantic=False)
    ids = ingest_day(pw)
    assert diagnose(pw).in_step
    dim = 384  # the bundled model's: a Milvus collection is created with it
    docs = {d.arxiv_id: d for chunk in pw.store.iter_index_docs(None) for d in chunk}
    # Drift from outside the journal: an index written by hand.
    gone, stale, vectored = ids[0], ids[1], ids[2]
    pw.index.delete([gone])  # missing
    pw.index.upsert([replace(docs[stale], title="An older title")])  # stale
    pw.index.upsert([replace(docs[vectored], vector=_vector(1, dim))])  # vector not in store
    stray = IndexDoc("2599.00001", "Not in the store", "", [], [], None, None, False)
    pw.index.upsert([stray])  # unknown id
    pw.index.commit()
    with pw.db.session() as s:  # hidden in the store, but not through the journal
        s.execute(update(Paper).where(Paper.arxiv_id == ids[3]).values(hidden=True))

    report = diagnose(pw)
    assert not report.in_step and report.pending == 0
    kw, vec = report.keyword, report.vectors
    assert (kw.expected, kw.documents) == (len(ids) - 1, len(ids))
    assert (kw.missing, kw.extra, kw.stale) == (1, 2, 1), kw
    assert set(kw.examples) == {gone, stray.arxiv_id, ids[3], stale}
    assert (vec.expected, vec.documents, vec.extra) == (0, 1, 1), vec

    env = settings_env(pw.settings)  # the CLI in this process
    result = CliRunner().invoke(app, ["doctor"], env=env, catch_exceptions=False)
    assert result.exit_code == 1 and "drift" in result.output, result.output

    fixed = repair(pw)
    assert fixed.in_step and fixed.repaired == 5, fixed
    assert (fixed.keyword.documents, fixed.vectors.documents) == (len(ids) - 1, 0)
    res = pw.search.search(SearchRequest(q=docs[stale].title, mode=SearchMode.keyword))
    assert res.hits and res.hits[0].paper.arxiv_id == stale
    result = CliRunner().invoke(app, ["doctor", "--json"], env=env, catch_exceptions=False)
    assert result.exit_code == 0 and '"in_step": true' in result.output, result.output


def test_changes_committed_out_of_seq_order_are_applied(postgres_url: str, tmp_path: Path) -> None:
    """PostgreSQL hands out sequence values at insert time but commits in any order: the
    applier must not skip a row that commits after a later one was applied."""
    pw = Paperwire(Settings(home=tmp_path, database_url=postgres_url, semantic=False))
    try:
        early, late = ingest_day(pw)[:2]
        slow = pw.db._sessions()  # a writer whose transaction stays open a while
        slow.execute(
            update(Paper).where(Paper.arxiv_id == early).values(title="Quokkas calibrate zebrafish")
        )
        record_changes(slow, [early], "stored")  # takes the smaller seq
        with pw.db.session() as s:
            s.execute(update(Paper).where(Paper.arxiv_id == late).values(title="Late edit"))
            record_changes(s, [late], "stored")
        first = apply_pending(pw)
        assert first.applied == 1 and first.pending == 0
        slow.commit()
        slow.close()
        assert pw.journal.pending_count() == 1  # the early row, seen only now
        assert apply_pending(pw).applied == 1
        report = diagnose(pw)
        assert report.in_step, report
        res = pw.search.search(SearchRequest(q="quokkas zebrafish", mode=SearchMode.keyword))
        assert res.hits[0].paper.arxiv_id == early
    finally:
        pw.close()


def test_one_applier_at_a_time(make_app: AppFactory, database_url: str) -> None:
    pw = make_app(database_url=database_url, semantic=False)
    ingest_day(pw)
    other = IndexJournal(Database(pw.settings.db_url))  # as another process would
    with pw.db.session() as s:
        record_changes(s, ["2506.08007"], "stored")
    try:
        with other.claim() as held:
            assert held
            busy = apply_pending(pw, wait=0.2)
            assert busy.busy and busy.applied == 0 and busy.pending == 1
            with pw.journal.claim() as also:
                assert not also
        done = apply_pending(pw)
        assert not done.busy and done.applied == 1 and done.pending == 0
    finally:
        other.db.close()


def test_hiding_through_the_store_is_queued_with_the_change(
    make_app: AppFactory, database_url: str
) -> None:
    """The moderation write and its journal row are one transaction: a process that dies
    right after hiding leaves the next applier enough to drop the paper from search."""
    pw = make_app(database_url=database_url, semantic=False)
    ids = ingest_day(pw)
    admin = UserStore(pw.db).create("mod@example.org", "Mod", "x", is_admin=True)
    assert AuditStore(pw.db).set_hidden(admin, [ids[0]], True) == [ids[0]]
    assert pw.journal.pending_count() == 1  # nothing applied it yet
    report = diagnose(pw)
    assert report.keyword.extra == 1 and report.pending == 1
    apply_pending(pw)
    assert diagnose(pw).in_step


def test_status_shows_the_doctor_report_to_admins_only(make_app: AppFactory) -> None:
    from tests.community.conftest import make_env

    env = make_env(make_app)
    admin = env.account("root@example.org", "Root", admin=True)
    visitor = env.client()
    assert visitor.get("/api/status").json()["doctor"] is None
    assert "Store and index" not in visitor.get("/status").text
    report = admin.c.get("/api/status").json()["doctor"]
    assert report["in_step"] and report["keyword"]["documents"] == report["papers"] > 0
    lost = "2506.08007"
    env.pw.index.delete([lost])  # drift behind the journal's back
    env.pw.index.commit()
    report = admin.c.get("/api/status").json()["doctor"]
    assert not report["in_step"] and report["keyword"]["missing"] == 1
    assert report["keyword"]["examples"] == [lost]
    page = admin.c.get("/status").text
    assert "Store and index" in page and "paperwire doctor --repair" in page
    keyword = keyword_half(env.pw)  # the embedded index's tantivy half counts segments
    if keyword is None:
        assert report["keyword_segments"] is None and "Keyword index segments" not in page
    else:
        segments = keyword.segments()
        assert report["keyword_segments"] == segments >= 1
        assert f"Keyword index segments: {segments}" in page


def test_only_changes_to_searchable_fields_are_queued(
    make_app: AppFactory, database_url: str
) -> None:
    """Upvotes move every hour (the worker's sync): they are not the index's business."""
    pw = make_app(database_url=database_url, semantic=False)
    rec = PaperRecord(
        arxiv_id="2599.00001", source="hf-daily", title="Quokkas", abstract="A.", upvotes=1
    )
    assert pw.store.upsert([(rec, "t")]).queued == ["2599.00001"]
    voted = pw.store.upsert([(rec.model_copy(update={"upvotes": 9}), "t")])
    assert voted.updated == ["2599.00001"] and voted.queued == []
    retitled = pw.store.upsert([(rec.model_copy(update={"title": "Wombats"}), "t")])
    assert retitled.queued == ["2599.00001"]
    assert pw.journal.pending_count() == 2
