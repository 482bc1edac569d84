"""The keyword index compacted from the store (``paperwire index --compact``, and after
a bulk ingest): one segment, the same search results, nothing lost to a change made
meanwhile (it stays queued, then is applied)."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paperwire.cli import app
from paperwire.core import Paperwire
from paperwire.index.base import IndexDoc
from paperwire.index.embedded import KEYWORD_DIR, EmbeddedIndex
from paperwire.index.keyword import KeywordIndexError, TantivyKeywordIndex
from paperwire.jobs.doctor import diagnose
from paperwire.models.papers import PaperRecord
from paperwire.models.search import SearchMode, SearchRequest
from paperwire.services import indexer
from paperwire.services.indexer import (
    apply_pending,
    bulk_load_to_compact,
    compact_keyword_index,
)
from paperwire.services.ingest import ingest_records
from paperwire.sources.hf_daily import read_hf_daily_dir
from paperwire.store.audit import AuditStore
from paperwire.store.users import UserStore
from tests.conftest import HF_DAILY, AppFactory
from tests.writers.children import more_segments

WEEK = (dt.date(2025, 6, 9), dt.date(2025, 6, 13))


def _app(make_app: AppFactory, database_url: str) -> Paperwire:
    """An app on the embedded index that applies an ingest's changes batch by batch."""
    return make_app(
        database_url=database_url, semantic=False, index="embedded", index_apply_seconds=0.001
    )


@pytest.fixture
def bulk_from_100(monkeypatch: pytest.MonkeyPatch) -> None:
    """The week's ~130 papers stand for a bulk load, whatever its segments."""
    monkeypatch.setattr(indexer, "COMPACT_AFTER_ADDED", 100)
    monkeypatch.setattr(indexer, "COMPACT_MIN_SEGMENTS", 0)


def _bulk_loaded(make_app: AppFactory, database_url: str) -> Paperwire:
    """An app whose ingest committed the index batch by batch (several segments)."""
    pw = _app(make_app, database_url)
    ingest_records(pw, read_hf_daily_dir(HF_DAILY, *WEEK), "hf-daily", batch_size=25)
    more_segments(pw)
    return pw


def _cli_env(database_url: str) -> dict[str, str]:
    """The settings of ``_app`` for a CLI run on its home."""
    return {
        "PAPERWIRE_DATABASE_URL": database_url,
        "PAPERWIRE_INDEX": "embedded",
        "PAPERWIRE_SEMANTIC": "false",
        "PAPERWIRE_INDEX_APPLY_SECONDS": "0.001",
        "PAPERWIRE_THUMBNAIL_CACHE": "false",
    }


def _week_args() -> list[str]:
    """The week ``_bulk_loaded`` ingests, as an ingest command's options."""
    return ["--since", WEEK[0].isoformat(), "--until", WEEK[1].isoformat()]


def _keyword(pw: Paperwire) -> TantivyKeywordIndex:
    assert isinstance(pw.index, EmbeddedIndex)
    return pw.index.keyword


def _results(pw: Paperwire) -> list[list[str]]:
    return [
        [
            h.paper.arxiv_id
            for h in pw.search.search(SearchRequest(q=q, mode=SearchMode.keyword)).hits
        ]
        for q in ("language model reasoning", "video generation", "diffusion")
    ]


def test_compacting_keeps_every_paper_and_result(make_app: AppFactory, database_url: str) -> None:
    pw = _bulk_loaded(make_app, database_url)
    before = _keyword(pw).segments()
    assert before > 1
    results = _results(pw)
    assert all(results)
    papers = pw.store.count()

    report = compact_keyword_index(pw)

    assert report is not None
    assert (report.segments_before, report.segments_after, report.documents) == (before, 1, papers)
    assert report.describe().startswith(f"keyword index compacted: {before} segments -> 1")
    assert diagnose(pw).in_step
    # same matches (ties may trade places: where a document lies orders them)
    assert [sorted(r) for r in _results(pw)] == [sorted(r) for r in results]


def test_a_change_made_while_compacting_is_applied_after_it(
    make_app: AppFactory, database_url: str
) -> None:
    """Another writer stores a paper mid-way: the applier cannot apply it meanwhile (the
    compaction holds the claim), and the compaction applies it once done."""
    pw = _bulk_loaded(make_app, database_url)
    late = PaperRecord(
        arxiv_id="2599.00042", source="hf-daily", title="Quokka locomotion", abstract="Hops."
    )
    made: list[str] = []
    busy: list[bool] = []

    def meanwhile(n: int) -> None:
        if not made:  # another writer, while the store is being read
            made.extend(pw.store.upsert([(late, "t")]).queued)
            applier = threading.Thread(target=lambda: busy.append(apply_pending(pw).busy))
            applier.start()
            applier.join()

    report = compact_keyword_index(pw, on_progress=meanwhile)

    assert report is not None and report.segments is not None
    assert made == ["2599.00042"] and busy == [True]
    assert pw.journal.pending_count() == 0  # applied after the compaction
    assert diagnose(pw).in_step
    hits = pw.search.search(SearchRequest(q="quokka locomotion", mode=SearchMode.keyword)).hits
    assert [h.paper.arxiv_id for h in hits] == ["2599.00042"]


