"""Behaviour specific to the Milvus backend, on milvus-lite 2.5 (the engine a cluster runs):
a Milvus Lite server (``http://`` URI, as for a cluster) and Milvus Lite files (``.db``)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from paperwire.config import Settings
from paperwire.index.base import IndexDoc, KeywordQuery
from paperwire.index.factory import open_index
from paperwire.index.milvus import MilvusIndex, MilvusIndexError, milvus_literal
from paperwire.index.vectors import VectorDimensionError
from paperwire.models.search import SearchFilters
from tests.conftest import drop_milvus_collections, new_milvus_collection

NO_FILTER = SearchFilters()


def _doc(i: int, vector: np.ndarray | None = None, **kw: object) -> IndexDoc:
    fields: dict[str, object] = dict(
        arxiv_id=f"2599.{i:05d}",
        title=f"Paper number {i} about wombats",
        abstract="Text.",
        authors=["A B"],
        categories=["cs.LG"],
        organization=None,
        published=dt.date(2025, 3, 1),
        has_code=False,
        vector=vector,
    )
    fields.update(kw)
    return IndexDoc(**fields)  # type: ignore[arg-type]


@pytest.fixture
def collection(milvus_server: str) -> Iterator[str]:
    """A fresh collection name on the session's Milvus Lite server, dropped afterwards."""
    name = new_milvus_collection()
    yield name
    drop_milvus_collections(milvus_server, [name])


@pytest.fixture
def index(milvus_server: str, collection: str) -> Iterator[MilvusIndex]:
    ix = MilvusIndex(milvus_server, collection=collection, dim=8)
    yield ix
    ix.close()


def test_literals_are_escaped() -> None:
    assert milvus_literal('a"b\\c') == '"a\\"b\\\\c"'
    assert milvus_literal("x\ny\x00") == '"xy"'


def test_filter_values_cannot_inject(index: MilvusIndex) -> None:
    index.upsert([_doc(1, organization='nvidia" or "1', categories=['cs" or has_code == false'])])
    index.upsert([_doc(2, organization="back\\slash", has_code=True)])
    index.commit()
    q = KeywordQuery(terms=["wombats"])
    assert len(index.keyword_search(q, NO_FILTER, 10)) == 2
    for f in [
        SearchFilters(category='cs.LG" or has_code == false or "x'),
        SearchFilters(organization='x" or organization != "'),
        SearchFilters(organization="nvidia"),
    ]:
        assert not index.keyword_search(q, f, 10).ids, f
    # Odd values are stored as given (lower-cased) and match exactly.
    assert index.keyword_search(q, SearchFilters(organization='NVIDIA" or "1'), 10).ids == [
        "2599.00001"
    ]
    assert index.keyword_search(q, SearchFilters(organization="Back\\Slash"), 10).ids == [
        "2599.00002"
    ]
    both = SearchFilters(category='CS" OR HAS_CODE == FALSE')
    assert index.keyword_search(q, both, 10).ids == ["2599.00001"]


def test_dimension_is_checked(index: MilvusIndex) -> None:
    index.upsert([_doc(1, np.ones(8, np.float32))])
    index.commit()
    with pytest.raises(VectorDimensionError, match="dimensions"):
        index.upsert([_doc(2, np.ones(5, np.float32))])
    index.commit()  # nothing bad was queued
    assert index.vector_count() == 1
    with pytest.raises(ValueError, match="dimension"):
        index.vector_search(np.ones(5, np.float32), NO_FILTER, 3)


def test_huge_records_are_clipped_not_refused(index: MilvusIndex) -> None:
    authors = [f"Author {i} Collaboration" for i in range(5000)]  # > 64 KB joined
    long = _doc(3, abstract="wombat " * 20_000, authors=authors, categories=["x"] * 100)
    index.upsert([long])
    index.commit()
    assert index.keyword_search(KeywordQuery(authors=["Author 7"]), NO_FILTER, 5).ids == [
        long.arxiv_id
    ]


