"""``SearchService``: query → candidates from the index → fusion → sort → cards + snippets.

Keyword (BM25) and semantic (embedding) rankings are fused by ``fusion``: ``weighted``
(default; ``search.weighted.weighted_fusion``: ``w · BM25/max BM25 + (1 − w) · cosine``,
with the exact cosine of every keyword candidate) or ``rrf`` (reciprocal rank fusion,
``rrf_k``). Quoted phrases and ``author:`` are hard constraints, so semantic candidates
must also satisfy them. Semantic search joins in as soon as vectors exist.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from paperwire.index.base import KeywordQuery, Ranked, SearchIndex, Vector
from paperwire.index.embedding.base import Embedder
from paperwire.models.papers import PaperCard
from paperwire.models.search import (
    SearchFilters,
    SearchHit,
    SearchMode,
    SearchRequest,
    SearchResponse,
    SortOrder,
)
from paperwire.search.fusion import reciprocal_rank_fusion
from paperwire.search.query import ParsedQuery, parse_query
from paperwire.search.weighted import DEFAULT_KEYWORD_WEIGHT, weighted_fusion
from paperwire.store.papers import PaperStore
from paperwire.text.snippets import best_snippet, highlight

EmbedderProvider = Callable[[], Embedder | None]
Fusion = Literal["weighted", "rrf"]
FUSIONS: tuple[Fusion, ...] = ("weighted", "rrf")
_WORD = re.compile(r"\w+", re.UNICODE)


def merge_filters(explicit: SearchFilters, inline: SearchFilters) -> SearchFilters:
    """Form/API filters win over the same filter typed into the query text."""
    data = inline.model_dump()
    data.update({k: v for k, v in explicit.model_dump().items() if v is not None})
    return SearchFilters(**data)


class SearchService:
    def __init__(
        self,
        store: PaperStore,
        index: SearchIndex,
        embedder: EmbedderProvider,
        depth: int = 100,
        rrf_k: int = 60,
        sorted_semantic_depth: int = 20,
        refresh_interval: float = 2.0,
        fusion: Fusion = "weighted",
        keyword_weight: float = DEFAULT_KEYWORD_WEIGHT,
    ) -> None:
        if fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {fusion!r}; known: {', '.join(FUSIONS)}")
        if not 0.0 <= keyword_weight <= 1.0:
            raise ValueError(f"keyword_weight must be in [0, 1], got {keyword_weight!r}")
        self.fusion: Fusion = fusion
        self.keyword_weight = keyword_weight
        self.store = store
        self.index = index
        self.embedder = embedder
        self.depth = depth
        self.rrf_k = rrf_k
        self.sorted_semantic_depth = sorted_semantic_depth
        self.refresh_interval = refresh_interval
        self._refreshed_at = time.monotonic()

    def _maybe_refresh(self) -> None:
        """See what another process (a cron ingest, ``paperwire embed``) committed."""
        now = time.monotonic()
        if now - self._refreshed_at >= self.refresh_interval:
            self._refreshed_at = now
            self.index.refresh()

    def semantic_ready(self) -> bool:
        return self.index.vector_count() > 0 and self.embedder() is not None

    def search(self, req: SearchRequest) -> SearchResponse:
        t0 = time.perf_counter()
        self._maybe_refresh()
        parsed = parse_query(req.q)
        filters = merge_filters(req.filters, parsed.filters)
        matched: dict[str, list[str]] = {}
        semantic_used = False
        query_vector: Vector | None = None

        if parsed.keyword.is_empty() and not parsed.arxiv_ids:
            sort = SortOrder.newest if req.sort == SortOrder.relevance else req.sort
            total, cards = self.store.browse(filters, sort, req.limit, req.offset)
            hits = [self._hit(c, 0.0, [], parsed, None) for c in cards]
            return self._response(req, filters, total, hits, False, t0)

        rankings: list[Ranked] = []
        if req.mode != SearchMode.semantic and not parsed.keyword.is_empty():
            kw = self.index.keyword_search(parsed.keyword, filters, self.depth)
            rankings.append(kw)
            for i in kw.ids:
                matched.setdefault(i, []).append("keyword")
        if req.mode != SearchMode.keyword and parsed.semantic_text.strip():
            found = self._semantic(parsed, filters, rankings[0] if rankings else None)
            sem, query_vector = found if found is not None else (None, None)
            if sem is not None and req.sort != SortOrder.relevance and rankings:
                # Sorting by date or votes discards relevance order, so only the closest
                # semantic neighbours may join the keyword matches there.
                sem = Ranked(
                    sem.ids[: self.sorted_semantic_depth], sem.scores[: self.sorted_semantic_depth]
                )
            if sem is not None:
                semantic_used = True
                rankings.append(sem)
                for i in sem.ids:
                    matched.setdefault(i, []).append("semantic")

        fused = self._fuse(rankings, query_vector)
        ids = list(fused.ids)
        scores = dict(zip(fused.ids, fused.scores, strict=True))
        # Ids typed into the query go first: the user asked for exactly that paper.
        for aid in reversed(parsed.arxiv_ids):
            if aid in ids:
                ids.remove(aid)
            ids.insert(0, aid)
            matched.setdefault(aid, []).insert(0, "id")
            scores[aid] = max(scores.values(), default=0.0) + 1.0

        # Cards (the expensive part: ORM rows, teasers, links) are built for the
        # requested page only. Other orders sort all candidates on two columns first
        # (which also drops hidden papers); relevance order needs no store read, since
        # hiding a paper removes it from the index.
        if req.sort in (SortOrder.newest, SortOrder.upvotes):
            keys = self.store.sort_keys(ids)
            ids = [i for i in ids if i in keys]
            column = 0 if req.sort == SortOrder.newest else 1
            ids.sort(key=lambda i: keys[i][column], reverse=True)
        page = ids[req.offset : req.offset + req.limit]
        by_id = self.store.cards(page)
        page = [i for i in page if i in by_id]  # hidden between the two reads
        texts = self.store.texts(page)
        hits = [
            self._hit(by_id[i], scores.get(i, 0.0), matched.get(i, []), parsed, texts.get(i))
            for i in page
        ]
        return self._response(req, filters, len(ids), hits, semantic_used, t0)

    def _fuse(self, rankings: list[Ranked], query_vector: Vector | None) -> Ranked:
        if not rankings:
            return Ranked()
        if len(rankings) == 1:
            return rankings[0]
        if self.fusion == "rrf" or query_vector is None or len(rankings) != 2:
            return reciprocal_rank_fusion(rankings, k=self.rrf_k)
        keyword, semantic = rankings
        semantic = self._with_cosines(semantic, keyword.ids, query_vector)
        return weighted_fusion(keyword, semantic, self.keyword_weight)

    def _with_cosines(self, semantic: Ranked, ids: Sequence[str], query_vector: Vector) -> Ranked:
        """``semantic`` plus the exact cosine of each of ``ids`` it lacks (those with a
        vector), appended after it: weighted fusion then scores every keyword candidate
        by its own cosine instead of a guess."""
        q = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        q_norm = float(np.linalg.norm(q))
        if not np.isfinite(q_norm) or q_norm == 0.0:
            return semantic
        have = set(semantic.ids)
        extra_ids: list[str] = []
        extra_scores: list[float] = []
        vectors = self.index.vectors_of([i for i in ids if i not in have])
        for doc_id in ids:
            if doc_id in have:
                continue
            have.add(doc_id)
            vec = vectors.get(doc_id)
            if vec is None or vec.shape != q.shape:
                continue
            v_norm = float(np.linalg.norm(vec))
            if not np.isfinite(v_norm) or v_norm == 0.0:
                continue
            extra_ids.append(doc_id)
            extra_scores.append(float(np.dot(vec, q)) / (v_norm * q_norm))
        if not extra_ids:
            return semantic
        return Ranked([*semantic.ids, *extra_ids], [*semantic.scores, *extra_scores])

    def _semantic(
        self, parsed: ParsedQuery, filters: SearchFilters, keyword: Ranked | None
    ) -> tuple[Ranked, Vector] | None:
        """The semantic ranking and the query vector; None when semantic search is off."""
        if self.index.vector_count() == 0:
            return None
        embedder = self.embedder()
        if embedder is None:
            return None
        vec = embedder.encode_query(parsed.semantic_text)
        sem = self.index.vector_search(vec, filters, self.depth)
        if parsed.keyword.phrases or parsed.keyword.authors:
            allowed = set(keyword.ids) if keyword else set()
            keep = [(i, s) for i, s in zip(sem.ids, sem.scores, strict=True) if i in allowed]
            sem = Ranked([i for i, _ in keep], [s for _, s in keep])
        return sem, vec

    def _hit(
        self,
        card: PaperCard,
        score: float,
        matched: list[str],
        parsed: ParsedQuery,
        text: tuple[str, str] | None,
    ) -> SearchHit:
        title, abstract = text if text else (card.title, card.teaser)
        terms = parsed.highlight_terms
        return SearchHit(
            paper=card,
            score=score,
            matched_by=matched,
            title_parts=highlight(title, terms, None),
            snippet=best_snippet(abstract, terms),
        )

    def _response(
        self,
        req: SearchRequest,
        filters: SearchFilters,
        total: int,
        hits: list[SearchHit],
        semantic_used: bool,
        t0: float,
    ) -> SearchResponse:
        return SearchResponse(
            query=req.q,
            mode=req.mode,
            sort=req.sort,
            filters=filters,
            total=total,
            offset=req.offset,
            limit=req.limit,
            semantic_used=semantic_used,
            took_ms=round((time.perf_counter() - t0) * 1000, 2),
            hits=hits,
        )

    def similar(self, arxiv_id: str, k: int = 6) -> tuple[list[PaperCard], str | None]:
        """Nearest papers by embedding; BM25 over the paper's own text when not embedded."""
        vec = self.index.vector_of(arxiv_id)
        method: str | None
        if vec is not None:
            ranked = self.index.vector_search(vec, SearchFilters(), k + 1, exclude=[arxiv_id])
            method = "semantic"
        else:
            text = self.store.texts([arxiv_id]).get(arxiv_id)
            if not text:
                return [], None
            words = [w.lower() for w in _WORD.findall(f"{text[0]} {text[0]} {text[1]}")]
            ranked = self.index.keyword_search(
                KeywordQuery(terms=words[:300]), SearchFilters(), k + 1
            )
            method = "keyword"
        ids = [i for i in ranked.ids if i != arxiv_id][:k]
        cards = self.store.cards(ids)
        return [cards[i] for i in ids if i in cards], method
