"""The match-set part of the ``SearchIndex`` contract (exact totals, full sorts, "more
like this"), checked against brute force over the same ~300 real papers, per backend."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest
import Stemmer

from paperwire.index import keyword as keyword_module
from paperwire.index.base import (
    BM25_STOP_WORDS,
    IndexDoc,
    KeywordQuery,
    SearchIndex,
    bm25_idf,
    cover_tree,
    coverage_units,
    minimal_covers,
    required_units,
    scored_tokens,
)
from paperwire.index.embedded import EmbeddedIndex
from paperwire.index.embedding.torch import SentenceTransformerEmbedder
from paperwire.index.milvus import MilvusIndex
from paperwire.models.search import SearchFilters
from tests.conftest import drop_milvus_collections, new_milvus_collection

from .conftest import IndexFactory, is_milvus, stems

pytestmark = pytest.mark.slow  # real embeddings

NO_FILTER = SearchFilters()
# A pasted title's words: many covers, several sharing their heaviest word.
LONG_QUERY = [
    "efficient",
    "multimodal",
    "large",
    "language",
    "model",
    "reasoning",
    "video",
    "generation",
    "benchmark",
    "agents",
    "learning",
    "diffusion",
]
_STEMMER = Stemmer.Stemmer("english")


def analysed(text: str, stem: bool) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {_STEMMER.stemWord(w) for w in words} if stem else set(words)


class Weights(NamedTuple):
    docs: dict[str, set[str]]  # paper → its analysed words
    keys: list[str]  # the query's analysed words
    units: list[int]
    need: int


def weights(corpus: list[IndexDoc], terms: list[str], coverage: float, stem: bool) -> Weights:
    """The coverage rule's weights for ``terms`` over ``corpus``, worked out by hand."""
    docs = {d.arxiv_id: analysed(f"{d.title} {d.abstract}", stem) for d in corpus}
    # the query's words but the stop words, which neither engine scores nor counts (known
    # as written; Milvus knows them by their stems, which differ for none of these cases)
    stemmed = [next(iter(analysed(t, stem))) for t in terms]
    keys = list(dict.fromkeys(scored_tokens(stemmed, [t.lower() for t in terms])))
    df = [sum(1 for words in docs.values() if k in words) for k in keys]
    units = coverage_units([bm25_idf(f, len(docs)) for f in df])
    return Weights(docs, keys, units, required_units(units, coverage))


def passes(doc: IndexDoc, filters: SearchFilters) -> bool:
    """Whether ``doc`` passes the category and has-code filters (the cases' filters)."""
    if filters.has_code is not None and doc.has_code != filters.has_code:
        return False
    wanted = filters.category
    return wanted is None or wanted.lower() in {c.lower() for c in doc.categories}


def expected_matches(
    corpus: list[IndexDoc], terms: list[str], coverage: float, stem: bool
) -> set[str]:
    """Brute force of the coverage rule over ``corpus`` (``terms`` are plain words)."""
    docs, keys, units, need = weights(corpus, terms, coverage, stem)
    return {
        aid
        for aid, words in docs.items()
        if sum(u for k, u in zip(keys, units, strict=True) if k in words) >= need
    }


@pytest.mark.parametrize(
    ("terms", "coverage"),
    [
        (["language"], 0.75),
        (["diffusion", "video"], 0.75),
        (["reinforcement", "learning", "reward"], 0.75),
        (["reinforcement", "learning", "reward"], 0.3),
        (["the", "segmentation"], 0.75),
        (["zebra", "segmentation"], 0.75),
        (LONG_QUERY, 0.1),
        (LONG_QUERY, 0.15),
    ],
)
def test_keyword_matches_follow_the_coverage_rule(
    loaded_index: SearchIndex, corpus: list[IndexDoc], terms: list[str], coverage: float
) -> None:
    got = loaded_index.keyword_match_ids(KeywordQuery(terms=terms), NO_FILTER, coverage)
    want = expected_matches(corpus, terms, coverage, stems(loaded_index))
    assert len(got) == len(set(got)), "duplicate ids"
    assert set(got) == want
    if terms[0] == "zebra":  # no paper mentions zebras: nothing holds enough weight
        assert want == set()
    if terms is LONG_QUERY:  # its covers share first terms: the merged form is tested
        w = weights(corpus, terms, coverage, stems(loaded_index))
        covers = minimal_covers(w.units, w.need)
        assert covers is not None and len(covers) > 10
        assert any(len(below) > 1 for below in cover_tree(covers).values())
        assert 0 < len(want) < len(corpus)


