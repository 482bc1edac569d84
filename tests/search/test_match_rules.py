"""The pure rules behind match sets and "more like this": coverage weights, the share a
query needs, salient terms."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest

from paperwire.index.base import (
    Counted,
    MatchCount,
    Ranked,
    TermStat,
    bm25_idf,
    coverage_units,
    required_units,
)
from paperwire.search.matches import (
    LONG_QUERY_COVERAGE,
    SHORT_QUERY_TERMS,
    QueryMatches,
    required_coverage,
)
from paperwire.search.query import parse_query
from paperwire.search.similar import MLT_TERMS, more_like_this


def test_coverage_units_weigh_rare_words_and_ignore_ubiquitous_ones() -> None:
    docs = 10_000
    idf = [bm25_idf(df, docs) for df in (9_990, 5_000, 50, 0)]
    units = coverage_units(idf)
    assert units[0] == 0  # "the"
    assert 0 < units[1] < units[2] < units[3]
    assert coverage_units([bm25_idf(9_999, docs)] * 2) == [1, 1]  # all ubiquitous: 1 each
    assert required_units([0, 2, 10, 18], 0.75) == 23
    assert required_units([4, 4], 0.75) == 6  # both words
    assert required_units([1], 0.0) == 1  # at least one unit, always


@pytest.mark.parametrize(
    ("query", "share"),
    [
        ("video diffusion", 0.75),
        ("zebra migration patterns in the serengeti", 0.75),  # 4 content words
        ("sparse mixture of experts routing for language models", 0.5),  # 6 words
        (" ".join(f"w{i}" for i in range(40)), LONG_QUERY_COVERAGE),
    ],
)
def test_required_coverage_by_query_length(query: str, share: float) -> None:
    assert required_coverage(parse_query(query), 0.75) == pytest.approx(share)


def test_required_coverage_never_exceeds_the_setting() -> None:
    q = parse_query(" ".join(f"w{i}" for i in range(SHORT_QUERY_TERMS + 30)))
    assert required_coverage(q, 0.2) == 0.2


def test_more_like_this_picks_salient_terms() -> None:
    docs = 1_000
    stats = [
        TermStat("the", "the", 20, 990),  # too common (> half the documents)
        TermStat("sparse", "spars", 4, 30),
        TermStat("attention", "attent", 3, 200),
        TermStat("xqz", "xqz", 2, 1),  # only this paper has it: finds nothing
        TermStat("2024", "2024", 3, 50),  # a number
        TermStat("of", "of", 9, 999),
        TermStat("kv", "kv", 2, 10),  # too short
    ]
    mlt = more_like_this(stats, docs)
    assert mlt.words == ["sparse", "attention"]
    assert mlt.query.terms == ["sparse"] * 4 + ["attention"] * 3
    many = [TermStat(f"term{i}", f"term{i}", 1, 10 + i) for i in range(60)]
    assert len(more_like_this(many, docs).words) == MLT_TERMS


def test_partial_share_shrinks_with_long_queries() -> None:
    from paperwire.search.matches import partial_share

    assert partial_share(parse_query("zebra migration patterns serengeti"), 0.15) == 0.15
    long = parse_query(" ".join(f"w{i}" for i in range(40)))
    assert partial_share(long, 0.15) == pytest.approx(0.15 * SHORT_QUERY_TERMS / 40)


def test_a_total_counts_the_overlap_whenever_it_was_counted() -> None:
    """A counted total is every keyword match plus the semantic ones less their overlap,
    plus typed ids that are neither, whether the semantic side is bounded (a newest /
    most upvoted walk past its cap: still the union, a lower bound) or not. Only when
    the overlap was not counted (a relevance search past its bound) is it the keyword
    or the semantic matches, whichever are more."""
    semantic = Ranked(ids=["s1", "s2", "s3", "k1"], scores=[0.9, 0.8, 0.7, 0.6])
    known = {"k1", "t1"}  # keyword matches among those asked about
    typed = ["t1", "t2"]  # t1 matched by words, t2 by nothing else

    def total(overlap: int | None, bounded: bool) -> tuple[int, bool]:
        counted = MatchCount(10, overlap=overlap or 0)
        m = QueryMatches(known, semantic, typed, None, counted, overlap is not None, bounded)
        return m.total, m.total_exact

    assert total(1, False) == (10 + 4 - 1 + 1, True)
    assert total(1, True) == (10 + 4 - 1 + 1, False)
    assert total(None, True) == (max(10, 4) + 1, False)


def test_a_count_that_decides_its_exactness_is_read_when_it_is_done() -> None:
    """``MatchCount.deciding``: total, overlap and exactness come from one count still
    running; reading any of them waits for it, a failed count raises its error when
    read, and ``settle`` waits for it without raising. A total past the bound then
    counts as ``QueryMatches`` counts an inexact one (keyword or semantic, whichever
    are more)."""
    running: Future[Counted] = Future()
    found = MatchCount.deciding(running, frozenset({"k1"}))
    assert found.members == frozenset({"k1"})
    done = threading.Event()

    def read() -> None:
        assert (found.total, found.exact, found.overlap) == (5_000, False, 0)
        done.set()

    reader = threading.Thread(target=read)
    reader.start()
    assert not done.wait(0.05)  # still counting: the reader waits
    running.set_result(Counted(5_000, False, 0))
    reader.join(5)
    assert done.is_set()
    semantic = Ranked(ids=["s1", "k1"], scores=[0.9, 0.8])
    m = QueryMatches({"k1"}, semantic, [], None, found, True, False)
    assert (m.total, m.total_exact) == (5_000, False)
    assert found == MatchCount(5_000, frozenset({"k1"}), exact=False)

    failed: Future[Counted] = Future()
    broken = MatchCount.deciding(failed, frozenset())
    failed.set_exception(RuntimeError("count failed"))
    broken.settle()  # waits, does not raise
    with pytest.raises(RuntimeError, match="count failed"):
        _ = broken.exact