def test_a_paper_hidden_before_it_is_not_written_back(
    make_app: AppFactory, database_url: str
) -> None:
    """The store is the truth: a paper hidden whose change is still queued (a process
    died before applying it) is left out, not carried over from the old segments."""
    pw = _bulk_loaded(make_app, database_url)
    gone = _results(pw)[0][0]
    admin = UserStore(pw.db).create("mod@example.org", "Mod", "x", is_admin=True)
    assert AuditStore(pw.db).set_hidden(admin, [gone], True) == [gone]
    assert gone in _keyword(pw).fingerprints()  # not applied yet

    assert compact_keyword_index(pw) is not None

    assert gone not in _keyword(pw).fingerprints()
    assert pw.journal.pending_count() == 0 and diagnose(pw).in_step
    assert all(gone not in r for r in _results(pw))


@pytest.mark.usefixtures("bulk_from_100")
def test_a_bulk_ingest_compacts_and_a_small_one_does_not(
    make_app: AppFactory, database_url: str
) -> None:
    pw = _app(make_app, database_url)
    bulk = ingest_records(pw, read_hf_daily_dir(HF_DAILY, *WEEK), "hf-daily", batch_size=25)
    assert bulk.added >= 100
    assert bulk.index_segments is not None
    assert bulk.index_segments[1] == _keyword(pw).segments() == 1
    assert diagnose(pw).in_step

    day = dt.date(2025, 6, 16)
    small = ingest_records(pw, read_hf_daily_dir(HF_DAILY, day, day), "hf-daily")
    assert 0 < small.added < 100 and small.index_segments is None
    assert diagnose(pw).in_step


@pytest.mark.usefixtures("bulk_from_100")
def test_an_operator_can_turn_compaction_after_a_bulk_load_off(
    make_app: AppFactory, database_url: str
) -> None:
    """``compact_bulk_loads=False`` (its memory at 1M papers): a bulk ingest leaves
    its segments, doctor counts them, and ``compact_keyword_index`` still merges them."""
    pw = make_app(
        database_url=database_url,
        semantic=False,
        index="embedded",
        index_apply_seconds=0.001,
        compact_bulk_loads=False,
    )
    bulk = ingest_records(pw, read_hf_daily_dir(HF_DAILY, *WEEK), "hf-daily", batch_size=25)
    assert bulk.added >= 100 and bulk.index_segments is None
    more_segments(pw)
    assert not bulk_load_to_compact(pw, indexer.COMPACT_AFTER_ADDED)
    left = _keyword(pw).segments()
    assert left > 1 and diagnose(pw).keyword_segments == left
    report = compact_keyword_index(pw)
    assert report is not None and report.segments_after == 1
    assert diagnose(pw).keyword_segments == 1


def test_only_an_index_in_more_segments_than_the_bound_is_compacted(
    make_app: AppFactory, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexer, "COMPACT_MIN_SEGMENTS", 1)
    pw = _bulk_loaded(make_app, database_url)
    many = indexer.COMPACT_AFTER_ADDED
    assert bulk_load_to_compact(pw, many)
    assert not bulk_load_to_compact(pw, many - 1)  # not a bulk load
    assert compact_keyword_index(pw) is not None
    assert not bulk_load_to_compact(pw, many)  # one segment


