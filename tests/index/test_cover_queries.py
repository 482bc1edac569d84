"""The tantivy index's coverage query (``TantivyKeywordIndex._coverage_query``) against
brute force on every combination of a few words: the covers merged into a tree match
exactly the papers holding a cover, the flat form is kept under a date range, and the
words' units summed at a few ids (``_by_units``) find the same papers."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from pathlib import Path
from typing import Any

import pytest

from paperwire.index import keyword as keyword_module
from paperwire.index.base import IndexDoc, KeywordQuery, cover_tree, minimal_covers
from paperwire.index.keyword import TantivyKeywordIndex
from paperwire.models.search import SearchFilters

# Six words, each its own index term (its stem).
WORDS = ["quartz", "basalt", "granite", "marble", "slate", "gneiss"]

# Every paper of ``every_subset``; its papers of a month's range (9-40) and those holding
# the phrase "quartz basalt" (only where both words are in the title, which lists them
# in ``WORDS`` order: bits 0 and 1).
EVERY = [f"2599.{i:05d}" for i in range(2 ** len(WORDS))]
DATED = SearchFilters(date_from=dt.date(2025, 3, 10), date_to=dt.date(2025, 4, 10))
IN_RANGE = {f"2599.{i:05d}" for i in range(9, 41)}
PHRASED = KeywordQuery(terms=WORDS, phrases=["quartz basalt"])
HOLDING_PHRASE = {f"2599.{i:05d}" for i in range(2 ** len(WORDS)) if i & 3 == 3}


def _paper(arxiv_id: str, title: str, published: dt.date = dt.date(2025, 3, 1)) -> IndexDoc:
    """A paper of the cs.LG category holding ``title``'s words and nothing else."""
    return IndexDoc(
        arxiv_id=arxiv_id,
        title=title,
        abstract="",
        authors=[],
        categories=["cs.LG"],
        organization=None,
        published=published,
        has_code=False,
    )


@pytest.fixture(scope="module")
def every_subset(tmp_path_factory: pytest.TempPathFactory) -> TantivyKeywordIndex:
    """One paper per subset of ``WORDS`` (64 papers): paper ``i`` holds word ``w`` when
    bit ``w`` of ``i`` is set."""
    index = TantivyKeywordIndex(Path(tmp_path_factory.mktemp("covers")))
    docs = [
        _paper(
            f"2599.{i:05d}",
            " ".join(w for b, w in enumerate(WORDS) if i >> b & 1) or "empty",
            dt.date(2025, 3, 1) + dt.timedelta(days=i),
        )
        for i in range(2 ** len(WORDS))
    ]
    index.upsert(docs)
    index.commit()
    return index


def shape(query: object) -> str:
    """A query's structure as tantivy prints it, without the outer ``Query(…)``."""
    text = repr(query)
    assert text.startswith("Query(") and text.endswith(")")
    return text[len("Query(") : -1]


def holders(covers: list[list[int]]) -> set[str]:
    return {
        f"2599.{i:05d}"
        for i in range(2 ** len(WORDS))
        if any(all(i >> b & 1 for b in cover) for cover in covers)
    }


def random_rule(rng: random.Random) -> tuple[list[int], int, list[list[int]]]:
    """Random units for ``WORDS``, the units a match needs, and the covers they make."""
    units = [rng.choice([0, 1, 1, 2, 3, 5]) for _ in WORDS]
    need = rng.randint(1, max(1, sum(units)) + 1)
    covers = minimal_covers(units, need, limit=10_000)
    assert covers is not None
    return units, need, covers


def test_the_merged_covers_match_exactly_the_papers_holding_a_cover(
    every_subset: TantivyKeywordIndex,
) -> None:
    index = every_subset
    searcher, cache = index._snapshot()
    tokens = [index._tokens(w, stem=True)[0] for w in WORDS]
    assert len(set(tokens)) == len(WORDS)
    rng = random.Random(3)
    forks = 0
    for _ in range(300):
        units, need, covers = random_rule(rng)
        tree = cover_tree(covers)
        forks += any(len(below) > 1 for below in tree.values())
        got = index._ids(searcher, cache, index._covers_query(tokens, tree))
        assert len(got) == len(set(got))
        assert set(got) == holders(covers), (units, need)
    assert forks > 30


