"""The ``SearchIndex`` contract, run against every backend in ``conftest.BACKENDS``.

Real engines, the real bundled model and ~300 real arXiv papers; no stubs.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from paperwire.index.base import IndexDoc, KeywordQuery, Ranked, SearchIndex
from paperwire.index.embedding.torch import SentenceTransformerEmbedder
from paperwire.models.search import SearchFilters

from .conftest import IndexFactory, is_milvus, passes_filters, reads_snapshots, stems

pytestmark = pytest.mark.slow  # real embeddings

NO_FILTER = SearchFilters()
BROAD = KeywordQuery(terms=["model", "learning", "data", "method", "image", "language"])


def words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9]+", text)


def by_id(corpus: list[IndexDoc]) -> dict[str, IndexDoc]:
    return {d.arxiv_id: d for d in corpus}


def assert_ranked(r: Ranked) -> None:
    assert len(r.ids) == len(r.scores)
    assert len(set(r.ids)) == len(r.ids), "duplicate ids"
    assert all(a >= b for a, b in zip(r.scores, r.scores[1:], strict=False)), "not best first"


# ---------------------------------------------------------------- basics


def test_implements_protocol(loaded_index: SearchIndex, corpus: list[IndexDoc]) -> None:
    assert isinstance(loaded_index, SearchIndex)
    assert isinstance(loaded_index.name, str) and loaded_index.name
    assert loaded_index.keyword_count() == len(corpus)
    assert loaded_index.vector_count() == len(corpus)


def test_uncommitted_changes_are_invisible(
    index_factory: IndexFactory, tmp_path: Path, embedded_corpus: list[IndexDoc]
) -> None:
    index = index_factory(tmp_path / "i")
    index.upsert(embedded_corpus[:10])
    assert index.keyword_count() == 0
    assert index.vector_count() == 0
    index.commit()
    assert index.keyword_count() == 10
    assert index.vector_count() == 10


def test_docs_without_vectors_are_keyword_only(
    index_factory: IndexFactory, tmp_path: Path, corpus: list[IndexDoc]
) -> None:
    index = index_factory(tmp_path / "i")
    index.upsert(corpus[:20])  # vector=None
    index.commit()
    assert index.keyword_count() == 20
    assert index.vector_count() == 0
    assert index.vector_of(corpus[0].arxiv_id) is None


# ---------------------------------------------------------------- keyword search


def test_title_words_find_the_paper_first(
    loaded_index: SearchIndex, corpus: list[IndexDoc]
) -> None:
    for doc in corpus[::30]:
        r = loaded_index.keyword_search(KeywordQuery(terms=words(doc.title)), NO_FILTER, 10)
        assert_ranked(r)
        assert r.ids[0] == doc.arxiv_id, doc.title
        assert r.scores[0] > 0


def test_distinctive_words_of_a_known_paper(loaded_index: SearchIndex) -> None:
    # 2503.12284 "REdiSplats: Ray Tracing for Editable Gaussian Splatting"
    r = loaded_index.keyword_search(
        KeywordQuery(terms=["ray", "tracing", "editable", "splatting"]), NO_FILTER, 5
    )
    assert r.ids[0] == "2503.12284"
    # 2503.12981 "Analyzing Swimming Performance Using Drone Captured Aerial Videos"
    r = loaded_index.keyword_search(KeywordQuery(terms=["swimmers", "drone"]), NO_FILTER, 5)
    assert r.ids[0] == "2503.12981"


def test_stemming(index_factory: IndexFactory, tmp_path: Path, corpus: list[IndexDoc]) -> None:
    index = index_factory(tmp_path / "i")
    doc = IndexDoc(
        arxiv_id="2599.00001",
        title="Sparse transformers pruned at initialisation",
        abstract="Weights are pruned once; the networks train faster.",
        authors=["Ada Lovelace"],
        categories=["cs.LG"],
        organization=None,
        published=dt.date(2025, 3, 20),
        has_code=False,
    )
    index.upsert([*corpus[:100], doc])
    index.commit()
    for term in ["pruning", "prune", "Pruned", "PRUNES"]:
        r = index.keyword_search(KeywordQuery(terms=[term]), NO_FILTER, 5)
        if not stems(index) and term.lower() != "pruned":
            # Backend-specific: Milvus Lite's `standard` analyzer does not stem, so
            # only the exact word form matches (a cluster's `english` analyzer stems).
            assert doc.arxiv_id not in r.ids, term
            continue
        assert doc.arxiv_id in r.ids, term
        assert r.ids[0] == doc.arxiv_id, term


def test_repeated_terms_weigh_more(
    index_factory: IndexFactory, tmp_path: Path, corpus: list[IndexDoc]
) -> None:
    index = index_factory(tmp_path / "i")
    common = dict(authors=["A B"], categories=["cs.LG"], organization=None,
                  published=dt.date(2025, 3, 20), has_code=False)  # fmt: skip
    quokka = IndexDoc("2599.00050", "Counting quokka colonies", "From the air.", **common)
    wombat = IndexDoc("2599.00051", "Counting wombat colonies", "From the air.", **common)
    index.upsert([*corpus[:50], quokka, wombat])
    index.commit()
    more_wombat = index.keyword_search(
        KeywordQuery(terms=["quokka", "wombat", "wombat"]), NO_FILTER, 2
    )
    more_quokka = index.keyword_search(
        KeywordQuery(terms=["quokka", "Quokkas", "wombat"]), NO_FILTER, 2
    )
    assert more_wombat.ids == [wombat.arxiv_id, quokka.arxiv_id]
    assert more_quokka.ids == [quokka.arxiv_id, wombat.arxiv_id]
    assert more_wombat.scores[0] == pytest.approx(2 * more_wombat.scores[1], rel=1e-3)


def test_stop_words_are_neither_scored_nor_covered(
    index_factory: IndexFactory, tmp_path: Path, corpus: list[IndexDoc]
) -> None:
    """Both engines leave Lucene's English stop words out of BM25 and out of a keyword
    match's coverage (``base.scored_tokens``): a paper full of "of the" ranks no higher
    for them, and a query of stop words alone finds its papers where the index holds
    them (the embedded one; Milvus's ``english`` analyzer drops them from its index)."""
    index = index_factory(tmp_path / "i")
    common = dict(authors=["A B"], categories=["cs.LG"], organization=None,
                  published=dt.date(2025, 3, 20), has_code=False)  # fmt: skip
    plain = IndexDoc("2599.00060", "Counting quokka colonies", "Seen from aircraft.", **common)
    wordy = IndexDoc(
        "2599.00061",
        "On the quokka and the island",
        "Of the many colonies of the island, the one of the west is the largest of the lot.",
        **common,
    )
    hamlet = IndexDoc("2599.00062", "To be or not to be", "A soliloquy, counted.", **common)
    willing = IndexDoc("2599.00063", "Willing quokkas", "Counted on an island.", **common)
    index.upsert([*corpus[:50], plain, wordy, hamlet, willing])
    index.commit()
    content = index.keyword_search(KeywordQuery(terms=["quokka"]), NO_FILTER, 5)
    padded = index.keyword_search(KeywordQuery(terms=["of", "the", "quokka"]), NO_FILTER, 5)
    assert set(content.ids) == {plain.arxiv_id, wordy.arxiv_id, willing.arxiv_id}
    assert padded.ids == content.ids
    assert padded.scores == pytest.approx(content.scores, rel=1e-4)
    # "the" covers nothing: a paper holding "island" alone matches "the island" fully
    matches = index.keyword_match_ids(KeywordQuery(terms=["the", "island"]), NO_FILTER, 1.0)
    assert set(matches) == {wordy.arxiv_id, willing.arxiv_id}
    alone = index.keyword_search(KeywordQuery(terms=["to", "be", "or", "not"]), NO_FILTER, 5)
    keen = KeywordQuery(terms=["willing", "quokkas"])
    keen_matches = set(index.keyword_match_ids(keen, NO_FILTER, 1.0))
    if is_milvus(index):
        assert alone.ids == []  # not in its index
        # its analyzer drops stop words after stemming: "willing" is "will", dropped
        assert keen_matches == {plain.arxiv_id, wordy.arxiv_id, willing.arxiv_id}
    else:
        assert alone.ids[0] == hamlet.arxiv_id
        assert keen_matches == {willing.arxiv_id}  # a stop word only as written


def test_phrase_must_match(
    index_factory: IndexFactory, tmp_path: Path, corpus: list[IndexDoc]
) -> None:
    index = index_factory(tmp_path / "i")
    base = dict(authors=["A B"], categories=["cs.CV"], organization=None,
                published=dt.date(2025, 3, 20), has_code=False)  # fmt: skip
    in_phrase = IndexDoc("2599.00010", "Fast neural radiance fields", "We render.", **base)
    scattered = IndexDoc(
        "2599.00011", "Fields of view", "Radiance estimates with a neural decoder.", **base
    )
    across = IndexDoc("2599.00012", "Learning neural", "Radiance fields for all.", **base)
    index.upsert([*corpus, in_phrase, scattered, across])
    index.commit()

    loose = index.keyword_search(
        KeywordQuery(terms=["neural", "radiance", "fields"]), NO_FILTER, 400
    )
    assert {in_phrase.arxiv_id, scattered.arxiv_id, across.arxiv_id} <= set(loose.ids)

    r = index.keyword_search(KeywordQuery(phrases=["neural radiance fields"]), NO_FILTER, 400)
    assert_ranked(r)
    assert in_phrase.arxiv_id in r.ids
    assert scattered.arxiv_id not in r.ids
    assert across.arxiv_id not in r.ids, "phrase matched across the title/abstract boundary"
    texts = by_id([*corpus, in_phrase])
    for arxiv_id in r.ids:
        d = texts[arxiv_id]
        assert re.search(r"neural\s+radiance\s+field", f"{d.title}\n{d.abstract}", re.I), arxiv_id

    # A phrase plus free terms: terms rank, the phrase still constrains.
    both = index.keyword_search(
        KeywordQuery(terms=["render"], phrases=["neural radiance fields"]), NO_FILTER, 400
    )
    assert set(both.ids) <= set(r.ids)
    assert both.ids[0] == in_phrase.arxiv_id


def test_match_ids_up_to_a_bound_list_one_past_it(loaded_index: SearchIndex) -> None:
    """``up_to``: every match where there are no more than that, else ``up_to + 1`` of
    them (the caller learns there are more); the same set without it."""
    query = KeywordQuery(terms=["learning"])
    every = loaded_index.keyword_match_ids(query, NO_FILTER, 1.0)
    n = len(every)
    assert n >= 3
    for up_to in (0, 1, n - 2, n - 1, n, n + 5):
        some = loaded_index.keyword_match_ids(query, NO_FILTER, 1.0, up_to=up_to)
        assert len(some) == min(n, up_to + 1), up_to
        assert len(set(some)) == len(some) and set(some) <= set(every), up_to
    phrase = KeywordQuery(phrases=["neural networks"])
    holders = loaded_index.keyword_match_ids(phrase, NO_FILTER, 1.0)
    assert holders
    assert sorted(loaded_index.keyword_match_ids(phrase, NO_FILTER, 1.0, up_to=len(holders))) == (
        sorted(holders)
    )


def test_author_constraint(loaded_index: SearchIndex, corpus: list[IndexDoc]) -> None:
    author = "Wenqi Shao"
    expected = {d.arxiv_id for d in corpus if author in d.authors}
    assert len(expected) >= 2
    r = loaded_index.keyword_search(KeywordQuery(authors=[author]), NO_FILTER, 50)
    assert set(r.ids) == expected
    # Case and a term together: the author still constrains.
    r2 = loaded_index.keyword_search(
        KeywordQuery(terms=["model"], authors=["wenqi SHAO"]), NO_FILTER, 50
    )
    assert set(r2.ids) <= expected and r2.ids


def test_author_name_as_free_text(loaded_index: SearchIndex, corpus: list[IndexDoc]) -> None:
    for author in ["Wenqi Shao", "Hongxun Yao", "Kaipeng Zhang"]:
        expected = {d.arxiv_id for d in corpus if author in d.authors}
        r = loaded_index.keyword_search(KeywordQuery(terms=author.split()), NO_FILTER, 10)
        top = r.ids[: len(expected)]
        assert set(top) == expected, author


def test_author_phrase_does_not_cross_authors(
    index_factory: IndexFactory, tmp_path: Path, corpus: list[IndexDoc]
) -> None:
    index = index_factory(tmp_path / "i")
    doc = replace(corpus[0], arxiv_id="2599.00020", authors=["Li Dong", "Wei Zhang"])
    index.upsert([doc])
    index.commit()
    hit = index.keyword_search(KeywordQuery(authors=["Li Dong"]), NO_FILTER, 5)
    assert hit.ids == [doc.arxiv_id]
    for name in ["Dong Wei", "Dong Li"]:
        assert not index.keyword_search(KeywordQuery(authors=[name]), NO_FILTER, 5).ids


@pytest.mark.parametrize(
    "query",
    [
        KeywordQuery(),
        KeywordQuery(terms=["", "  ", "(", ")))", '"', "'", "*", "-", ":", "^", "~"]),
        KeywordQuery(terms=["$\\mathcal{O}(n^2)$", "\\frac{1}{2}", "x_{i}^{2}", "AND", "OR"]),
        KeywordQuery(terms=["the", "a", "of", "and", "is"]),
        KeywordQuery(terms=["title:foo", "authors:bar", "field:[a TO b]", "NOT"]),
        KeywordQuery(phrases=['"', "", 'unbalanced "quote'], authors=["'", "O'Brien"]),
        KeywordQuery(terms=["ü", "naïve", "北京", "😀", "x" * 500]),
        KeywordQuery(phrases=["a b c d e f g"], authors=["Jean-Pierre de la Fontaine"]),
    ],
)
def test_odd_input_never_raises(loaded_index: SearchIndex, query: KeywordQuery) -> None:
    r = loaded_index.keyword_search(query, NO_FILTER, 10)
    assert_ranked(r)
    r = loaded_index.keyword_search(query, SearchFilters(category="cs.CV"), 10)
    assert_ranked(r)


def test_very_long_query(loaded_index: SearchIndex, corpus: list[IndexDoc]) -> None:
    terms = words(" ".join(d.abstract for d in corpus[:15]))[:2000]
    assert len(terms) == 2000
    r = loaded_index.keyword_search(KeywordQuery(terms=terms), NO_FILTER, 20)
    assert_ranked(r)
    assert len(r) == 20
    # "Papers like this abstract": a paper's own abstract finds it first.
    own = loaded_index.keyword_search(KeywordQuery(terms=words(corpus[5].abstract)), NO_FILTER, 5)
    assert own.ids[0] == corpus[5].arxiv_id


def test_empty_queries_and_k(loaded_index: SearchIndex) -> None:
    assert not loaded_index.keyword_search(KeywordQuery(), NO_FILTER, 10).ids
    assert not loaded_index.keyword_search(KeywordQuery(), SearchFilters(has_code=True), 10).ids
    assert not loaded_index.keyword_search(BROAD, NO_FILTER, 0).ids
    assert len(loaded_index.keyword_search(BROAD, NO_FILTER, 3)) == 3


# ---------------------------------------------------------------- filters


FILTERS = {
    "date range": SearchFilters(date_from=dt.date(2025, 3, 20), date_to=dt.date(2025, 3, 24)),
    "single day": SearchFilters(date_from=dt.date(2025, 3, 25), date_to=dt.date(2025, 3, 25)),
    "date from": SearchFilters(date_from=dt.date(2025, 3, 26)),
    "date to": SearchFilters(date_to=dt.date(2025, 3, 19)),
    "category": SearchFilters(category="cs.CL"),
    "category any case": SearchFilters(category="CS.ro"),
    "organization": SearchFilters(organization="nvidia"),
    "organization name case": SearchFilters(organization="NVIDIA"),
    "has code": SearchFilters(has_code=True),
    "no code": SearchFilters(has_code=False),
    "combined": SearchFilters(
        date_from=dt.date(2025, 3, 18),
        date_to=dt.date(2025, 3, 31),
        category="cs.CV",
        has_code=True,
    ),
}


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_keyword_filters(loaded_index: SearchIndex, corpus: list[IndexDoc], name: str) -> None:
    f = FILTERS[name]
    docs = by_id(corpus)
    everything = loaded_index.keyword_search(BROAD, NO_FILTER, 1000)
    filtered = loaded_index.keyword_search(BROAD, f, 1000)
    assert_ranked(filtered)
    assert filtered.ids, "filter removed everything"
    assert all(passes_filters(docs[i], f) for i in filtered.ids)
    expected = [i for i in everything.ids if passes_filters(docs[i], f)]
    assert len(expected) < len(everything.ids), "nothing was excluded"
    assert filtered.ids == expected  # same order: filters do not change BM25 scores
    full = dict(zip(everything.ids, everything.scores, strict=True))
    assert all(abs(s - full[i]) < 1e-4 for i, s in zip(filtered.ids, filtered.scores, strict=True))


def test_date_filter_is_inclusive_and_drops_undated(
    loaded_index: SearchIndex, corpus: list[IndexDoc]
) -> None:
    day = dt.date(2025, 3, 25)
    f = SearchFilters(date_from=day, date_to=day)
    r = loaded_index.keyword_search(BROAD, f, 1000)
    docs = by_id(corpus)
    assert r.ids and all(docs[i].published == day for i in r.ids)
    undated = {d.arxiv_id for d in corpus if d.published is None}
    assert undated
    wide = SearchFilters(date_from=dt.date(1990, 1, 1), date_to=dt.date(2100, 1, 1))
    kw = loaded_index.keyword_search(BROAD, wide, 1000).ids
    assert kw and not undated & set(kw)
    assert undated & set(loaded_index.keyword_search(BROAD, NO_FILTER, 1000).ids)
    vs = loaded_index.vector_search(docs_vector(loaded_index, corpus[0]), wide, 1000).ids
    assert set(vs) == {d.arxiv_id for d in corpus} - undated
    empty = SearchFilters(date_from=dt.date(2025, 3, 31), date_to=dt.date(2025, 3, 1))
    assert not loaded_index.keyword_search(BROAD, empty, 10).ids


def test_unknown_filter_values_match_nothing(loaded_index: SearchIndex) -> None:
    for f in [SearchFilters(category="no.such"), SearchFilters(organization="nobody")]:
        assert not loaded_index.keyword_search(BROAD, f, 10).ids
        v = np.ones(384, dtype=np.float32)
        assert not loaded_index.vector_search(v, f, 10).ids


# ---------------------------------------------------------------- writes


def test_upsert_replaces(loaded_index: SearchIndex, embedded_corpus: list[IndexDoc]) -> None:
    old = embedded_corpus[40]
    old_q = KeywordQuery(terms=words(old.title))
    assert loaded_index.keyword_search(old_q, NO_FILTER, 1).ids == [old.arxiv_id]
    new = replace(old, title="Zymurgical quokka benchmarks for fermentation", abstract="Yeast.")
    loaded_index.upsert([new])
    loaded_index.upsert([new])  # twice in one batch
    loaded_index.commit()
    loaded_index.upsert([new])  # and again in a later commit
    loaded_index.commit()
    assert loaded_index.keyword_count() == len(embedded_corpus)
    assert loaded_index.vector_count() == len(embedded_corpus)
    r = loaded_index.keyword_search(KeywordQuery(terms=["zymurgical", "quokka"]), NO_FILTER, 10)
    assert r.ids == [new.arxiv_id]
    r = loaded_index.keyword_search(KeywordQuery(phrases=[old.title]), NO_FILTER, 10)
    assert new.arxiv_id not in r.ids
    r = loaded_index.keyword_search(BROAD, NO_FILTER, 1000)
    assert_ranked(r)


def test_delete(loaded_index: SearchIndex, embedded_corpus: list[IndexDoc]) -> None:
    gone = embedded_corpus[12]
    loaded_index.delete([gone.arxiv_id, "9999.99999"])
    loaded_index.commit()
    assert loaded_index.keyword_count() == len(embedded_corpus) - 1
    assert loaded_index.vector_count() == len(embedded_corpus) - 1
    assert loaded_index.vector_of(gone.arxiv_id) is None
    kw = loaded_index.keyword_search(KeywordQuery(terms=words(gone.title)), NO_FILTER, 1000)
    assert gone.arxiv_id not in kw.ids
    assert gone.vector is not None
    vs = loaded_index.vector_search(gone.vector, NO_FILTER, 1000)
    assert gone.arxiv_id not in vs.ids
    # Other rows still line up with their vectors after compaction.
    for d in embedded_corpus[10:16]:
        if d.arxiv_id != gone.arxiv_id:
            assert d.vector is not None
            assert loaded_index.vector_search(d.vector, NO_FILTER, 1).ids == [d.arxiv_id]
    # Delete then re-add in one batch.
    loaded_index.delete([embedded_corpus[3].arxiv_id])
    loaded_index.upsert([embedded_corpus[3]])
    loaded_index.commit()
    assert loaded_index.vector_of(embedded_corpus[3].arxiv_id) is not None
    assert loaded_index.keyword_count() == len(embedded_corpus) - 1


def test_upsert_without_vector_keeps_vector(
    loaded_index: SearchIndex, embedded_corpus: list[IndexDoc]
) -> None:
    doc = embedded_corpus[60]
    assert doc.vector is not None
    flipped = replace(doc, vector=None, has_code=not doc.has_code, title=doc.title + " revisited")
    loaded_index.upsert([flipped])
    loaded_index.commit()
    stored = loaded_index.vector_of(doc.arxiv_id)
    assert stored is not None
    np.testing.assert_allclose(stored, doc.vector, atol=1e-6)
    assert loaded_index.vector_count() == len(embedded_corpus)
    # ...and its metadata was updated for filters.
    f = SearchFilters(has_code=flipped.has_code)
    assert loaded_index.vector_search(doc.vector, f, 1).ids == [doc.arxiv_id]
    assert (
        doc.arxiv_id
        not in loaded_index.vector_search(
            doc.vector, SearchFilters(has_code=doc.has_code), 1000
        ).ids
    )
    # A new id without a vector stays keyword-only.
    loaded_index.upsert([replace(doc, arxiv_id="2599.00030", vector=None)])
    loaded_index.commit()
    assert loaded_index.vector_of("2599.00030") is None
    assert loaded_index.vector_count() == len(embedded_corpus)
    assert loaded_index.keyword_count() == len(embedded_corpus) + 1


def test_vector_then_metadata_in_one_batch(
    index_factory: IndexFactory, tmp_path: Path, embedded_corpus: list[IndexDoc]
) -> None:
    index = index_factory(tmp_path / "i")
    doc = embedded_corpus[0]
    index.upsert([doc, replace(doc, vector=None, organization="google")])
    index.commit()
    assert index.vector_of(doc.arxiv_id) is not None
    assert doc.vector is not None
    r = index.vector_search(doc.vector, SearchFilters(organization="google"), 5)
    assert r.ids == [doc.arxiv_id]


def test_vectors_of_reads_many_at_once(
    loaded_index: SearchIndex, embedded_corpus: list[IndexDoc]
) -> None:
    docs = embedded_corpus[10:60]
    loaded_index.upsert([replace(embedded_corpus[61], arxiv_id="2599.00031", vector=None)])
    loaded_index.delete([docs[3].arxiv_id])
    loaded_index.commit()
    asked = [d.arxiv_id for d in docs] + ["2599.00031", "nosuch", docs[0].arxiv_id]
    found = loaded_index.vectors_of(asked)
    # Deleted, unknown and vector-less ids are left out; repeats are harmless.
    assert set(found) == {d.arxiv_id for d in docs} - {docs[3].arxiv_id}
    for d in docs:
        if d.arxiv_id in found:
            np.testing.assert_allclose(found[d.arxiv_id], d.vector, atol=1e-6)  # type: ignore[arg-type]
    assert loaded_index.vectors_of([]) == {}


def test_cosines_of_scores_many_at_once(
    loaded_index: SearchIndex, embedded_corpus: list[IndexDoc]
) -> None:
    """The exact cosine of the query to each asked paper with a vector, whatever its
    rank (the last of 50 scores too), as ``vectors_of`` + numpy would give it."""
    docs = embedded_corpus[10:60]
    loaded_index.upsert([replace(embedded_corpus[61], arxiv_id="2599.00031", vector=None)])
    loaded_index.delete([docs[3].arxiv_id])
    loaded_index.commit()
    q = embedded_corpus[0].vector
    assert q is not None
    asked = [d.arxiv_id for d in docs] + ["2599.00031", "nosuch", docs[0].arxiv_id]
    found = loaded_index.cosines_of(3.0 * q, asked)  # any length: a cosine
    # Deleted, unknown and vector-less ids are left out; repeats are harmless.
    assert set(found) == {d.arxiv_id for d in docs} - {docs[3].arxiv_id}
    unit = q / np.linalg.norm(q)
    for d in docs:
        if d.arxiv_id in found:
            v = np.asarray(d.vector)
            assert found[d.arxiv_id] == pytest.approx(float(v @ unit / np.linalg.norm(v)), abs=1e-5)
    assert loaded_index.cosines_of(q, []) == {}
    assert loaded_index.cosines_of(np.zeros(384, np.float32), asked) == {}


# ---------------------------------------------------------------- vector search


def docs_vector(index: SearchIndex, doc: IndexDoc) -> np.ndarray:
    v = index.vector_of(doc.arxiv_id)
    assert v is not None
    return v


def test_own_embedding_comes_first(
    loaded_index: SearchIndex, embedded_corpus: list[IndexDoc]
) -> None:
    for doc in embedded_corpus[::25]:
        assert doc.vector is not None
        r = loaded_index.vector_search(doc.vector, NO_FILTER, 10)
        assert_ranked(r)
        assert r.ids[0] == doc.arxiv_id
        assert r.scores[0] == pytest.approx(1.0, abs=1e-4)
        assert all(-1.0001 <= s <= 1.0001 for s in r.scores)
        np.testing.assert_allclose(docs_vector(loaded_index, doc), doc.vector, atol=1e-6)


def test_vector_search_with_a_query(
    loaded_index: SearchIndex, embedder: SentenceTransformerEmbedder, corpus: list[IndexDoc]
) -> None:
    q = embedder.encode_query("3D scene reconstruction with Gaussian splatting")
    r = loaded_index.vector_search(q, NO_FILTER, 5)
    top = by_id(corpus)[r.ids[0]]
    assert "gaussian" in (top.title + top.abstract).lower()


def test_vector_exclude(loaded_index: SearchIndex, embedded_corpus: list[IndexDoc]) -> None:
    doc = embedded_corpus[7]
    assert doc.vector is not None
    first = loaded_index.vector_search(doc.vector, NO_FILTER, 6)
    r = loaded_index.vector_search(doc.vector, NO_FILTER, 5, exclude=[doc.arxiv_id, "x"])
    assert doc.arxiv_id not in r.ids
    assert r.ids == first.ids[1:]
    everything = [d.arxiv_id for d in embedded_corpus]
    assert not loaded_index.vector_search(doc.vector, NO_FILTER, 5, exclude=everything).ids
    filtered = loaded_index.vector_search(
        doc.vector, SearchFilters(has_code=doc.has_code), 5, exclude=[doc.arxiv_id]
    )
    assert filtered.ids and doc.arxiv_id not in filtered.ids


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_vector_filters(
    loaded_index: SearchIndex, embedded_corpus: list[IndexDoc], name: str
) -> None:
    f = FILTERS[name]
    docs = by_id(embedded_corpus)
    q = embedded_corpus[0].vector
    assert q is not None
    everything = loaded_index.vector_search(q, NO_FILTER, 1000)
    assert len(everything) == len(embedded_corpus)
    filtered = loaded_index.vector_search(q, f, 1000)
    assert_ranked(filtered)
    expected = [i for i in everything.ids if passes_filters(docs[i], f)]
    assert 0 < len(expected) < len(everything)
    assert filtered.ids == expected
    top3 = loaded_index.vector_search(q, f, 3)
    assert top3.ids == expected[:3]


def test_many_vector_searches_answer_as_each(
    loaded_index: SearchIndex, embedded_corpus: list[IndexDoc]
) -> None:
    """``vector_search_many`` gives each vector ``vector_search``'s answer, in order
    (a vector with no direction: nothing), with and without filters."""
    queries = [d.vector for d in embedded_corpus[::40] if d.vector is not None]
    queries.append(np.zeros(384, np.float32))
    for f in (NO_FILTER, FILTERS["category"], FILTERS["combined"]):
        many = loaded_index.vector_search_many(queries, f, 8)
        each = [loaded_index.vector_search(q, f, 8) for q in queries]
        assert [r.ids for r in many] == [r.ids for r in each]
        for got, want in zip(many, each, strict=True):
            np.testing.assert_allclose(got.scores, want.scores, rtol=0, atol=1e-6)
        assert all(r.ids for r in many[:-1]) and not many[-1].ids
    assert loaded_index.vector_search_many(queries, NO_FILTER, 0) == [Ranked()] * len(queries)
    with pytest.raises(ValueError, match="dimension"):
        loaded_index.vector_search_many([np.ones(10, np.float32)], NO_FILTER, 5)


def test_vector_search_edge_cases(loaded_index: SearchIndex) -> None:
    assert not loaded_index.vector_search(np.zeros(384, np.float32), NO_FILTER, 5).ids
    assert not loaded_index.vector_search(np.ones(384, np.float32), NO_FILTER, 0).ids
    # Not normalised: cosine all the same.
    r = loaded_index.vector_search(np.full(384, 7.0, np.float32), NO_FILTER, 3)
    assert len(r) == 3 and all(abs(s) <= 1.0001 for s in r.scores)
    with pytest.raises(ValueError, match="dimension"):
        loaded_index.vector_search(np.ones(10, np.float32), NO_FILTER, 5)


# ---------------------------------------------------------------- persistence


def test_reopen_gives_same_results(
    index_factory: IndexFactory, tmp_path: Path, embedded_corpus: list[IndexDoc]
) -> None:
    path = tmp_path / "i"
    index = index_factory(path)
    index.upsert(embedded_corpus)
    index.delete([embedded_corpus[1].arxiv_id])
    index.commit()
    q = embedded_corpus[9].vector
    assert q is not None
    f = SearchFilters(category="cs.CV", has_code=True)
    before = (
        index.keyword_search(BROAD, NO_FILTER, 50),
        index.keyword_search(BROAD, f, 50),
        index.vector_search(q, NO_FILTER, 50),
        index.vector_search(q, f, 50),
    )
    index.close()

    reopened = index_factory(path)
    after = (
        reopened.keyword_search(BROAD, NO_FILTER, 50),
        reopened.keyword_search(BROAD, f, 50),
        reopened.vector_search(q, NO_FILTER, 50),
        reopened.vector_search(q, f, 50),
    )
    for b, a in zip(before, after, strict=True):
        assert a.ids == b.ids
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5)
    assert reopened.keyword_count() == len(embedded_corpus) - 1
    assert reopened.vector_count() == len(embedded_corpus) - 1
    assert reopened.vector_of(embedded_corpus[1].arxiv_id) is None