def test_index_compact_cli(make_app: AppFactory, database_url: str) -> None:
    pw = _bulk_loaded(make_app, database_url)
    home = str(pw.settings.home)
    env = {"PAPERWIRE_DATABASE_URL": database_url, "PAPERWIRE_INDEX": "embedded"}
    before = _keyword(pw).segments()
    pw.close()
    runner = CliRunner()
    hint = "(`paperwire index --compact` makes one)"

    checked = runner.invoke(app, ["doctor", "--home", home], env=env)
    assert checked.exit_code == 0, checked.output  # segments are not drift
    assert f"keyword index segments: {before} {hint}\n" in checked.output

    done = runner.invoke(app, ["index", "--compact", "--home", home], env=env)
    assert done.exit_code == 0, done.output
    assert f"keyword index compacted: {before} segments -> 1" in done.output

    shown = runner.invoke(app, ["index", "--home", home], env=env)
    assert shown.exit_code == 0 and "keyword segments:  1\n" in shown.output
    checked = runner.invoke(app, ["doctor", "--home", home], env=env)
    assert checked.exit_code == 0 and "keyword index segments: 1\n" in checked.output

    both = runner.invoke(app, ["index", "--compact", "--rebuild", "--home", home], env=env)
    assert both.exit_code == 2 and "--compact goes alone" in both.output

    # another writer holding tantivy's lock: refused in a sentence, not a traceback
    writer = TantivyKeywordIndex(Path(home) / "index" / KEYWORD_DIR)
    writer.upsert([IndexDoc("2599.00099", "Held", "", [], [], None, None, False)])
    try:
        held = runner.invoke(app, ["index", "--compact", "--home", home], env=env)
    finally:
        writer.close()  # rolled back
    assert held.exit_code == 1, held.output
    assert "another process is writing the keyword index" in held.output
    assert not isinstance(held.exception, KeywordIndexError)


@pytest.mark.usefixtures("bulk_from_100")
def test_ingest_cli_compacts_a_bulk_load(make_app: AppFactory, database_url: str) -> None:
    pw = _app(make_app, database_url)
    home = str(pw.settings.home)
    pw.close()
    env = _cli_env(database_url)
    args = ["ingest", "hf-daily", "--from", str(HF_DAILY), *_week_args()]
    done = CliRunner().invoke(app, [*args, "--home", home], env=env)
    assert done.exit_code == 0, done.output
    assert "keyword index compacted after a bulk load:" in done.output
    assert done.output.rstrip().count("segments -> 1") == 1


@pytest.mark.usefixtures("bulk_from_100")
def test_a_finished_rebuild_compacts(make_app: AppFactory, database_url: str) -> None:
    """A rebuild writes every document again, batch by batch: as a bulk load does."""
    from paperwire.jobs.reindex import rebuild_index

    pw = _bulk_loaded(make_app, database_url)
    assert _keyword(pw).segments() > 1

    report = rebuild_index(pw)

    assert report.pending == 0 and report.error is None
    assert report.segments is not None and report.segments[1] == 1
    assert _keyword(pw).segments() == 1 and diagnose(pw).in_step


@pytest.fixture
def ctrl_c_while_compacting(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Once armed (``armed.append(True)``), a Ctrl-C lands in the compaction's first
    progress report: after its first batch is written, before its commit (a command's
    main thread gets ``KeyboardInterrupt`` there, as it does from a terminal)."""
    real = indexer.compact_keyword_index
    armed: list[bool] = []

    def interrupted(pw: Paperwire, **kwargs: object) -> object:
        def on_progress(n: int) -> None:
            raise KeyboardInterrupt

        if armed:
            kwargs["on_progress"] = on_progress
        return real(pw, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(indexer, "compact_keyword_index", interrupted)
    return armed


@pytest.mark.usefixtures("bulk_from_100")
@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["index", "--compact"], "interrupted: "),
        (["index", "--rebuild"], "interrupted while compacting: every paper is indexed; "),
        (
            ["ingest", "hf-daily", "--from", str(HF_DAILY), *_week_args()],
            "interrupted while compacting: every paper is stored and indexed; ",
        ),
    ],
    ids=["compact", "rebuild", "ingest"],
)
def test_a_ctrl_c_while_compacting_says_what_it_left(
    make_app: AppFactory,
    database_url: str,
    ctrl_c_while_compacting: list[bool],
    args: list[str],
    said: str,
) -> None:
    """Every command that compacts says the same of a Ctrl-C: no document lost, and the
    segments the index is in now (the old ones before the commit, the new one after)."""
    fresh = args[0] == "ingest"  # the ingest is the bulk load
    pw = _app(make_app, database_url) if fresh else _bulk_loaded(make_app, database_url)
    before = _keyword(pw).segments()
    home = pw.settings.home
    pw.close()
    env = _cli_env(database_url)
    ctrl_c_while_compacting.append(True)
    done = CliRunner().invoke(app, [*args, "--home", str(home)], env=env)
    out = " ".join(done.output.split())  # rich wraps long lines
    assert done.exit_code == 130, done.output
    pw = make_app(database_url=database_url, semantic=False, index="embedded", home=home)
    now = _keyword(pw).segments()
    assert now > 1  # interrupted before the commit: not one segment
    if args[1:2] == ["--compact"]:
        assert now == before  # the old segments stand
    hint = "(`paperwire index --compact` makes one)"
    assert f"{said}no document was lost; keyword segments: {now} {hint}" in out, out
    assert "as it was" not in out
    assert pw.store.count() > 0 and diagnose(pw).in_step
