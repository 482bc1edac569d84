"""What each data version changed (``store.versions``): a vote declares the paper and its
feed days, anything else says "anything", and a reader too far behind is told to start
afresh. Real SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError

from paperwire.models.papers import PaperRecord
from paperwire.store import Database, PaperStore
from paperwire.store.schema.versions import DataChange, DataVersion
from paperwire.store.users import UserStore
from paperwire.store.versions import CHANGES_KEPT, ChangeLog, VersionWatch, days_in, tags_of
from paperwire.store.votes import VoteStore

DAY = dt.date(2026, 11, 20)


def _paper(db: Database, aid: str, days: list[dt.date]) -> None:
    store = PaperStore(db)
    for day in days:
        record = PaperRecord(
            arxiv_id=aid,
            source="hf-daily",
            title=f"Paper {aid}",
            abstract="An abstract.",
            featured_on=day,
        )
        outcome = store.upsert([(record, f"test:{aid}")])
        assert not outcome.rejections, outcome


def test_a_vote_declares_its_paper_and_the_days_it_was_featured(db: Database) -> None:
    _paper(db, "2511.00001", [DAY, DAY + dt.timedelta(days=3)])
    _paper(db, "2511.00002", [DAY])
    user = UserStore(db).create("v@example.org", "Voter", "not-a-real-hash")
    before, _ = db.data_version()
    VoteStore(db).vote(user.id, "2511.00001")
    after, _ = db.data_version()
    assert after == before + 1
    assert db.change_log(before, after).tags == {
        "paper:2511.00001",
        "day:2026-11-20",
        "day:2026-11-23",
    }
    VoteStore(db).unvote(user.id, "2511.00001")
    VoteStore(db).vote(user.id, "2511.00002")
    latest, _ = db.data_version()
    assert db.change_log(after, latest).tags == {
        "paper:2511.00001",
        "day:2026-11-20",
        "day:2026-11-23",
        "paper:2511.00002",
    }
    assert db.change_log(latest, latest).tags == set()


def test_a_change_that_declares_nothing_means_anything_changed(db: Database) -> None:
    _paper(db, "2511.00001", [DAY])
    user = UserStore(db).create("v@example.org", "Voter", "not-a-real-hash")
    start, _ = db.data_version()
    VoteStore(db).vote(user.id, "2511.00001")
    _paper(db, "2511.00003", [DAY])  # an ingest: declares nothing
    end, _ = db.data_version()
    assert end == start + 2
    assert db.change_log(start, start + 1).tags == {"paper:2511.00001", "day:2026-11-20"}
    assert db.change_log(start, end).tags is None
    assert db.change_log(start + 1, end).tags is None


def test_a_reader_whose_versions_were_pruned_starts_afresh(db: Database) -> None:
    _paper(db, "2511.00001", [DAY])
    user = UserStore(db).create("v@example.org", "Voter", "not-a-real-hash")
    votes = VoteStore(db)
    start, _ = db.data_version()
    votes.vote(user.id, "2511.00001")
    votes.unvote(user.id, "2511.00001")
    end, _ = db.data_version()
    assert db.change_log(start, end).tags == {"paper:2511.00001", "day:2026-11-20"}
    with db.session() as s:  # what pruning does to versions older than CHANGES_KEPT
        s.execute(delete(DataChange).where(DataChange.version == start + 1))
    assert db.change_log(start, end).tags is None
    assert db.change_log(start + 1, end).tags == {"paper:2511.00001", "day:2026-11-20"}


def test_writers_prune_old_changes(db: Database) -> None:
    """Rows older than ``CHANGES_KEPT`` versions go (every few hundred versions)."""
    _paper(db, "2511.00001", [DAY])
    user = UserStore(db).create("v@example.org", "Voter", "not-a-real-hash")
    with db.session() as s:  # jump the version forward instead of voting 4,000 times
        s.execute(DataChange.__table__.insert().values(version=10, tags=None))
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE data_version SET version = {CHANGES_KEPT + 255}")
    votes = VoteStore(db)
    votes.vote(user.id, "2511.00001")  # version CHANGES_KEPT + 256: a pruning commit
    with db.engine.connect() as conn:
        kept = sorted(v for (v,) in conn.exec_driver_sql("SELECT version FROM data_changes"))
    assert 10 not in kept
    assert kept[-1] == CHANGES_KEPT + 256
    assert min(kept) > 256


def test_one_read_of_the_version_per_request_that_follows_its_own_writes(
    db: Database, database_url: str
) -> None:
    """Inside ``one_version_per_request`` the version is read once: another writer's
    commit shows in the next request, not halfway through this one; a commit made
    inside the request shows at once (the request sees its own writes)."""
    from paperwire.store.versions import one_version_per_request

    other = Database(database_url)
    try:
        _paper(db, "2511.30001", [DAY])
        start = db.data_version()[0]
        with one_version_per_request():
            assert db.data_version()[0] == start
            # another worker commits meanwhile (a thread starts outside this context)
            worker = threading.Thread(target=_paper, args=(other, "2511.30002", [DAY]))
            worker.start()
            worker.join()
            assert db.data_version()[0] == start  # the request keeps its first read
            _paper(db, "2511.30003", [DAY])  # this request writes: it sees its write
            assert db.data_version()[0] == start + 2
        assert db.data_version()[0] == start + 2  # outside a request: every call reads
        _paper(other, "2511.30004", [DAY])
        assert db.data_version()[0] == start + 3
    finally:
        other.close()


def test_a_watch_tells_each_change_once_and_an_older_version_is_no_news(db: Database) -> None:
    """The rules every reader of the version shares (page cache, kept rankings, the
    "submitted by" map): the first look is "anything", a vote names its paper, an older
    version than seen (a request that queued after reading it) says nothing."""
    _paper(db, "2511.00001", [DAY])
    user = UserStore(db).create("v@example.org", "Voter", "not-a-real-hash")
    watch = db.watch()
    start, _ = db.data_version()
    first = watch.news(start)
    assert first is not None and first.anything
    assert watch.news(start) is None
    VoteStore(db).vote(user.id, "2511.00001")
    voted, _ = db.data_version()
    news = watch.news(voted)
    assert news is not None and not news.anything
    assert news.tags == {"paper:2511.00001", "day:2026-11-20"}
    assert watch.news(start) is None  # older: no news, and the place stays
    assert watch.seen == voted
    _paper(db, "2511.00002", [DAY])  # an ingest declares nothing
    latest, _ = db.data_version()
    news = watch.news(latest)
    assert news is not None and news.anything


def test_a_watch_whose_change_log_read_fails_reports_those_changes_at_the_next_look(
    db: Database,
) -> None:
    """A failed read of the change log (a locked or lost database for a moment) must not
    cost the changes: the watch stays where it was, so kept rankings and pages are not
    served stale until they expire."""
    _paper(db, "2511.00001", [DAY])
    failures = [OperationalError("SELECT", {}, Exception("database is locked"))]

    def change_log(after: int, upto: int) -> ChangeLog:
        if failures:
            raise failures.pop()
        return db.change_log(after, upto)

    watch = VersionWatch(change_log)
    start, _ = db.data_version()
    assert watch.news(start) is not None  # the first look: "anything", no read
    _paper(db, "2511.00002", [DAY])  # an ingest: it declares nothing
    latest, _ = db.data_version()
    with pytest.raises(OperationalError):
        watch.news(latest)
    assert watch.seen == start
    news = watch.news(latest)
    assert news is not None and news.anything


def test_submitters_are_read_again_after_a_submission_but_not_after_a_vote(
    db: Database,
) -> None:
    from paperwire.store.submissions import SOURCE, SubmissionStore

    store = PaperStore(db)
    record = PaperRecord(
        arxiv_id="2511.00001",
        source=SOURCE,
        title="Paper 2511.00001",
        abstract="An abstract.",
        featured_on=DAY,
        submitted_by="Ada",
    )
    assert not store.upsert([(record, "test:1")]).rejections
    user = UserStore(db).create("v@example.org", "Voter", "not-a-real-hash")
    submissions = SubmissionStore(db)
    kept = submissions.current_submitters()
    assert kept == {"2511.00001": "Ada"}
    VoteStore(db).vote(user.id, "2511.00001")
    assert submissions.current_submitters() is kept  # a vote: not read again
    second = record.model_copy(update={"arxiv_id": "2511.00002", "submitted_by": "Grace"})
    assert not store.upsert([(second, "test:2")]).rejections
    assert submissions.current_submitters() == {"2511.00001": "Ada", "2511.00002": "Grace"}


def test_an_undeclared_change_logs_the_tables_it_wrote(db: Database) -> None:
    """A signup logs ``users``; a comment its own tables and ``papers:counts`` (it moves
    only the paper's comment counter); an ingest the paper tables; a vote, declared,
    none. A watch tells whether the news touch some tables."""
    from paperwire.store.comments import CommentStore

    watch = db.watch()
    _paper(db, "2511.00001", [DAY])
    start, _ = db.data_version()
    assert watch.news(start) is not None  # the first look: anything
    user = UserStore(db).create("v@example.org", "Voter", "not-a-real-hash")
    signed_up, _ = db.data_version()
    assert db.change_log(start, signed_up).written == {"users"}
    VoteStore(db).vote(user.id, "2511.00001")
    voted, _ = db.data_version()
    assert db.change_log(signed_up, voted).written == set()
    CommentStore(db).create(user.id, "2511.00001", "Nice.", None)
    commented, _ = db.data_version()
    assert db.change_log(voted, commented).written == {"comments", "papers:counts"}
    news = watch.news(commented)
    assert news is not None and news.anything  # the page cache still drops everything
    assert news.written == {"users", "comments", "papers:counts"}
    assert not news.touches({"papers", "embeddings"})
    assert news.touches({"comments"})
    _paper(db, "2511.00002", [DAY])
    ingested, _ = db.data_version()
    assert {"papers", "featured", "paper_sources", "index_journal"} <= (
        db.change_log(commented, ingested).written or set()
    )
    news = watch.news(ingested)
    assert news is not None and news.touches({"papers"})


def test_a_change_logged_without_its_tables_touches_every_table(db: Database) -> None:
    """A row an older process logged (no ``written``), or a version no longer kept:
    unknown, i.e. every table."""
    _paper(db, "2511.00001", [DAY])
    start, _ = db.data_version()
    with db.engine.begin() as conn:  # an older process's commit: a version, no tables
        conn.exec_driver_sql("UPDATE data_version SET version = version + 1")
        conn.execute(DataChange.__table__.insert().values(version=start + 1, tags=None))
    UserStore(db).create("v@example.org", "Voter", "not-a-real-hash")
    assert db.change_log(start, start + 1).written is None
    assert db.change_log(start, start + 2).written is None
    assert db.change_log(start + 1, start + 2).written == {"users"}
    with db.session() as s:
        s.execute(delete(DataChange).where(DataChange.version == start + 2))
    assert db.change_log(start + 1, start + 2).written is None
    watch = db.watch()
    first = watch.news(start + 2)
    assert first is not None and first.touches(set())  # a first look: anything


def test_the_days_a_change_names_are_read_back_from_its_tags() -> None:
    """Writers (``paper_tags``), pages (``page_shows``) and kept reads (``KeptReads``)
    spell and read the tags through one pair of functions: a day survives the trip,
    a paper is not taken for a day."""
    days = [dt.date(2026, 11, 20), dt.date(2026, 11, 23)]
    tags = tags_of(["2511.00001"], days)
    assert tags == {"paper:2511.00001", "day:2026-11-20", "day:2026-11-23"}
    assert days_in(tags) == set(days)
    assert days_in(tags_of(["2511.00001"])) == set()


def _pooled_read(db: Database) -> tuple[int, dt.datetime | None]:
    """The version as SQLAlchemy reads it through a pooled connection."""
    with db.engine.connect() as conn:
        row = conn.execute(
            select(DataVersion.version, DataVersion.changed_at).where(DataVersion.id == 1)
        ).first()
    return (int(row[0]), row[1]) if row else (0, None)


def test_the_version_read_sees_another_writers_commit_at_once(db: Database) -> None:
    """Another ``Database`` on the same store (another worker, a CLI ingest) commits: the
    next read sees it, equal to a pooled read, ``changed_at`` included (SQLite's held
    connection parses it itself)."""
    assert db.data_version() == _pooled_read(db) == (0, None)
    other = Database(db.url)
    try:
        for n, aid in enumerate(["2511.00001", "2511.00002", "2511.00003"], 1):
            _paper(other, aid, [DAY])
            version, changed_at = db.data_version()
            assert (version, changed_at) == _pooled_read(db)
            assert version == n and isinstance(changed_at, dt.datetime)
    finally:
        other.close()


def test_the_version_read_holds_no_snapshot(db: Database) -> None:
    """Between reads the held connection keeps no read transaction open: a checkpoint
    can still truncate SQLite's write-ahead log (it cannot while a reader holds one)."""
    if db.dialect != "sqlite":
        pytest.skip("a SQLite write-ahead log")
    _paper(db, "2511.00001", [DAY])
    assert db.data_version()[0] == 1
    _paper(db, "2511.00002", [DAY])
    assert db.data_version()[0] == 2
    with db.engine.connect() as conn:
        busy, _log, _moved = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    assert busy == 0


def test_version_reads_from_many_threads_never_go_back(db: Database) -> None:
    """Readers in eight threads while a writer commits: each sees the versions in order
    and the last read of each is the last commit."""
    seen: dict[int, list[int]] = {t: [] for t in range(8)}
    done = threading.Event()

    def read(t: int) -> None:
        while not done.is_set():
            seen[t].append(db.data_version()[0])
        seen[t].append(db.data_version()[0])

    threads = [threading.Thread(target=read, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    try:
        for n in range(20):
            _paper(db, f"2511.{n:05d}", [DAY])
    finally:
        done.set()
        for thread in threads:
            thread.join()
    for versions in seen.values():
        assert versions == sorted(versions) and versions[-1] == 20


def test_an_in_memory_store_reads_its_version_through_the_pool() -> None:
    db = Database("sqlite://")
    try:
        db.migrate()
        assert db.data_version() == (0, None)
        _paper(db, "2511.00001", [DAY])
        assert db.data_version()[0] == 1
    finally:
        db.close()


def _read_in_child(db: Database, out: Any) -> None:
    db.engine.dispose(close=False)  # the parent's pooled connections stay the parent's
    reader = db._versions
    inherited = {id(c) for c in reader._inherited}
    _paper(db, "2511.00002", [DAY])
    version = db.data_version()[0]
    out.put((version, inherited, {id(c) for c in reader._idle}))


def test_a_forked_child_reads_through_a_connection_of_its_own(db: Database) -> None:
    """A child forked after the parent read (a worker, a test's process) keeps its
    parent's version-read connections aside, never closing or using them, and opens its
    own: it sees its own commit, and the parent, reading on, sees it too."""
    if db.dialect != "sqlite":
        pytest.skip("SQLite's own version-read connections")
    _paper(db, "2511.00001", [DAY])
    assert db.data_version()[0] == 1
    parents = {id(c) for c in db._versions._idle}
    assert parents
    fork = multiprocessing.get_context("fork")
    out = fork.Queue()
    child = fork.Process(target=_read_in_child, args=(db, out))
    child.start()
    try:
        version, inherited, used = out.get(timeout=120)
    finally:
        child.join(timeout=120)
    assert child.exitcode == 0
    assert version == 2
    assert inherited == parents  # set aside in the child, not closed
    assert used and not used & parents  # the child read through its own
    assert db.data_version()[0] == 2
    _paper(db, "2511.00003", [DAY])
    assert db.data_version()[0] == 3
    assert {id(c) for c in db._versions._idle} == parents


def test_a_closed_reader_reads_through_the_pool_and_keeps_nothing(db: Database) -> None:
    _paper(db, "2511.00001", [DAY])
    assert db.data_version()[0] == 1
    db._versions.close()
    assert not db._versions._idle
    _paper(db, "2511.00002", [DAY])
    assert db.data_version()[0] == 2
    assert not db._versions._idle


@pytest.mark.filterwarnings("ignore:Selection of the SingletonThreadPool")  # SQLAlchemy's own
def test_an_in_memory_uri_store_reads_through_the_pool() -> None:
    db = Database("sqlite:///file:versions?mode=memory&cache=shared&uri=true")
    try:
        db.migrate()
        _paper(db, "2511.00001", [DAY])
        assert db.data_version()[0] == 1
        assert not db._versions._idle  # no connection of its own: it would be another database
    finally:
        db.close()