def test_factory_opens_milvus_lite_in_the_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, index="milvus")
    ix = open_index(settings)
    try:
        assert isinstance(ix, MilvusIndex) and ix.name == "milvus"
        assert Path(ix.uri) == (tmp_path / "index" / "milvus.db").resolve()
        assert ix.analyzer == "english"
        # Keyword-only rows first: the collection takes the model's size (384) from
        # the bundled model's files, without loading it.
        ix.upsert([_doc(1)])
        ix.commit()
        assert ix.keyword_count() == 1 and ix.vector_count() == 0
        assert ix._dim == 384
        assert ix.vector_index == "FLAT"  # what a Lite file builds for `auto`
        ix.clear()
        assert ix.keyword_count() == 0
        ix.upsert([_doc(2)])
        ix.commit()
        assert ix.keyword_count() == 1
    finally:
        ix.close()


def test_close_frees_the_file_for_another_process(tmp_path: Path) -> None:
    uri = str(tmp_path / "milvus.db")
    ix = MilvusIndex(uri, dim=8)
    ix.upsert([_doc(1, np.ones(8, np.float32))])
    ix.commit()
    ix.close()
    code = (
        "from paperwire.index.milvus import MilvusIndex\n"
        f"ix = MilvusIndex({uri!r})\n"
        "print(ix.keyword_count(), ix.vector_count())\n"
        "ix.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1", "1"]


def test_counts_are_cached_until_refresh(milvus_server: str, collection: str) -> None:
    writer = MilvusIndex(milvus_server, collection=collection, dim=8)
    reader = MilvusIndex(milvus_server, collection=collection, count_ttl=0)  # a web process
    try:
        assert reader.keyword_count() == 0  # no collection yet
        writer.upsert([_doc(1, np.ones(8, np.float32)), _doc(2)])
        writer.commit()
        q = KeywordQuery(terms=["wombats"])
        reader.refresh()  # notices the collection was created
        assert len(reader.keyword_search(q, NO_FILTER, 5)) == 2
        assert (reader.keyword_count(), reader.vector_count()) == (2, 1)
        writer.delete(["2599.00002"])
        writer.commit()
        assert reader.keyword_search(q, NO_FILTER, 5).ids == ["2599.00001"]  # at once
        assert reader.keyword_count() == 2  # cached...
        reader.refresh()
        assert reader.keyword_count() == 1  # ...renewed (count_ttl=0)
        writer.clear()
        reader.refresh()
        assert reader.keyword_count() == 0 and not reader.keyword_search(q, NO_FILTER, 5).ids
    finally:
        writer.close()
        reader.close()


def test_word_holders_follow_another_process(milvus_server: str, collection: str) -> None:
    """Kept across count renewals, a word's holders (and so its frequency and the match
    counts) are renewed when the collection's size changes or when the store's content
    generation moves (``follow_content``: an edit elsewhere keeps the size); the first
    generation told is only noted, the same one again keeps them."""
    writer = MilvusIndex(milvus_server, collection=collection, dim=8)
    reader = MilvusIndex(milvus_server, collection=collection, count_ttl=0)
    try:
        writer.upsert([_doc(i) for i in range(3)])
        writer.commit()
        reader.refresh()
        q = KeywordQuery(terms=["wombats"])

        def df(word: str) -> int:
            reader.refresh()
            return next(s.doc_freq for s in reader.term_statistics(word))

        def counted() -> int:
            reader.refresh()
            return reader.keyword_match_count(q, NO_FILTER, 1.0, among=["2599.00000"]).total

        reader.follow_content(7, True)  # first told: noted
        assert df("wombats") == 3 and counted() == 3
        writer.upsert([_doc(i) for i in range(3, 5)])  # the size changes
        writer.commit()
        assert df("wombats") == 5 and counted() == 5
        writer.upsert([_doc(0, title="Paper number 0 about quokkas")])  # the size stays
        writer.commit()
        assert df("wombats") == 5 and counted() == 5  # kept...
        reader.follow_content(7, True)
        assert df("wombats") == 5 and counted() == 5  # ...while the generation stays...
        reader.follow_content(8, True)
        assert df("wombats") == 4 and counted() == 4  # ...renewed when it moved
        assert writer.term_statistics("wombats")[0].doc_freq == 4  # the writer knows at once
    finally:
        writer.close()
        reader.close()


