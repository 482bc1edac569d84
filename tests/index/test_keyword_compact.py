"""``TantivyKeywordIndex.compact``: every document written again in one commit by one
writer, so the index is one segment; the same searches find the same papers with the
same scores; stopped or refused, the index is as it was."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperwire.index.base import IndexDoc, KeywordQuery
from paperwire.index.keyword import KeywordIndexLockedError, TantivyKeywordIndex
from paperwire.models.search import SearchFilters

WORDS = ["graph", "neural", "protein", "folding", "language", "model", "sparse", "attention"]


def _doc(i: int) -> IndexDoc:
    title = f"{WORDS[i % 8]} {WORDS[(i * 3) % 8]} study {i}"
    abstract = " ".join(WORDS[(i + k) % 8] for k in range(i % 5 + 3))
    return IndexDoc(
        arxiv_id=f"2401.{i:05d}",
        title=title,
        abstract=abstract,
        authors=[f"Author {i % 7}"],
        categories=["cs.CL" if i % 2 else "q-bio.BM"],
        organization=None,
        published=dt.date(2024, 1, 1) + dt.timedelta(days=i),
        has_code=i % 3 == 0,
    )


def _in_segments(path: Path, batches: int, per_batch: int = 20) -> TantivyKeywordIndex:
    """An index in ``batches`` segments: one writer thread makes one segment a commit
    (two threads may make two, and tantivy merges eight into one: a busy host's
    ``make test`` once found five commits of two threads in one segment)."""
    index = TantivyKeywordIndex(path, writer_threads=1)
    for b in range(batches):
        index.upsert([_doc(b * per_batch + i) for i in range(per_batch)])
        index.commit()
    assert index.segments() == batches
    return index


def _searches(index: TantivyKeywordIndex) -> list[dict[str, float]]:
    """Every match's BM25 score (all of them: ties are ordered by where a document
    lies, which a compaction changes)."""
    found = []
    for words in (["graph", "neural"], ["protein"], ["sparse", "attention", "model"]):
        for filters in (SearchFilters(), SearchFilters(category="cs.CL")):
            ranked = index.keyword_search(KeywordQuery(terms=words), filters, 1000)
            found.append({i: round(s, 4) for i, s in zip(ranked.ids, ranked.scores, strict=True)})
    return found


def test_compact_makes_one_segment_that_finds_the_same(tmp_path: Path) -> None:
    index = _in_segments(tmp_path / "kw", 5)
    assert index.segments() > 1
    before = _searches(index)
    assert all(before)
    progress: list[int] = []

    written = index.compact(
        [[_doc(i) for i in range(50)], [_doc(i) for i in range(50, 100)]],
        on_progress=progress.append,
    )

    assert written == 100 and progress == [50, 50]
    assert index.segments() == 1 and index.count() == 100
    assert _searches(index) == before
    # a later write lands as usual
    index.upsert([_doc(100)])
    index.commit()
    assert index.count() == 101 and _searches(index)[0]


def test_compact_holds_what_it_was_given_only(tmp_path: Path) -> None:
    """The store is the truth: documents the index held that the batches do not (a
    paper hidden since) are gone after it."""
    index = _in_segments(tmp_path / "kw", 3)
    assert index.compact([[_doc(i) for i in range(0, 60, 2)]]) == 30
    assert index.count() == 30
    assert sorted(index.fingerprints()) == sorted(_doc(i).arxiv_id for i in range(0, 60, 2))


def test_a_stopped_compaction_changes_nothing(tmp_path: Path) -> None:
    index = _in_segments(tmp_path / "kw", 3)
    before, segments = _searches(index), index.segments()
    stop = threading.Event()

    def batches() -> Iterator[list[IndexDoc]]:
        yield [_doc(i) for i in range(30)]
        stop.set()  # SIGTERM while the next batch is read
        yield [_doc(i) for i in range(30, 60)]

    assert index.compact(batches(), stop=stop) is None
    assert index.segments() == segments and index.count() == 60
    assert _searches(index) == before
    # the writer's lock was released: the index takes writes again
    index.upsert([_doc(60)])
    index.commit()
    assert index.count() == 61


def test_a_compaction_stopped_during_its_last_batch_changes_nothing(tmp_path: Path) -> None:
    """A SIGTERM after the last batch was read (while it was written): not committed."""
    index = _in_segments(tmp_path / "kw", 3)
    segments = index.segments()
    stop = threading.Event()
    assert (
        index.compact([[_doc(i) for i in range(60)]], stop=stop, on_progress=lambda _: stop.set())
        is None
    )
    assert index.segments() == segments and index.count() == 60


def test_a_failing_batch_rolls_the_compaction_back(tmp_path: Path) -> None:
    index = _in_segments(tmp_path / "kw", 2)
    segments = index.segments()

    def batches() -> Iterator[list[IndexDoc]]:
        yield [_doc(i) for i in range(10)]
        raise OSError("the store went away")

    with pytest.raises(OSError, match="went away"):
        index.compact(batches())
    assert index.count() == 40 and index.segments() == segments


def test_compact_is_refused_while_another_writer_holds_the_lock(tmp_path: Path) -> None:
    """Another process (here another handle) holding the writer's lock: refused, and
    what it writes is not lost."""
    index = _in_segments(tmp_path / "kw", 2)
    other = TantivyKeywordIndex(tmp_path / "kw")
    other.upsert([_doc(40)])  # takes the lock until its commit
    with pytest.raises(KeywordIndexLockedError, match="another process is writing"):
        index.compact([[_doc(i) for i in range(40)]])
    other.commit()
    index.refresh()
    assert index.count() == 41  # its write landed; the refused compaction wrote nothing
    other.close()
