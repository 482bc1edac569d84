"""The match-set part of the ``SearchIndex`` contract (exact totals, full sorts, "more
like this"), checked against brute force over the same ~300 real papers, per backend."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import Stemmer

from paperwire.index.base import (
    IndexDoc,
    KeywordQuery,
    SearchIndex,
    bm25_idf,
    coverage_units,
    required_units,
)
from paperwire.index.embedding.torch import SentenceTransformerEmbedder
from paperwire.index.milvus import _ENGLISH_STOP as ENGLISH_STOP_WORDS
from paperwire.models.search import SearchFilters

from .conftest import is_milvus, stems

pytestmark = pytest.mark.slow  # real embeddings

NO_FILTER = SearchFilters()
_STEMMER = Stemmer.Stemmer("english")


def analysed(text: str, stem: bool) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {_STEMMER.stemWord(w) for w in words} if stem else set(words)


def expected_matches(
    corpus: list[IndexDoc], terms: list[str], coverage: float, stem: bool
) -> set[str]:
    """Brute force of the coverage rule over ``corpus`` (``terms`` are plain words)."""
    docs = {d.arxiv_id: analysed(f"{d.title} {d.abstract}", stem) for d in corpus}
    keys = list(dict.fromkeys(next(iter(analysed(t, stem))) for t in terms))
    df = [sum(1 for words in docs.values() if k in words) for k in keys]
    units = coverage_units([bm25_idf(f, len(docs)) for f in df])
    need = required_units(units, coverage)
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
        words = [w for w in words if w.lower() not in ENGLISH_STOP_WORDS]
    assert math.isclose(total, len(words), rel_tol=0.25)