def test_holders_wait_for_the_content_to_settle_and_a_dropped_warm_up_stops(
    milvus_server: str, collection: str
) -> None:
    """Holders begun while the content generation still moves start no warm-up and are
    renewed once it has settled (also across a size change meanwhile); a warm-up whose
    cache was renewed meanwhile stops instead of reading every term."""
    index = MilvusIndex(milvus_server, collection=collection, dim=8, warm_min_docs=1)
    try:
        index.upsert([_doc(i) for i in range(30)])
        index.commit()
        q = KeywordQuery(terms=["wombats"])
        assert index.keyword_count() == 30
        index.follow_content(1, True)
        index.follow_content(2, False)  # moved, not settled
        moving = index._holders
        assert index.keyword_match_count(q, NO_FILTER, 1.0).total == 30
        assert moving.unsettled and not moving.warming and "wombat" in moving
        index.upsert([_doc(30)])
        index.commit()  # this process's commit: renewed, still unsettled
        assert index.keyword_match_count(q, NO_FILTER, 1.0).total == 31
        assert index._holders is not moving and index._holders.unsettled
        assert not index._holders.warming
        index.follow_content(2, True)  # settled
        settled = index._holders
        assert not settled.unsettled and "wombat" not in settled
        index.follow_content(2, True)
        assert index._holders is settled
        dropped = index._holders
        index.follow_content(3, True)  # renewed before its warm-up runs
        assert index._warm(dropped) == 0 and not dropped.held and not dropped.doc_freqs
        assert index.warm_up() > 10 and "wombat" in index._holders
    finally:
        index.close()


def test_word_holders_are_renewed_by_this_process_commits(index: MilvusIndex) -> None:
    """A commit here forgets the kept holders at once: counts, members and listed sets
    never lag behind this process's own writes, also for an edit that keeps the size."""
    index.upsert([_doc(i) for i in range(4)])
    index.commit()
    q = KeywordQuery(terms=["wombats"])
    first = index.keyword_match_count(q, NO_FILTER, 1.0, among=["2599.00000", "2599.00001"])
    assert (first.total, first.members) == (4, frozenset({"2599.00000", "2599.00001"}))
    index.upsert([_doc(1, title="Paper number 1 about quokkas")])  # same size
    index.commit()
    after = index.keyword_match_count(q, NO_FILTER, 1.0, among=["2599.00000", "2599.00001"])
    assert (after.total, after.members) == (3, frozenset({"2599.00000"}))
    assert index.keyword_match_ids(q, NO_FILTER, 1.0) == ["2599.00000", "2599.00002", "2599.00003"]
    quokkas = KeywordQuery(terms=["quokkas"])
    assert index.keyword_match_count(quokkas, NO_FILTER, 1.0).total == 1
    index.delete(["2599.00000"])
    index.commit()
    assert index.keyword_match_count(q, NO_FILTER, 1.0, overlap=["2599.00000"]).overlap == 0


