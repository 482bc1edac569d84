"""Papers like this one: vector neighbours fused with a "more like this" keyword query.

``more_like_this`` picks the paper's salient terms the way Lucene's MoreLikeThis does:
every analysed term of the title (counted twice: it carries the topic) and abstract,
scored ``count × idf``, keeping terms found in at least ``MLT_MIN_DOC_FREQ`` documents
(the paper itself and one more: a term no other paper has finds nothing) and in at most
``MLT_MAX_DOC_FRACTION`` of them, of at least ``MLT_MIN_WORD_CHARS`` characters, not
numbers; the best ``MLT_TERMS`` become a keyword query, each term weighted by its count
in the paper. BM25 over that query ranks papers sharing the same unusual words; the
embedding ranks papers close in meaning; the two are fused like search's two halves
(weighted: ``w · BM25/max + (1 − w) · cosine``, every keyword candidate scored by its
own cosine). docs/benchmarks.md ("Similar papers") measures each ranking alone and
fused on judged doc-to-doc pairs.

The "why" line of each similar paper lists the seed's salient terms it also holds
(``SALIENT_SHOWN`` at most, most salient first).
"""

from __future__ import annotations

from dataclasses import dataclass

from paperwire.index.base import KeywordQuery, TermStat, bm25_idf

__all__ = [
    "MLT_TERMS",
    "SALIENT_SHOWN",
    "SIMILAR_KEYWORD_WEIGHT",
    "MoreLikeThis",
    "more_like_this",
]

MLT_TERMS = 25
MLT_MIN_DOC_FREQ = 2
MLT_MAX_DOC_FRACTION = 0.5
MLT_MIN_WORD_CHARS = 3
MLT_MAX_COUNT = 5
SALIENT_SHOWN = 4
SIMILAR_KEYWORD_WEIGHT = 0.3
"""Weight of the "more like this" BM25 side when fused with the vector neighbours."""


@dataclass(frozen=True)
class MoreLikeThis:
    """The keyword query of a paper's salient terms and those terms' words, best first."""

    query: KeywordQuery
    words: list[str]


def mlt_text(title: str, abstract: str) -> str:
    """The text salient terms are drawn from: the title twice, then the abstract."""
    return f"{title}\n{title}\n{abstract}"


def more_like_this(stats: list[TermStat], docs: int) -> MoreLikeThis:
    """Salient terms of a paper from its ``term_statistics`` (see the module docstring)."""
    max_df = max(MLT_MIN_DOC_FREQ, int(MLT_MAX_DOC_FRACTION * docs))
    scored: list[tuple[float, TermStat]] = []
    for st in stats:
        if not MLT_MIN_DOC_FREQ <= st.doc_freq <= max_df:
            continue
        if len(st.word) < MLT_MIN_WORD_CHARS or st.word.isdigit():
            continue
        scored.append((st.count * bm25_idf(st.doc_freq, docs), st))
    scored.sort(key=lambda item: (-item[0], item[1].term))
    best = [st for _, st in scored[:MLT_TERMS]]
    terms = [st.word for st in best for _ in range(min(st.count, MLT_MAX_COUNT))]
    return MoreLikeThis(KeywordQuery(terms=terms), [st.word for st in best])