def test_long_queries_match_alike_with_and_without_a_date_range(
    loaded_index: SearchIndex, corpus: list[IndexDoc]
) -> None:
    # The embedded index expresses the rule in another form under a date range
    # (``TantivyKeywordIndex._coverage_query``): the same papers must match.
    query = KeywordQuery(terms=LONG_QUERY)
    days = sorted(d.published for d in corpus if d.published)
    start, end = days[len(days) // 4], days[len(days) // 2]
    in_range = {d.arxiv_id for d in corpus if d.published and start <= d.published <= end}
    for coverage in (0.1, 0.15, 0.3):  # 0.3: too many covers, the other form
        every = set(loaded_index.keyword_match_ids(query, NO_FILTER, coverage))
        dated = SearchFilters(date_from=start, date_to=end)
        got = set(loaded_index.keyword_match_ids(query, dated, coverage))
        assert got == every & in_range, coverage
        assert got, coverage
        counted = loaded_index.keyword_match_count(query, dated, coverage)
        assert counted.total == len(got)


def test_rare_word_outweighs_common_ones(loaded_index: SearchIndex, corpus: list[IndexDoc]) -> None:
    # "the" is in nearly every abstract: it weighs nothing, "segmentation" everything.
    got = set(
        loaded_index.keyword_match_ids(KeywordQuery(terms=["the", "segmentation"]), NO_FILTER, 1.0)
    )
    stem = stems(loaded_index)
    key = next(iter(analysed("segmentation", stem)))
    seg = {d.arxiv_id for d in corpus if key in analysed(f"{d.title} {d.abstract}", stem)}
    assert got and got <= seg


def test_keyword_matches_with_filters_and_also(
    loaded_index: SearchIndex, corpus: list[IndexDoc]
) -> None:
    query = KeywordQuery(terms=["language", "model"])
    every = set(loaded_index.keyword_match_ids(query, NO_FILTER, 0.75))
    coded = set(loaded_index.keyword_match_ids(query, SearchFilters(has_code=True), 0.75))
    by_id = {d.arxiv_id: d for d in corpus}
    assert coded and coded < every
    assert all(by_id[i].has_code for i in coded)
    # ``also`` adds papers that are not keyword matches, but only where filters pass.
    outside = [d.arxiv_id for d in corpus if d.arxiv_id not in every][:6]
    got = set(loaded_index.keyword_match_ids(query, SearchFilters(has_code=True), 0.75, outside))
    assert got == coded | {i for i in outside if by_id[i].has_code}


def test_constraints_alone_and_with_terms(
    loaded_index: SearchIndex, corpus: list[IndexDoc]
) -> None:
    phrase = "language models"
    stem = stems(loaded_index)

    def tokens(text: str) -> list[str]:
        words = re.findall(r"[a-z0-9]+", text.lower())
        return [_STEMMER.stemWord(w) for w in words] if stem else words

    def holds(text: str) -> bool:
        t, want = tokens(text), tokens(phrase)
        return any(t[i : i + len(want)] == want for i in range(len(t)))

    holders = {d.arxiv_id for d in corpus if holds(d.title) or holds(d.abstract)}
    alone = set(loaded_index.keyword_match_ids(KeywordQuery(phrases=[phrase]), NO_FILTER, 0.75))
    assert alone == holders
    with_terms = set(
        loaded_index.keyword_match_ids(
            KeywordQuery(terms=["reasoning"], phrases=[phrase]), NO_FILTER, 0.75
        )
    )
    assert with_terms and with_terms <= alone
    assert loaded_index.keyword_match_ids(KeywordQuery(), NO_FILTER, 0.75) == []


def test_vector_range_is_every_document_above_the_floor(
    loaded_index: SearchIndex,
    corpus: list[IndexDoc],
    corpus_vectors: np.ndarray,
    embedder: SentenceTransformerEmbedder,
) -> None:
    q = embedder.encode_query("reinforcement learning for robot control")
    unit = corpus_vectors / np.linalg.norm(corpus_vectors, axis=1, keepdims=True)
    cos = unit @ (q / np.linalg.norm(q))
    for floor, filters in [(0.3, NO_FILTER), (0.2, SearchFilters(has_code=True))]:
        keep = [
            (corpus[i].arxiv_id, float(cos[i]))
            for i in range(len(corpus))
            if cos[i] >= floor + 1e-4 and (filters.has_code is None or corpus[i].has_code)
        ]
        got = loaded_index.vector_range(q, filters, floor, 10_000)
        assert {i for i, _ in keep} <= set(got.ids)
        assert all(s >= floor - 1e-4 for s in got.scores)
        assert got.scores == sorted(got.scores, reverse=True)
        assert len(got.ids) <= len(keep) + 3  # only cosines within float noise of the floor
    top = loaded_index.vector_range(q, NO_FILTER, -1.0, 5)
    assert len(top.ids) == 5
    assert top.ids[0] == corpus[int(np.argmax(cos))].arxiv_id
    assert loaded_index.vector_range(q, NO_FILTER, 1.01, 10).ids == []


def test_term_statistics(loaded_index: SearchIndex, corpus: list[IndexDoc]) -> None:
    doc = corpus[3]
    text = f"{doc.title} {doc.abstract}"
    stats = loaded_index.term_statistics(text)
    stem = stems(loaded_index)
    docs = [analysed(f"{d.title} {d.abstract}", stem) for d in corpus]
    assert stats, "no terms"
    assert len({s.term for s in stats}) == len(stats)
    for st in stats:
        assert st.count >= 1 and st.word
        if re.fullmatch(r"[a-z]+", st.word):
            key = next(iter(analysed(st.word, stem)))
            want = sum(1 for words in docs if key in words)
            # Milvus's ``standard`` tokenizer keeps "project_page" whole, ours splits it
            slack = 1 if is_milvus(loaded_index) else 0
            assert abs(st.doc_freq - want) <= slack, st
            assert st.doc_freq >= 1  # the paper itself holds it
    total = sum(s.count for s in stats)
    words = re.findall(r"\w+", text)
    if is_milvus(loaded_index):  # its ``english`` analyzer drops stop words
        words = [w for w in words if w.lower() not in BM25_STOP_WORDS]
    assert math.isclose(total, len(words), rel_tol=0.25)


# --------------------------------------------------------------------------- Milvus's cap
# Milvus returns at most 16,384 hits per search; a word in more documents must still be
# matched in every one. A small ``max_topk`` reaches that path with 300 papers: every
# common word fills it, as does the undated day (12 papers) and each listing day (~15).


class _CountingClient:
    """The real pymilvus client, counting the round trips of each kind."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name in ("search", "query", "query_iterator"):

            def counted(*args: Any, **kwargs: Any) -> Any:
                self.calls[name] += 1
                return attr(*args, **kwargs)

            return counted
        return attr


@pytest.fixture
def capped_index(
    milvus_server: str, request: pytest.FixtureRequest
) -> Iterator[Callable[[int], MilvusIndex]]:
    """``capped_index(max_topk)``: an empty Milvus collection whose searches return at most
    ``max_topk`` hits, its client counting round trips."""
    opened: list[MilvusIndex] = []

    def make(max_topk: int) -> MilvusIndex:
        index = MilvusIndex(
            milvus_server, collection=new_milvus_collection(), dim=384, max_topk=max_topk
        )
        index._client = _CountingClient(index._client)
        opened.append(index)
        return index

    yield make
    for index in opened:
        index.close()
    drop_milvus_collections(milvus_server, [i.collection for i in opened])


def _calls(index: MilvusIndex) -> Counter[str]:
    client = index._client
    assert isinstance(client, _CountingClient)
    return client.calls


@pytest.mark.parametrize("max_topk", [40, 8])
def test_milvus_match_sets_are_exact_past_the_top_k_cap(
    capped_index: Callable[[int], MilvusIndex],
    embedded_corpus: list[IndexDoc],
    corpus: list[IndexDoc],
    corpus_vectors: np.ndarray,
    embedder: SentenceTransformerEmbedder,
    max_topk: int,
) -> None:
    index = capped_index(max_topk)
    index.upsert([replace(d) for d in embedded_corpus])
    index.commit()
    terms = ["language", "model", "learning"]
    want = expected_matches(corpus, terms, 0.3, stem=True)
    assert len(want) > 3 * max_topk  # far past the cap
    assert set(index.keyword_match_ids(KeywordQuery(terms=terms), NO_FILTER, 0.3)) == want
    # with a filter, and a word alone
    coded = {d.arxiv_id for d in corpus if d.has_code}
    got = index.keyword_match_ids(KeywordQuery(terms=["model"]), SearchFilters(has_code=True), 1)
    assert set(got) == expected_matches(corpus, ["model"], 1, stem=True) & coded
    # document frequencies past the cap
    docs = [analysed(f"{d.title} {d.abstract}", True) for d in corpus]
    stats = {s.word: s.doc_freq for s in index.term_statistics("the language models we trained")}
    for word in ("language", "models", "trained"):
        want_df = sum(1 for words in docs if _STEMMER.stemWord(word) in words)
        assert stats[word] == want_df > (max_topk if word != "trained" else 0)
    # semantic matches past the cap
    q = embedder.encode_query("machine learning")
    unit = corpus_vectors / np.linalg.norm(corpus_vectors, axis=1, keepdims=True)
    cos = unit @ (q / np.linalg.norm(q))
    floor = float(np.sort(cos)[-3 * max_topk - 1])  # about 3 × the cap above it
    got_range = index.vector_range(q, NO_FILTER, floor, 10_000)
    above = {corpus[i].arxiv_id for i in range(len(corpus)) if cos[i] > floor + 1e-4}
    assert above <= set(got_range.ids) and len(got_range.ids) <= len(above) + 3
    assert got_range.scores == sorted(got_range.scores, reverse=True)
    assert len(index.vector_range(q, NO_FILTER, floor, 5).ids) == 5


def test_milvus_slices_follow_a_growing_collection(
    capped_index: Callable[[int], MilvusIndex], corpus: list[IndexDoc]
) -> None:
    index = capped_index(8)
    half = len(corpus) // 2
    index.upsert([replace(d) for d in corpus[:half]])
    index.commit()
    query = KeywordQuery(terms=["model"])
    first = set(index.keyword_match_ids(query, NO_FILTER, 1))
    assert first == expected_matches(corpus[:half], ["model"], 1, stem=True)
    index.upsert([replace(d) for d in corpus[half:]])  # the slices cut above now overflow
    index.commit()
    assert set(index.keyword_match_ids(query, NO_FILTER, 1)) == expected_matches(
        corpus, ["model"], 1, stem=True
    )


def test_milvus_match_sets_cost_a_few_round_trips(
    capped_index: Callable[[int], MilvusIndex], corpus: list[IndexDoc]
) -> None:
    index = capped_index(40)
    index.upsert([replace(d) for d in corpus])
    index.commit()
    calls = _calls(index)
    index.keyword_match_ids(KeywordQuery(terms=["model"]), NO_FILTER, 1)  # cuts the slices
    slices = calls["search"] - 1  # one search for the word, then one per slice
    assert 300 // 40 <= slices <= 300 // 10
    calls.clear()
    # many words, common and rare, cost what one common word costs: they share searches
    words = ["language", "model", "learning", "data", "graph", "zebra", "segmentation"]
    found = index.keyword_match_ids(KeywordQuery(terms=words), SearchFilters(has_code=True), 0.3)
    assert found
    # document frequencies (one pass, kept) + the holders under the filter (one pass)
    assert calls["search"] <= 2 * (1 + slices)
    assert calls["query"] + calls["query_iterator"] <= 2  # counts; no call per result
    calls.clear()
    stats = index.term_statistics(f"{corpus[0].title} {corpus[0].abstract}")
    assert len(stats) > 30
    assert calls["search"] <= 1 + slices  # every term at once (frequencies partly kept)


def test_milvus_semantic_matches_past_the_cap_are_read_in_bands(
    capped_index: Callable[[int], MilvusIndex],
    embedded_corpus: list[IndexDoc],
    corpus: list[IndexDoc],
    corpus_vectors: np.ndarray,
    embedder: SentenceTransformerEmbedder,
) -> None:
    """Past the cap, a range search pages down by score (one search per band of
    ``max_topk``), not per slice of the collection (no count queries)."""
    index = capped_index(8)
    index.upsert([replace(d) for d in embedded_corpus])
    index.commit()
    index.vector_count()  # counts before the calls are counted
    calls = _calls(index)
    calls.clear()
    q = embedder.encode_query("neural networks for language")
    unit = corpus_vectors / np.linalg.norm(corpus_vectors, axis=1, keepdims=True)
    cos = unit @ (q / np.linalg.norm(q))
    floor = float(np.sort(cos)[-5 * 8 - 1])  # 5 × the cap above it
    got = index.vector_range(q, NO_FILTER, floor, 10_000)
    above = {corpus[i].arxiv_id for i in range(len(corpus)) if cos[i] > floor + 1e-4}
    assert above <= set(got.ids) and len(got.ids) <= len(above) + 3
    assert got.scores == sorted(got.scores, reverse=True)
    assert calls["search"] <= len(got.ids) // 7 + 2  # a band repeats its lowest score
    assert calls["query"] + calls["query_iterator"] == 0


def test_milvus_warm_match_counts_cost_no_round_trip(
    capped_index: Callable[[int], MilvusIndex], corpus: list[IndexDoc]
) -> None:
    """A relevance search's membership questions after the first are set operations on
    the kept holders: no search, no query."""
    index = capped_index(40)
    index.upsert([replace(d) for d in corpus])
    index.commit()
    query = KeywordQuery(terms=["language", "model", "learning"])
    ids = [d.arxiv_id for d in corpus]
    first = index.keyword_match_count(query, SearchFilters(has_code=True), 0.3, among=ids[:50])
    calls = _calls(index)
    calls.clear()
    again = index.keyword_match_count(
        query, SearchFilters(has_code=True), 0.3, among=ids[50:], overlap=ids
    )
    assert sum(calls.values()) == 0
    assert again.total == first.total == again.overlap > 0
    listed = set(index.keyword_match_ids(query, SearchFilters(has_code=True), 0.3))
    assert first.members | again.members == listed


class MatchCase(NamedTuple):
    query: KeywordQuery
    filters: SearchFilters
    coverage: float


# The cases of the counting and ranking checks below (each runs every case).
MATCH_CASES = [
    (KeywordQuery(terms=["language", "model"]), NO_FILTER, 0.75),
    (KeywordQuery(terms=["language", "model"]), SearchFilters(has_code=True), 0.15),
    (KeywordQuery(terms=["language", "model"]), SearchFilters(has_code=True), 0.75),
    # a category as typed (its case differs from the stored one), four papers in five
    (KeywordQuery(terms=["language", "model"]), SearchFilters(category="CS.cv"), 0.15),
    (KeywordQuery(terms=["reinforcement", "learning", "reward", "policy"]), NO_FILTER, 0.3),
    (KeywordQuery(terms=["reinforcement", "learning", "reward", "policy"]), NO_FILTER, 1.0),
    (KeywordQuery(terms=["the", "segmentation"]), NO_FILTER, 0.75),
    (KeywordQuery(terms=["reasoning"], phrases=["language models"]), NO_FILTER, 0.75),
    # matches held by the phrase's words alone (no "survey"): counted and ranked
    (KeywordQuery(terms=["survey"], phrases=["language models"]), NO_FILTER, 0.15),
    (KeywordQuery(phrases=["language models"]), NO_FILTER, 0.75),
    (KeywordQuery(terms=["zebra"]), NO_FILTER, 0.75),
    # a pasted title's many covers: a lower bound from the widest of them
    (KeywordQuery(terms=LONG_QUERY), NO_FILTER, 0.15),
    # the same in a category: where no word promises a bound (its words that match alone
    # are held too little), the widest covers' holders in the category give one
    (KeywordQuery(terms=LONG_QUERY), SearchFilters(category="CS.cv"), 0.15),
    (KeywordQuery(), NO_FILTER, 0.75),
    # a word said twice weighs twice in BM25, beside an author's name
    (
        KeywordQuery(terms=["multimodal", "multimodal", "benchmark"], authors=["Wenqi Shao"]),
        NO_FILTER,
        0.3,
    ),
    (
        KeywordQuery(terms=["diffusion", "model", "training"]),
        SearchFilters(date_from=dt.date(2025, 3, 15)),
        0.3,
    ),
]


@pytest.fixture(params=MATCH_CASES)
def match_case(request: pytest.FixtureRequest) -> MatchCase:
    return MatchCase(*request.param)


# the embedded index's ids as one term query each (its default for this few) or a set
@pytest.mark.parametrize("id_terms_up_to", [keyword_module.ID_TERMS_UP_TO, 0], ids=["terms", "set"])
def test_keyword_match_count_agrees_with_the_listed_set(
    loaded_index: SearchIndex,
    corpus: list[IndexDoc],
    match_case: MatchCase,
    id_terms_up_to: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if id_terms_up_to != keyword_module.ID_TERMS_UP_TO and is_milvus(loaded_index):
        pytest.skip("ids as a term set: the embedded index's choice")
    monkeypatch.setattr(keyword_module, "ID_TERMS_UP_TO", id_terms_up_to)
    query, filters, coverage = match_case
    listed = set(loaded_index.keyword_match_ids(query, filters, coverage))
    ids = [d.arxiv_id for d in corpus]
    among = ids[::3]
    overlap = ids[1::2]
    got = loaded_index.keyword_match_count(query, filters, coverage, among, overlap)
    assert got.total == len(listed)
    assert got.members == frozenset(i for i in among if i in listed)
    assert got.overlap == sum(1 for i in overlap if i in listed)
    if query.terms and query.terms[0] == "language":
        assert got.members and got.overlap  # the check can fail
    bare = loaded_index.keyword_match_count(query, filters, coverage)
    assert (bare.total, bare.members, bare.overlap) == (len(listed), frozenset(), 0)
    # asked without counting: the same members (a search counts once, then asks)
    assert loaded_index.keyword_match_members(query, filters, coverage, among) == got.members
    assert loaded_index.keyword_match_members(query, filters, coverage, []) == frozenset()


@pytest.mark.parametrize("margin", ["as set", "any"])
@pytest.mark.parametrize("bound", [0, 20, 10_000])
def test_a_count_past_its_bound_is_a_lower_bound_above_it(
    loaded_index: SearchIndex,
    corpus: list[IndexDoc],
    match_case: MatchCase,
    bound: int,
    margin: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``exact_up_to``: an exact count, or (where the index knows one without counting
    every match) a lower bound above the bound with no overlap counted; the members
    either way. The embedded index's bound, for queries with no phrase or name: without
    a filter, the papers holding the most widely held word that is a match alone (a
    one-word query's is its exact count); with filters (no date range) and two words or
    more, the papers passing them that hold the most widely held such word that, at the
    filters' share of the papers, is held ``FLOOR_MARGIN`` times the bound, where that
    count passes the bound; where no word passes it, filtered or not, the papers
    (passing the filters) holding one of the ``FLOOR_COVERS`` widest covers, where their
    words and the filters (taken as independent) are expected in ``FLOOR_MARGIN`` times
    the bound and that count passes it. ``margin`` "any": a ``FLOOR_MARGIN`` every lower
    bound clears, so each is counted first (the small corpus leaves few cases past the
    real one)."""
    query, filters, coverage = match_case
    if margin == "any":
        monkeypatch.setattr(keyword_module, "FLOOR_MARGIN", 1e-9)
    listed = set(loaded_index.keyword_match_ids(query, filters, coverage))
    ids = [d.arxiv_id for d in corpus]
    among, overlap = ids[::3], ids[1::2]
    got = loaded_index.keyword_match_count(query, filters, coverage, among, overlap, bound)
    assert got.members == frozenset(i for i in among if i in listed)
    if got.exact:
        assert got.total == len(listed)
        assert got.overlap == sum(1 for i in overlap if i in listed)
    else:
        assert bound < got.total <= len(listed)
        assert got.overlap == 0  # not counted: only an exact total needs it
    plain = query.terms and not (query.phrases or query.authors)
    dated = filters.date_from is not None or filters.date_to is not None
    if is_milvus(loaded_index) or not plain or dated:
        assert got.exact  # Milvus counts its kept holders; phrases, names, dates drop them
        return
    docs, keys, units, need = weights(corpus, query.terms, coverage, stems(loaded_index))
    held = [sum(1 for w in docs.values() if k in w) for k in keys]
    passing = {d.arxiv_id for d in corpus if passes(d, filters)}
    share = len(passing) / len(corpus)  # one filter a case: as the index estimates it
    if filters != NO_FILTER:
        if len(keys) < 2:
            assert got.exact, keys
            return
        enough = sorted(
            (h, k)
            for h, u, k in zip(held, units, keys, strict=True)
            if u >= need and h * share >= keyword_module.FLOOR_MARGIN * bound
        )
        if enough:
            counted = sum(1 for aid in passing if enough[-1][1] in docs[aid])
            if counted <= bound:
                assert got.exact, (counted, bound)
            else:
                assert (got.total, got.exact) == (counted, False)
            can_fail = bound == 0 or (bound == 20 and filters.category)
            if query.terms == ["language", "model"] and coverage == 0.15 and can_fail:
                assert not got.exact  # the check can fail
            return
    else:
        floor = max((h for h, u in zip(held, units, strict=True) if u >= need), default=0)
        if floor > bound:
            assert got.total == floor
            assert got.exact == (len(keys) == 1)
            if query.terms == ["language", "model"] and bound == 20:
                assert not got.exact  # the check can fail
            return
    # No word promises a bound: the widest covers' holders that pass the filters, counted
    # first where their words and the filters, taken as independent, are expected in
    # FLOOR_MARGIN times the bound.
    covers = minimal_covers(units, need) or []
    widest = sorted(covers, key=lambda c: -min(held[i] for i in c))[: keyword_module.FLOOR_COVERS]
    n = len(corpus)
    expected = share * sum(n * math.prod(held[i] / n for i in c) for c in widest)
    few = len(covers) <= keyword_module.FLOOR_COVERS  # the bound would be every match
    if len(keys) < 2 or few or expected < keyword_module.FLOOR_MARGIN * bound:
        assert got.exact, (widest, expected, bound)
        return
    counted = sum(1 for aid in passing if any(all(keys[i] in docs[aid] for i in c) for c in widest))
    if counted <= bound:
        assert got.exact, (counted, bound)
    else:
        assert (got.total, got.exact) == (counted, False)
    assert counted < len(listed)  # here the widest four hold fewer papers than all covers
    if query.terms == LONG_QUERY and bound in (0, 20) and (margin == "any" or filters.category):
        assert not got.exact  # the check can fail (in a category: 31 papers against 20)


@pytest.mark.parametrize("case", [MatchCase(*c) for c in MATCH_CASES])
def test_a_lower_bound_short_of_the_bound_leaves_the_exact_count(
    loaded_index: SearchIndex,
    corpus: list[IndexDoc],
    case: MatchCase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the papers counted first (a lower bound: a filtered query's word's holders,
    or the widest covers' holders where no word is) are not past the bound, the total and the
    overlap are counted exactly, as without that first count: here every case of two
    words or more with no phrase or name counts one first (a margin that any bound
    passes) where a word is a match alone (filtered) or the query has more than
    ``FLOOR_COVERS`` covers; the others count the total and the overlap only (or ask
    them of the words' units: ``_units_scan``)."""
    query, filters, coverage = case
    if is_milvus(loaded_index):
        pytest.skip("the embedded index's lower bounds (Milvus counts its kept holders)")
    assert isinstance(loaded_index, EmbeddedIndex)
    monkeypatch.setattr(keyword_module, "FLOOR_MARGIN", 1e-9)
    counts: list[object] = []
    count = loaded_index.keyword._count

    def noted(searcher: Any, q: Any) -> int:
        counts.append(q)
        return count(searcher, q)

    monkeypatch.setattr(loaded_index.keyword, "_count", noted)
    listed = set(loaded_index.keyword_match_ids(query, filters, coverage))
    ids = [d.arxiv_id for d in corpus]
    among, overlap = ids[::3], ids[1::2]
    got = loaded_index.keyword_match_count(query, filters, coverage, among, overlap, 10_000)
    assert (got.total, got.exact) == (len(listed), True)
    assert got.overlap == sum(1 for i in overlap if i in listed)
    assert got.members == frozenset(i for i in among if i in listed)
    floor_first = len(query.terms) > 1 and not (query.phrases or query.authors)
    if query.terms:
        # counted first from a word that is a match alone (with filters) or from more
        # covers than four (without, or where no word is)
        _, _, units, need = weights(corpus, query.terms, coverage, stems(loaded_index))
        covers = minimal_covers(units, need)
        by_covers = covers is not None and len(covers) > keyword_module.FLOOR_COVERS
        by_word = filters != NO_FILTER and any(u >= need for u in units)
        floor_first &= by_word or by_covers
    dated = filters.date_from is not None or filters.date_to is not None
    # a match query listed by its words' units (``_units_scan``) counts neither
    words = loaded_index.keyword
    searcher, cache = words._snapshot()
    rule = words._coverage_rule(searcher, cache, query, coverage)
    both = 0 if words._units_scan(searcher, query, filters, coverage, rule) is not None else 2
    if floor_first and not dated and listed:
        assert len(counts) == 1 + both, "the lower bound, the total and the overlap"
    elif listed and query.terms and not dated:
        assert len(counts) == both, "the total and the overlap"


def test_a_count_s_lower_bound_leaves_out_deleted_papers(
    index_factory: IndexFactory, tmp_path: Path, embedded_corpus: list[IndexDoc]
) -> None:
    """Documents deleted but not yet merged away still count in a word's frequency: the
    lower bound subtracts them, so it never passes the exact count, and a one-word
    query's count is no longer taken as exact."""
    index = index_factory(tmp_path / "index")
    index.upsert([replace(d) for d in embedded_corpus])
    index.commit()
    query = KeywordQuery(terms=["language"])
    before = index.keyword_match_count(query, NO_FILTER, 0.75, exact_up_to=1)
    holders = index.keyword_match_ids(query, NO_FILTER, 0.75)
    index.delete(holders[:5])
    index.commit()
    index.refresh()
    after = index.keyword_match_count(query, NO_FILTER, 0.75, exact_up_to=1)
    exact = len(index.keyword_match_ids(query, NO_FILTER, 0.75))
    assert exact == len(holders) - 5
    assert before.exact and before.total == len(holders)
    if is_milvus(index):
        assert (after.total, after.exact) == (exact, True)
        return
    # (a merge that dropped the deleted documents would make the count exact again)
    assert 1 < after.total <= exact
    assert not after.exact or after.total == exact


def test_milvus_warm_up_by_counts_reads_every_term(
    capped_index: Callable[[int], MilvusIndex], corpus: list[IndexDoc], milvus_server: str
) -> None:
    """Up to ``df_scan_max`` documents the warm-up counts every term's frequency from the
    texts, cut and stemmed as Milvus does, and reads every term's holders: the count
    agrees with Milvus for every word of the corpus' titles, a title's first match count
    then costs no search, and it counts what an index reading as it goes counts."""
    index = capped_index(40)  # past the cap as well
    index.warm_min_docs = 10
    index.upsert([replace(d) for d in corpus])
    index.commit()
    assert index.warm_up() > 1_000
    counts, _ = index._count_terms()
    words = sorted({w for d in corpus for w in index._text.words(d.title)})
    assert len(words) > 1_000
    fresh = type(index._holders)(index._holders.budget)
    index._word_holders(words, fresh)  # every word's holders, read from Milvus
    read = {w: fresh.doc_freqs[index._term(w)] for w in words}
    assert {w: counts.get(index._text.index_term(w), 0) for w in words} == read
    other = MilvusIndex(milvus_server, collection=index.collection, dim=384, max_topk=40)
    ids = [d.arxiv_id for d in corpus]
    calls = _calls(index)
    calls.clear()
    try:
        for d in corpus[:80:8]:
            q = KeywordQuery(terms=d.title.split())
            for coverage in (0.75, 0.2):
                got = index.keyword_match_count(q, NO_FILTER, coverage, among=ids[::3])
                want = set(other.keyword_match_ids(q, NO_FILTER, coverage))
                assert got.total == len(want) > 0
                assert got.members == frozenset(i for i in ids[::3] if i in want)
        assert calls["search"] == 0
    finally:
        other.close()


def _later_half(corpus: list[IndexDoc]) -> tuple[dt.date, dt.date]:
    """A date range holding about the later half of ``corpus``."""
    days = sorted(d.published for d in corpus if d.published)
    return days[len(days) // 2], days[-1]


def test_keyword_best_matches_are_the_ranked_matches_and_their_count(
    loaded_index: SearchIndex, corpus: list[IndexDoc], match_case: MatchCase
) -> None:
    """One pass ranks and counts what BM25's hits, kept when they match, and the listed
    set say: the same papers in the same order, the same scores, the same total. The
    embedded index takes it under a date range only (``TantivyKeywordIndex.best_matches``)."""
    query, filters, coverage = match_case
    if filters.date_from is None:
        assert loaded_index.keyword_best_matches(query, filters, coverage, 20) is None
    start, end = _later_half(corpus)
    filters = filters.model_copy(update={"date_from": start, "date_to": end})
    best = loaded_index.keyword_best_matches(query, filters, coverage, 20)
    if best is None:  # the engine has no one pass: a relevance search asks as before
        assert is_milvus(loaded_index)
        return
    ranking, counted = best
    listed = set(loaded_index.keyword_match_ids(query, filters, coverage))
    hits = loaded_index.keyword_search(query, filters, len(corpus))
    kept = [(i, s) for i, s in zip(hits.ids, hits.scores, strict=True) if i in listed][:20]
    assert ranking.ids == [i for i, _ in kept]
    assert ranking.scores == pytest.approx([s for _, s in kept], rel=1e-5)
    assert counted.total == len(listed)
    assert counted.members == frozenset(ranking.ids)
    if coverage == 1.0:  # BM25 hits that are not matches: ranking them all would fail
        assert 0 < len(ranking.ids) < min(20, len(hits.ids))


def test_the_hits_known_to_match_from_their_scores_are_matches(
    loaded_index: SearchIndex, corpus: list[IndexDoc], match_case: MatchCase
) -> None:
    """``keyword_search_with_members``: the same hits as ``keyword_search``, and those it
    says match (from their scores alone, without asking) are all in the listed set, on
    an index whose updated papers left deleted documents behind (tantivy's BM25 counts
    them: its ``N`` is above ``num_docs``). The embedded index knows most of them."""
    query, filters, coverage = match_case
    loaded_index.upsert([replace(d) for d in corpus[::4]])  # replaced: deleted and added
    loaded_index.commit()
    if isinstance(loaded_index, EmbeddedIndex):
        searcher, cache = loaded_index.keyword._snapshot()
        assert loaded_index.keyword._scoring_docs(searcher, cache) > searcher.num_docs
    listed = set(loaded_index.keyword_match_ids(query, filters, coverage))
    for k in (10, len(corpus)):
        hits, sure = loaded_index.keyword_search_with_members(query, filters, k, coverage)
        assert hits == loaded_index.keyword_search(query, filters, k)
        assert sure <= listed, sorted(sure - listed)[:5]
        assert sure <= set(hits.ids)
        if is_milvus(loaded_index):
            assert not sure
        elif query.terms and listed and k == 10 and coverage < 1.0:
            assert sure  # the bound is within reach (at full coverage it seldom is)


def test_a_title_s_best_hits_are_known_to_match_without_asking(
    loaded_index: SearchIndex, corpus: list[IndexDoc]
) -> None:
    """A pasted title at a low coverage (what a relevance search asks): its best BM25
    hits hold terms far past the coverage, so all ten are known from their scores, the
    case where asking cost most (its matches' postings walked); at half coverage of four
    words some BM25 hits are not matches, and they are never said to be."""
    if is_milvus(loaded_index):
        pytest.skip("Milvus knows none from the scores (asking is one array lookup)")
    query = KeywordQuery(terms=LONG_QUERY)
    hits, sure = loaded_index.keyword_search_with_members(query, NO_FILTER, 10, 0.15)
    assert len(hits) == 10 and sure == set(hits.ids)
    full = KeywordQuery(terms=["reinforcement", "learning", "reward", "policy"])
    listed = set(loaded_index.keyword_match_ids(full, NO_FILTER, 0.5))
    hits, sure = loaded_index.keyword_search_with_members(full, NO_FILTER, len(corpus), 0.5)
    assert set(hits.ids) - listed  # hits that are not matches: the check can fail
    assert sure and sure <= listed


def test_an_author_s_papers_lifted_by_the_name_boost_are_not_said_to_match(
    loaded_index: SearchIndex, corpus: list[IndexDoc]
) -> None:
    """Free text that is an author's name lifts that author's papers (``_boosts``)
    whether or not their text holds the words: those that do not are hits scoring far
    above a word's weight, and still not matches."""
    if is_milvus(loaded_index):
        pytest.skip("Milvus knows none from the scores (asking is one array lookup)")
    text = {d.arxiv_id: f"{d.title} {d.abstract}".lower() for d in corpus}
    for doc in corpus:
        name = next((a for a in doc.authors if len(a.split()) == 2), None)
        if name is None or any(w.lower() in text[doc.arxiv_id] for w in name.split()):
            continue
        query = KeywordQuery(terms=name.split())
        listed = set(loaded_index.keyword_match_ids(query, NO_FILTER, 1.0))
        hits, sure = loaded_index.keyword_search_with_members(query, NO_FILTER, 10, 1.0)
        assert doc.arxiv_id in hits.ids, name  # lifted by the name boost
        assert doc.arxiv_id not in listed and doc.arxiv_id not in sure, name
        assert sure <= listed
        return
    pytest.fail("no paper by a two-word author whose words its text lacks")


def test_every_keyword_match_is_a_keyword_search_hit(
    loaded_index: SearchIndex, corpus: list[IndexDoc], match_case: MatchCase
) -> None:
    """What a search counts it can list: each keyword match is among ``keyword_search``'s
    hits, a match held by its quoted phrase's words alone included."""
    query, filters, coverage = match_case
    listed = set(loaded_index.keyword_match_ids(query, filters, coverage))
    hits = set(loaded_index.keyword_search(query, filters, len(corpus)).ids)
    assert listed <= hits, sorted(listed - hits)[:5]
    if query.terms == ["survey"]:  # the phrase's words alone cover it: the check can fail
        assert listed