def test_word_holders_stay_within_their_budget(milvus_server: str, collection: str) -> None:
    """The kept holders never exceed ``holders_budget`` ids: the least recently used
    words go first, and a word holding more than the whole budget is read, not kept;
    answers stay exact either way."""
    index = MilvusIndex(milvus_server, collection=collection, dim=8, holders_budget=12)
    try:
        docs = [
            _doc(i, title=f"Paper {i} about wombats{' and quokkas' * (i < 5)}") for i in range(20)
        ]
        index.upsert(docs)
        index.commit()
        count = index.keyword_match_count
        assert count(KeywordQuery(terms=["quokkas"]), NO_FILTER, 1.0).total == 5
        assert index._holders.held == 5
        assert count(KeywordQuery(terms=["wombats"]), NO_FILTER, 1.0).total == 20  # 20 > 12
        assert index._holders.held == 5  # not kept
        for i in range(5):  # words of one holder each
            assert count(KeywordQuery(terms=[f"{i}"]), NO_FILTER, 1.0).total >= 1
        kept = index._holders
        assert kept.held <= 12 and "quokka" in kept  # (no use: stays least recent)
        for i in range(5, 12):
            count(KeywordQuery(terms=[f"{i}"]), NO_FILTER, 1.0)
        assert kept.held <= 12 and "quokka" not in kept
        assert count(KeywordQuery(terms=["quokkas"]), NO_FILTER, 1.0).total == 5  # read again
    finally:
        index.close()


def test_a_large_collection_warms_its_common_words_up(milvus_server: str, collection: str) -> None:
    """From ``warm_min_docs`` on, the first match set after a change starts reading the
    holders of the commonest terms in a thread; ``warm_up`` does it at once (here by a
    sample: no frequencies are counted past ``df_scan_max`` documents)."""
    index = MilvusIndex(
        milvus_server, collection=collection, dim=8, warm_min_docs=10, df_scan_max=0
    )
    try:
        index.upsert([_doc(i, abstract="Rare kiwis." if i == 0 else "Text.") for i in range(30)])
        index.commit()
        q = KeywordQuery(terms=["kiwis"])
        assert index.keyword_match_count(q, NO_FILTER, 1.0).total == 1
        cache = index._holders
        assert cache.warming
        for thread in threading.enumerate():
            if thread.name == "milvus-warm-up":
                thread.join(30)
        # in (nearly) every document ("paper", "wombat", "text"); not in 1 of 30 ("rare")
        assert all(term in cache for term in ("wombat", "paper", "text"))
        assert "rare" not in cache and cache.doc_freqs["wombat"] == 30
        index.upsert([_doc(30)])
        index.commit()  # new holders: nothing kept, until warmed up again
        assert "wombat" not in index._holders
        assert index.warm_up() >= 3 and "wombat" in index._holders
        small = MilvusIndex(milvus_server, collection=collection)  # warm_min_docs: 20,000
        try:
            small.keyword_match_count(q, NO_FILTER, 1.0)
            assert not small._holders.warming
        finally:
            small.close()
    finally:
        index.close()


def test_the_warm_up_reads_every_counted_term_only_where_it_may(
    milvus_server: str, collection: str
) -> None:
    """The warm-up counts every term's frequency and reads all their holders up to
    ``df_scan_max`` documents, and only with Milvus's own stemmer at hand (else by the
    sample); terms are Milvus's stems; match counts are the same either way."""
    index = MilvusIndex(milvus_server, collection=collection, dim=8, warm_min_docs=10)
    capped = MilvusIndex(milvus_server, collection=collection, warm_min_docs=10, df_scan_max=29)
    bare = MilvusIndex(milvus_server, collection=collection, warm_min_docs=10)
    bare._text.index_stems = None  # py-rust-stemmers missing
    try:
        docs = [
            _doc(i, abstract="Universities organize." if i == 0 else "Text.") for i in range(30)
        ]
        index.upsert(docs)
        index.commit()
        q = KeywordQuery(terms=["university", "organizations", "wombats"])
        counts, kept = [], []
        for ix in (index, capped, bare):
            ix.refresh()  # (the collection was created after they opened)
            assert ix.warm_up() > 0
            kept.append(ix._term("university") in ix._holders)
            counts.append(ix.keyword_match_count(q, NO_FILTER, 0.5).total)
        # Milvus's stems (rust-stemmers), not PyStemmer's ("universiti", "organiz")
        assert index._term("university") == index._term("universal") == "univers"
        assert index._term("organizations") == "organ"
        assert index._holders.doc_freqs["univers"] == 1 and "text" in index._holders
        # every counted term is read; by the sample, not a term of 1 document in 30
        assert kept == [True, False, False]
        assert counts == [1, 1, 1]
    finally:
        for ix in (index, capped, bare):
            ix.close()


