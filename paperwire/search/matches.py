"""What a query matches: the set every sort order pages through and every total counts.

A paper matches a query when (``QueryMatches``):

* it is a **keyword match**: it passes the filters, holds the quoted phrases and
  ``author:`` names, and holds query words worth at least ``keyword_coverage`` of the
  query's IDF weight (``SearchIndex.keyword_match_ids``; rare words weigh most, "the"
  nothing). "zebra migration" is not matched by "migration" alone; a one-word query is
  matched by every paper holding the word; a pasted abstract only by near-copies (its
  related work comes from the semantic side);
* or it is a **semantic match**: its cosine to the query is at least ``semantic_floor``
  (and it passes the filters, phrases and names);
* or its arXiv id was typed into the query.

Relevance order ranks these matches (``SearchService``); "newest" and "most upvoted"
sort all of them in the store (``PaperStore.sort_page``); the total is their number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from paperwire.index.base import Ranked, Vector

__all__ = [
    "DEFAULT_KEYWORD_COVERAGE",
    "DEFAULT_SEMANTIC_FLOOR",
    "MAX_SEMANTIC_MATCHES",
    "QueryMatches",
    "constrained",
]

DEFAULT_SEMANTIC_FLOOR = 0.35
"""Cosine (all-MiniLM-L6-v2) a semantic match needs; calibrated in docs/benchmarks.md."""
DEFAULT_KEYWORD_COVERAGE = 0.75
"""Share of a query's IDF weight a keyword match must hold; see docs/benchmarks.md."""
MAX_SEMANTIC_MATCHES = 100_000
"""Semantic matches kept per query (totals are exact up to this many)."""


@dataclass
class QueryMatches:
    """The matches of one query (see the module docstring)."""

    keyword: set[str] = field(default_factory=set)
    semantic: Ranked = field(default_factory=Ranked)  # best first, all above the floor
    ids: list[str] = field(default_factory=list)  # typed ids that name a stored paper
    vector: Vector | None = None  # the query embedding (None: semantic side off)

    def __post_init__(self) -> None:
        self._semantic_set = set(self.semantic.ids)
        self.members: set[str] = self.keyword | self._semantic_set | set(self.ids)

    def labels(self, arxiv_id: str) -> list[str]:
        """Why ``arxiv_id`` matched: ``id``, ``keyword``, ``semantic`` (in that order)."""
        out: list[str] = []
        if arxiv_id in self.ids:
            out.append("id")
        if arxiv_id in self.keyword:
            out.append("keyword")
        if arxiv_id in self._semantic_set:
            out.append("semantic")
        return out


def constrained(semantic: Ranked, allowed: set[str] | None) -> Ranked:
    """``semantic`` without the papers outside ``allowed`` (None: no constraint)."""
    if allowed is None:
        return semantic
    keep = [(i, s) for i, s in zip(semantic.ids, semantic.scores, strict=True) if i in allowed]
    return Ranked([i for i, _ in keep], [s for _, s in keep])