def test_refresh_sees_another_writer(
    index_factory: IndexFactory, tmp_path: Path, embedded_corpus: list[IndexDoc]
) -> None:
    path = tmp_path / "i"
    writer = index_factory(path)
    writer.upsert(embedded_corpus[:100])
    writer.commit()
    reader = index_factory(path)  # as a web process would: searches only
    assert reader.keyword_count() == 100
    assert reader.vector_count() == 100

    new = embedded_corpus[150]
    assert new.vector is not None
    writer.upsert([new])
    writer.delete([embedded_corpus[0].arxiv_id])
    writer.commit()
    q = KeywordQuery(terms=words(new.title))
    if reads_snapshots(reader):
        assert new.arxiv_id not in reader.keyword_search(q, NO_FILTER, 5).ids  # not yet
    # else backend-specific: a server-side index (Milvus) shows commits to every
    # client at once; refresh() has no snapshot to move and must still be harmless.
    reader.refresh()
    assert reader.keyword_count() == 100
    assert reader.vector_count() == 100
    # BM25 statistics span the whole index: a paper committed alone still comes first.
    assert reader.keyword_search(q, NO_FILTER, 5).ids[0] == new.arxiv_id
    assert reader.vector_search(new.vector, NO_FILTER, 1).ids == [new.arxiv_id]
    assert reader.vector_of(embedded_corpus[0].arxiv_id) is None
    reader.refresh()  # nothing changed: harmless
    assert reader.keyword_count() == 100


def test_clear(loaded_index: SearchIndex, embedded_corpus: list[IndexDoc]) -> None:
    loaded_index.upsert([replace(embedded_corpus[0], arxiv_id="2599.00040")])  # pending
    loaded_index.clear()
    assert loaded_index.keyword_count() == 0
    assert loaded_index.vector_count() == 0
    assert not loaded_index.keyword_search(BROAD, NO_FILTER, 10).ids
    v = embedded_corpus[0].vector
    assert v is not None
    assert not loaded_index.vector_search(v, NO_FILTER, 10).ids
    loaded_index.commit()  # the pending upsert was dropped too
    assert loaded_index.keyword_count() == 0
    loaded_index.upsert(embedded_corpus[:5])
    loaded_index.commit()
    assert loaded_index.keyword_count() == 5
    assert loaded_index.vector_count() == 5
    assert loaded_index.vector_search(v, NO_FILTER, 1).ids == [embedded_corpus[0].arxiv_id]