def test_a_date_range_keeps_the_flat_form(every_subset: TantivyKeywordIndex) -> None:
    # Why the form matters (speed, not results): under a date range tantivy seeks the
    # coverage query, and seeking the merged form cost 2.5× at 1M papers.
    index = every_subset
    searcher, cache = index._snapshot()
    query = KeywordQuery(terms=WORDS)  # each word in half the papers: 20 covers of 3
    rule = index._coverage_rule(searcher, cache, query, 0.5)
    flat = index._coverage_query(rule, factored=False)
    merged = index._coverage_query(rule)
    assert flat is not None and merged is not None
    assert shape(flat) != shape(merged)
    with_range = shape(index._match_query(searcher, query, DATED, rule))
    without = shape(index._match_query(searcher, query, SearchFilters(), rule))
    assert shape(flat) in with_range and shape(merged) not in with_range
    assert shape(merged) in without and shape(flat) not in without
    # and both forms match the same papers
    covers = [list(c) for c in itertools.combinations(range(len(WORDS)), 3)]
    assert set(index._ids(searcher, cache, flat)) == holders(covers)
    assert set(index._ids(searcher, cache, merged)) == holders(covers)
    assert set(index.match_ids(query, DATED, 0.5)) == holders(covers) & IN_RANGE


def test_a_few_ids_are_matches_by_their_words_units_as_by_the_covers(
    every_subset: TantivyKeywordIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which of some ids are keyword matches, asked by summing their words' coverage
    units (``_by_units``, forced on for every rule here, one word a level and as one
    union): exactly those holding a cover, with and without filters and a quoted
    phrase, as the match query finds them (the same answer as ``_members`` gives below
    the covers' threshold past ``MEMBERS_NESTED_UP_TO`` ids)."""
    index = every_subset
    searcher, cache = index._snapshot()
    rng = random.Random(5)
    cases = [
        (KeywordQuery(terms=WORDS), SearchFilters(), set(EVERY)),
        (KeywordQuery(terms=WORDS), DATED, IN_RANGE),
        (KeywordQuery(terms=WORDS), SearchFilters(has_code=True), set()),
        (KeywordQuery(terms=WORDS), SearchFilters(category="CS.lg"), set(EVERY)),
        (PHRASED, SearchFilters(), HOLDING_PHRASE),
        (KeywordQuery(terms=WORDS, authors=["Ada Lovelace"]), SearchFilters(), set()),
    ]
    for _ in range(150):
        units, need, covers = random_rule(rng)
        monkeypatch.setattr(
            keyword_module, "_coverage_weights", lambda s, t, c, u=units, n=need: ([], u, n)
        )
        query, filters, passing = rng.choice(cases)
        ids = rng.sample(EVERY, 24)
        if rng.random() < 0.3:  # past ``ID_TERMS_UP_TO``: the ids as a term set
            ids += [f"2597.{i:05d}" for i in range(keyword_module.ID_TERMS_UP_TO)]
        index.forget_queries()  # a new rule: nothing kept
        rule = index._coverage_rule(searcher, cache, query, 0.5)
        q = index._match_query(searcher, query, filters, rule)
        assert q is not None
        want = holders(covers) & passing & set(ids)
        # the units one word a level, the units as one union, the match query itself
        for nested_up_to, covers_up_to, form in (
            (1_000, 10_000, "nested"),
            (0, -1, "union"),
            (0, 10_000, None),
        ):
            monkeypatch.setattr(keyword_module, "MEMBERS_NESTED_UP_TO", nested_up_to)
            monkeypatch.setattr(keyword_module, "MEMBERS_BY_UNITS_COVERS", covers_up_to)
            by_units = index._by_units(query, filters, rule, ids)
            assert (by_units is None) == (form is None), form
            if by_units is not None and sum(u > 0 for u in units) >= 3:
                # nested: a level a word, each holding the one below as its MUST
                levels = repr(by_units[0]).count("(Must, BooleanQuery")
                assert (levels >= 2) == (form == "nested"), form
            got = index._members(searcher, cache, q, ids, query, filters, rule)
            assert got == want, (units, need, query, filters, form)


def test_a_query_of_a_thousand_words_asks_its_members_as_one_union(
    every_subset: TantivyKeywordIndex,
) -> None:
    """Nesting a word a level stops at ``MEMBERS_NESTED_WORDS_UP_TO`` words: a pasted
    text of ~1,300 distinct words nested so overflowed tantivy's stack (the process
    died). Its members are the match query's, asked as one union of units."""
    index = every_subset
    searcher, cache = index._snapshot()
    many = [*WORDS, *(f"zq{i}x" for i in range(1_300))]
    query = KeywordQuery(terms=many)
    rule = index._coverage_rule(searcher, cache, query, 0.0)
    ids = [f"2599.{i:05d}" for i in range(0, 64, 3)]
    by_units = index._by_units(query, SearchFilters(), rule, ids)
    assert by_units is not None and repr(by_units[0]).count("(Must, BooleanQuery") <= 1
    got = index.match_members(query, SearchFilters(), 0.0, ids)
    want = set(index.match_ids(query, SearchFilters(), 0.0)) & set(ids)
    assert got == want and got  # some papers match: the rule is not empty


def test_a_snapshot_works_a_query_out_once_and_a_commit_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The coverage rule (the words' frequencies) is read once a query in a snapshot,
    for every question of a search (its ids, count, members and BM25's sure score),
    and read again after a commit changes the frequencies: "alpha" is rare, and a
    paper holding it alone a match; once most papers hold it, "beta" is the rarer
    word, and the papers holding "beta" alone are the matches (a rule kept past the
    commit would still name "alpha"'s)."""
    index = TantivyKeywordIndex(tmp_path / "k")
    index.upsert(
        [_paper("2598.00000", "alpha"), *(_paper(f"2598.{i:05d}", "beta") for i in range(1, 20))]
    )
    index.commit()
    read: list[list[str]] = []
    weights = keyword_module._coverage_weights

    def counted(searcher: object, tokens: list[str], coverage: float) -> object:
        read.append(list(tokens))
        return weights(searcher, tokens, coverage)  # type: ignore[arg-type]

    monkeypatch.setattr(keyword_module, "_coverage_weights", counted)
    query, none = KeywordQuery(terms=["alpha", "beta"]), SearchFilters()
    before = index.match_ids(query, none, 0.6)
    assert before == ["2598.00000"]
    assert index.match_count(query, none, 0.6, among=["2598.00001"]).total == 1
    assert index.match_members(query, none, 0.6, ["2598.00000", "2598.00001"]) == {"2598.00000"}
    ranked, sure = index.search_with_members(query, none, 30, 0.6)
    assert sure == {"2598.00000"} and len(ranked.ids) == 20
    assert read == [["alpha", "beta"]]
    index.upsert([_paper(f"2598.{i:05d}", "alpha") for i in range(100, 140)])
    index.commit()
    after = index.match_ids(query, none, 0.6)
    assert sorted(after) == [f"2598.{i:05d}" for i in range(1, 20)]
    assert index.match_count(query, none, 0.6).total == 19
    assert len(read) == 2
    index.forget_queries()  # the bench's: each search timed as its query's first
    assert index.match_count(query, none, 0.6).total == 19
    assert len(read) == 3


@pytest.mark.parametrize(("first", "far"), [(1, 1e9), (5, 1e9), (1, 0.0), (1_000, 2.0)])
@pytest.mark.parametrize("leads", [0, 1_000_000])
@pytest.mark.parametrize("form", ["minimum-should-match", "covers"])
def test_a_match_query_is_listed_and_counted_by_its_words_units(
    every_subset: TantivyKeywordIndex,
    monkeypatch: pytest.MonkeyPatch,
    first: int,
    far: float,
    leads: int,
    form: str,
) -> None:
    """A rule with too many covers to list (forced here: ``minimal_covers`` says None),
    or with more than ``MEMBERS_BY_UNITS_COVERS`` (forced: 0) whose rarest words' holders
    lead (``leads``), is listed and counted by summing its words' units
    (``_units_scan``): exactly the papers holding a cover, with and without filters, a
    quoted phrase, a date range and an overlap, whether the first hits read hold every
    match or not (``first``), read on in steps or all at once (``far``). Listed covers
    that do not lead keep the match query, and a minimum-should-match under a date range
    is not ranked and counted in one pass (``best_matches``)."""
    index = every_subset
    monkeypatch.setattr(keyword_module, "UNITS_SCAN_FIRST", first)
    monkeypatch.setattr(keyword_module, "UNITS_SCAN_FAR", far)
    monkeypatch.setattr(keyword_module, "UNITS_SCAN_LEADS", leads)
    if form == "covers":
        monkeypatch.setattr(keyword_module, "MEMBERS_BY_UNITS_COVERS", 0)
    else:
        monkeypatch.setattr(keyword_module, "minimal_covers", lambda units, need: None)
    rng = random.Random(11)
    cases = [
        (KeywordQuery(terms=WORDS), SearchFilters(), set(EVERY)),
        (KeywordQuery(terms=WORDS), DATED, IN_RANGE),
        (KeywordQuery(terms=WORDS), SearchFilters(has_code=True), set()),
        (PHRASED, DATED, HOLDING_PHRASE & IN_RANGE),
    ]
    for _ in range(60):
        units, need, covers = random_rule(rng)
        monkeypatch.setattr(
            keyword_module,
            "_coverage_weights",
            lambda s, t, c, u=units, n=need: ([s.doc_freq("text", w) for w in t], u, n),
        )
        query, filters, passing = rng.choice(cases)
        index.forget_queries()
        want = holders(covers) & passing
        searcher, cache = index._snapshot()
        rule = index._coverage_rule(searcher, cache, query, 0.5)
        scans = index._units_scan(searcher, query, filters, 0.5, rule) is not None
        # listed covers are scanned where they lead (and are more than none)
        assert scans == (form != "covers" or (leads > 0 and len(covers) > 0))
        assert set(index.match_ids(query, filters, 0.5)) == want, (units, need, filters)
        # the snapshot keeps what it scanned: a count after the listing scans no more
        assert bool(index._memo_of(cache).scans) == scans
        overlap = EVERY[::3]
        counted = index.match_count(query, filters, 0.5, overlap=overlap)
        assert counted.total == len(want), (units, need, filters)
        assert counted.overlap == len(want & set(overlap))
        assert len(index.match_ids(query, filters, 0.5, up_to=2)) == min(3, len(want))
        if filters.dated():  # no one pass where tantivy would step through the query
            one_pass = index.best_matches(query, filters, 0.5, 10)
            assert (one_pass is None) == (form == "minimum-should-match")


@pytest.mark.parametrize(("up_to", "share"), [(1_000, 0.0), (10, 0.0), (10, 1.0)])
def test_an_unbounded_count_keeps_its_few_matches_for_the_listing(
    every_subset: TantivyKeywordIndex, monkeypatch: pytest.MonkeyPatch, up_to: int, share: float
) -> None:
    """A count with no bound (a newest / most upvoted walk's) reads up to
    ``LISTED_BY_COUNT_UP_TO`` matches, or ``LISTED_BY_COUNT_SHARE`` of the papers where
    that is more, in the same pass and keeps them: the listing that follows runs no
    match query, and lists what a fresh listing lists, in its order (and its first few
    under ``up_to``). More matches than that, a bounded count (a relevance search's), or
    other papers' ids asked along (``also``) keep nothing."""
    index = every_subset
    monkeypatch.setattr(keyword_module, "LISTED_BY_COUNT_UP_TO", up_to)
    monkeypatch.setattr(keyword_module, "LISTED_BY_COUNT_SHARE", share)
    reach = max(up_to, int(index.count() * share))  # the share of all 64: every match
    ran: list[int] = []
    ids = index._ids

    def listing(*args: Any, **kwargs: Any) -> list[str]:
        ran.append(1)
        return ids(*args, **kwargs)

    monkeypatch.setattr(index, "_ids", listing)
    query, none = KeywordQuery(terms=WORDS[:3]), SearchFilters()
    index.forget_queries()
    fresh = index.match_ids(query, none, 0.5)
    assert ran and 10 < len(fresh) < 1_000  # a listing runs the match query
    for bound in (None, 5):
        index.forget_queries()
        ran.clear()
        total = index.match_count(query, none, 0.5, exact_up_to=bound).total
        assert total == len(fresh) if bound is None else total >= len(fresh[:bound])
        assert index.match_ids(query, none, 0.5) == fresh
        assert index.match_ids(query, none, 0.5, up_to=3) == fresh[:4]
        kept = bound is None and len(fresh) <= reach
        assert bool(ran) != kept, (bound, up_to)
    index.forget_queries()
    assert index.match_count(query, none, 0.5).total == len(fresh)
    ran.clear()
    assert set(index.match_ids(query, none, 0.5, also=["2599.00000"])) == {*fresh, "2599.00000"}
    assert ran