def test_a_standard_analyzer_warms_every_word_unstemmed(
    milvus_server: str, collection: str
) -> None:
    """With the ``standard`` analyzer the count keeps every word as it is (no stems, no
    stop words), as Milvus does."""
    index = MilvusIndex(
        milvus_server, collection=collection, dim=8, warm_min_docs=10, analyzer="standard"
    )
    try:
        docs = [_doc(i, abstract="The universities." if i == 0 else "Text.") for i in range(30)]
        index.upsert(docs)
        index.commit()
        assert index.warm_up() > 0
        kept = index._holders
        assert kept.doc_freqs["universities"] == 1 and kept.doc_freqs["the"] == 1
        assert "university" not in kept.doc_freqs and "about" in kept
        q = KeywordQuery(terms=["universities"])
        assert index.keyword_match_count(q, NO_FILTER, 1.0).total == 1
    finally:
        index.close()


def test_match_sets_without_the_raw_search_reply_agree(index: MilvusIndex) -> None:
    """Where pymilvus does not hand back its gRPC future, hits are read the ordinary way
    with the same answers."""
    index.upsert([_doc(i, has_code=i % 2 == 0) for i in range(9)])
    index.commit()
    q = KeywordQuery(terms=["wombats", "number"])
    coded = SearchFilters(has_code=True)
    fast = (index.keyword_match_ids(q, coded, 1.0), index.keyword_match_count(q, coded, 1.0))
    assert index._raw_search and fast[1].total == 5
    index._forget_counts()
    index._raw_search = False
    assert (
        index.keyword_match_ids(q, coded, 1.0),
        index.keyword_match_count(q, coded, 1.0),
    ) == fast


def test_papers_without_a_vector_hold_a_unit_placeholder_never_returned(
    index: MilvusIndex,
) -> None:
    """Zero vectors break HNSW routing under cosine (docs/benchmarks.md, Backends), so a
    paper without an embedding stores a seeded unit vector, hidden by ``has_vector``."""
    rng = np.random.default_rng(5)
    real = rng.standard_normal((3, 8)).astype(np.float32)
    index.upsert([_doc(i, real[i]) for i in range(3)] + [_doc(i) for i in range(3, 40)])
    index.commit()
    rows = index._client.query(
        index.collection,
        filter="has_vector == false",
        output_fields=["arxiv_id", "vector"],
        consistency_level="Strong",
    )
    assert len(rows) == 37
    norms = [float(np.linalg.norm(np.asarray(r["vector"], dtype=np.float32))) for r in rows]
    assert min(norms) == pytest.approx(1.0, abs=1e-5) and max(norms) == pytest.approx(1.0, abs=1e-5)
    placeholder = np.asarray(rows[0]["vector"], dtype=np.float32)
    assert index.vector_of(str(rows[0]["arxiv_id"])) is None
    # Even a query equal to a placeholder finds only papers with real vectors.
    found = index.vector_search(placeholder, SearchFilters(), 10)
    assert sorted(found.ids) == sorted(_doc(i).arxiv_id for i in range(3))


class _RoundTrips:
    """Counts the requests an index sends to Milvus (the real client does the work)."""

    def __init__(self, index: MilvusIndex) -> None:
        self.calls: list[str] = []
        client = index._client
        for method in ("search", "query", "hybrid_search", "get"):
            setattr(client, method, self._counted(method, getattr(client, method)))

    def _counted(self, name: str, call: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return call(*args, **kwargs)

        return counted

    def take(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls


def test_searches_cost_one_round_trip_per_ranker(index: MilvusIndex) -> None:
    """No per-result calls: the vectors of 100 keyword candidates come in one query, and
    a name-like query adds one search (the author pass) to the text search."""
    rng = np.random.default_rng(3)
    docs = [_doc(i, rng.standard_normal(8).astype(np.float32)) for i in range(150)]
    docs.append(_doc(150, title="Marsupial burrows", authors=["Li Dong", "Wei Zhang"]))
    index.upsert(docs)
    index.commit()
    trips = _RoundTrips(index)
    kw = index.keyword_search(KeywordQuery(terms=["wombats"]), NO_FILTER, 100)
    assert len(kw) == 100 and trips.take() == ["search"]
    vectors = index.vectors_of(kw.ids)
    assert len(vectors) == 100 and trips.take() == ["query"]
    cosines = index.cosines_of(docs[0].vector, kw.ids)  # type: ignore[arg-type]
    assert len(cosines) == 100 and trips.take() == ["search"]
    assert len(index.vector_search(docs[0].vector, NO_FILTER, 100)) == 100  # type: ignore[arg-type]
    assert trips.take() == ["search"]
    by_name = index.keyword_search(KeywordQuery(terms=["li", "dong"]), NO_FILTER, 10)
    assert by_name.ids == ["2599.00150"]
    assert trips.take() == ["search", "search"]  # text, author pass


def test_a_lite_server_uri_gets_the_indexes_it_accepts(milvus_server: str, collection: str) -> None:
    """Pointed at a Milvus Lite *server* (an ``http://`` URI, as for a cluster), ``auto``
    asks for HNSW, is refused and builds FLAT; the ARRAY (categories) scalar index is
    refused too and the category filter works without it."""
    settings = Settings(index="milvus", milvus_uri=milvus_server, milvus_collection=collection)
    ix = open_index(settings)
    try:
        assert isinstance(ix, MilvusIndex)
        ix.upsert([_doc(1, np.ones(8, np.float32), categories=["cs.CV", "cs.LG"]), _doc(2)])
        ix.commit()
        assert ix.vector_index == "FLAT"
        indexed = set(ix._client.list_indexes(collection))
        assert {"vector", "text_sparse", "author_pairs_sparse", "published"} <= indexed
        assert "categories" not in indexed  # Milvus Lite: no scalar index on ARRAY
        cv = SearchFilters(category="cs.cv")
        q = KeywordQuery(terms=["wombats"])
        assert ix.keyword_search(q, cv, 5).ids == ["2599.00001"]
        assert ix.vector_search(np.ones(8, np.float32), cv, 5).ids == ["2599.00001"]
    finally:
        ix.close()


def test_vector_index_type_and_parameters_are_settings(milvus_server: str, collection: str) -> None:
    ivf = Settings(
        index="milvus",
        milvus_uri=milvus_server,
        milvus_collection=collection,
        milvus_index_type="IVF_FLAT",
        milvus_index_params={"nlist": 4},
        milvus_search_params={"nprobe": 4},
    )
    ix = open_index(ivf)
    try:
        assert isinstance(ix, MilvusIndex)
        rng = np.random.default_rng(1)
        vectors = rng.standard_normal((40, 8)).astype(np.float32)
        # The first commit holds a paper without a vector: nothing to look up in a new
        # collection (Milvus Lite cannot read vectors of an empty IVF_FLAT collection).
        ix.upsert([_doc(i, vectors[i]) for i in range(40)] + [_doc(40)])
        ix.commit()
        assert set(ix.vectors_of(["2599.00003", "2599.00040"])) == {"2599.00003"}
        asked = [f"2599.{i:05d}" for i in range(41)]
        cosines = ix.cosines_of(vectors[7], asked)  # an IVF search may miss some: read here
        assert set(cosines) == set(asked[:40]) and cosines["2599.00007"] == pytest.approx(1.0)
        described = ix._client.describe_index(collection, index_name="vector")
        assert described["index_type"] == "IVF_FLAT" and described["nlist"] == "4"
        assert ix._vector_search_params(10)["params"] == {"nprobe": 4}
        assert ix.vector_search(vectors[7], NO_FILTER, 1).ids == ["2599.00007"]
    finally:
        ix.close()
    # Reopened without settings, it searches with the defaults of the index it finds.
    reopened = MilvusIndex(milvus_server, collection=collection)
    try:
        assert reopened.vector_index == "IVF_FLAT"
        assert reopened._vector_search_params(10)["params"] == {"nprobe": 32}
    finally:
        reopened.close()


def test_a_refused_vector_index_is_a_clear_error(milvus_server: str, collection: str) -> None:
    ix = MilvusIndex(milvus_server, collection=collection, dim=8, index_type="HNSW")
    try:
        ix.upsert([_doc(1, np.ones(8, np.float32))])
        with pytest.raises(MilvusIndexError, match=r"refused vector index HNSW.*INDEX_TYPE"):
            ix.commit()
        assert not ix._client.has_collection(collection)  # nothing half-built is left
    finally:
        ix.close()
    flat = MilvusIndex(milvus_server, collection=collection, dim=8, index_type="FLAT")
    try:
        flat.upsert([_doc(1, np.ones(8, np.float32))])
        flat.commit()
        assert flat.vector_search(np.ones(8, np.float32), NO_FILTER, 1).ids == ["2599.00001"]
    finally:
        flat.close()


def test_a_collection_of_an_older_schema_asks_for_a_rebuild(
    milvus_server: str, collection: str
) -> None:
    from pymilvus import DataType, MilvusClient

    from paperwire.index.milvus import GRPC_OPTIONS

    client = MilvusClient(milvus_server, grpc_options=GRPC_OPTIONS)
    schema = client.create_schema(auto_id=False)
    schema.add_field("arxiv_id", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=8)
    params = client.prepare_index_params()
    params.add_index("vector", index_type="FLAT", metric_type="COSINE")
    client.create_collection(collection, schema=schema, index_params=params)
    client.close()
    ix = MilvusIndex(milvus_server, collection=collection)
    try:
        with pytest.raises(MilvusIndexError, match="paperwire index --rebuild"):
            ix.keyword_search(KeywordQuery(terms=["wombats"]), NO_FILTER, 5)
        ix.upsert([_doc(1, np.ones(8, np.float32))])
        with pytest.raises(MilvusIndexError, match="older paperwire"):
            ix.commit()
        ix.clear()  # what `paperwire index --rebuild` does first
        ix.upsert([_doc(1, np.ones(8, np.float32))])
        ix.commit()
        assert ix.keyword_search(KeywordQuery(terms=["wombats"]), NO_FILTER, 5).ids == [
            "2599.00001"
        ]
    finally:
        ix.close()


def test_a_phrase_is_checked_on_the_texts_once_until_the_collection_changes(
    index: MilvusIndex,
) -> None:
    """Milvus Lite has no phrase match, so a phrase is checked on texts: those of the
    papers holding every word of it (not every holder of the rarest), read once and kept
    with the word holders, so the count, the listing and the semantic side of one search
    (and later searches) do not read them again; a commit renews them."""
    docs = [_doc(i, abstract="Wombats dig burrows at night.") for i in range(6)]
    docs += [_doc(6 + i, abstract="Night wombats, burrows dig.") for i in range(3)]
    docs += [_doc(9 + i, abstract="Wombats dig at night.") for i in range(5)]  # no "burrows"
    index.upsert(docs)
    index.commit()
    read: list[int] = []  # ids per read of texts
    query = index._client.query

    def reading_texts(*args: Any, **kwargs: Any) -> Any:
        rows = query(*args, **kwargs)
        if "text" in kwargs.get("output_fields", []):
            read.append(len(rows))
        return rows

    index._client.query = reading_texts  # type: ignore[method-assign]
    q = KeywordQuery(phrases=["dig burrows"])
    assert index.keyword_match_count(q, NO_FILTER, 1.0).total == 6
    assert read == [9]  # the papers holding both words, once
    assert index.keyword_match_ids(q, NO_FILTER, 1.0) == [d.arxiv_id for d in docs[:6]]
    filtered = SearchFilters(date_from=dt.date(2025, 1, 1))
    assert index.keyword_match_count(q, filtered, 1.0).total == 6
    both = KeywordQuery(terms=["wombats"], phrases=["dig burrows"])
    assert index.keyword_match_count(both, NO_FILTER, 1.0).total == 6
    assert read == [9]  # kept
    index.upsert([_doc(9, abstract="Wombats dig burrows too.")])
    index.commit()
    assert index.keyword_match_count(q, NO_FILTER, 1.0).total == 7
    assert read == [9, 10]


def test_a_rare_phrase_of_common_words_is_searched_among_its_holders(
    index: MilvusIndex,
) -> None:
    """A phrase few papers hold, of words many hold: the text search asks among the
    holders (an id filter), not page after page of BM25 hits whose texts are checked."""
    docs = [_doc(i, abstract="Wombats dig deep burrows.") for i in range(120)]
    docs += [_doc(120 + i, abstract="Wombats dig burrows.") for i in range(3)]
    index.upsert(docs)
    index.commit()
    q = KeywordQuery(terms=["wombats"], phrases=["dig burrows"])
    index.keyword_match_count(q, NO_FILTER, 1.0)  # the holders, as a search reads them
    returned: list[int] = []
    search = index._client.search

    def counted(*args: Any, **kwargs: Any) -> Any:
        result = search(*args, **kwargs)
        if kwargs.get("anns_field") == "text_sparse":
            returned.extend(len(hits) for hits in result)
        return result

    index._client.search = counted  # type: ignore[method-assign]
    found = index.keyword_search(q, NO_FILTER, 10)
    assert sorted(found.ids) == [d.arxiv_id for d in docs[120:]]
    assert sum(returned) == 3


def test_phrase_tokens_are_the_analysers_with_each_word_stemmed_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``_Analyzer.tokens`` keeps each word's token across texts; what it returns is what
    the analyser gives (stop words and over-long words dropped, order kept), also when
    its table is full and a new one is begun."""
    from paperwire.index import milvus

    texts = [
        "Diffusion Models for video editing: the models of diffusion.",
        "Mixture of experts routes tokens; " + "x" * 45 + " stays out.",
        "Réseaux de neurones et modèles de diffusion, Straße, İstanbul.",
        "Running runners ran; the runs of a runner.",
    ] * 3
    monkeypatch.setattr(milvus, "_TOKENS_KEPT", 12)
    analyser = milvus._Analyzer("english")
    for text in texts:
        assert analyser.tokens(text) == [t for _, t in analyser.analysed(text)], text
    assert 0 < len(analyser._tokens) <= 12 + 20


def test_each_thread_stems_with_its_own_stemmer() -> None:
    """PyStemmer's stemmers are not thread-safe; a hybrid search analyses words in two
    threads at once, so each thread gets its own (and the same stems)."""
    from concurrent.futures import ThreadPoolExecutor

    from paperwire.index import milvus

    analyser = milvus._Analyzer("english")
    words = ["running", "diffusion", "models", "studies"]
    here = analyser._stem_words(words)
    with ThreadPoolExecutor(1) as pool:
        there = pool.submit(analyser._stem_words, words).result()
        other = pool.submit(lambda: analyser._local.stemmer).result()
    assert here == there == ["run", "diffus", "model", "studi"]
    assert other is not analyser._local.stemmer
