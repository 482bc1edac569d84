"""Tune hybrid fusion on a judged collection's TRAIN split (report the test split only).

``collect`` runs, once, every query of the given splits through a temporary paperwire
install (``paperwire.bench.relevance.open_install``, so documents are embedded exactly as
``paperwire embed`` embeds them) and saves the raw BM25 scores (top 1000), the query
vectors, the document vectors and, for the variants below, vectors of each document's
title and of its two halves (title + first / second half of the abstract's sentences).
``grid`` then scores fusion variants offline with ranx (same metrics as
``paperwire bench relevance``):

* ``weighted w=…``: the default fusion (``paperwire.search.weighted``) at several weights;
* ``+prf k b``: vector pseudo-relevance feedback (query + b · mean of the top-k fused
  documents' vectors, candidates re-scored);
* ``+title g``: each document's vector blended with its title's (normalise(v + g · t));
* ``+halves``: the cosine of a document is the best of its whole text and its two halves
  (multi-vector; would need one index entry per passage).

Results and the decision are in docs/benchmarks.md ("Relevance").

    paperwire bench tune-fusion collect scifact train test   # ~6 min on 2 cores
    paperwire bench tune-fusion grid scifact train            # ~1 min
"""

from __future__ import annotations

import pickle
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from paperwire.bench.collections import load_collection
from paperwire.bench.relevance import default_cache_dir, evaluate_runs, open_install
from paperwire.index.embedding.base import document_text
from paperwire.models.search import SearchFilters
from paperwire.search.query import parse_query

OUT = Path("/tmp/paperwire-tune")
DEPTH = 100


def _unit(m: Any) -> Any:
    m = np.asarray(m, dtype=np.float32)
    return m / np.linalg.norm(m, axis=-1, keepdims=True).clip(1e-12)


def collect(name: str, splits: list[str]) -> None:
    colls = {s: load_collection(name, s) for s in splits}
    first = colls[splits[0]]
    OUT.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"doc_ids": [d.id for d in first.docs]}
    with open_install(first, cache_dir=default_cache_dir()) as (pw, ids):
        emb = pw.embedder()
        assert emb is not None
        aids = [ids.arxiv_id(d.id) for d in first.docs]
        vectors = [pw.index.vector_of(a) for a in aids]
        assert all(v is not None for v in vectors), "every document is embedded"
        data["matrix"] = np.stack(vectors)  # type: ignore[arg-type]
        texts = pw.store.texts(aids)
        titles = [texts[a][0] for a in aids]
        halves: tuple[list[str], list[str]] = ([], [])
        for title, abstract in (texts[a] for a in aids):
            sentences = re.split(r"(?<=[.!?])\s+", abstract)
            cut = max(1, len(sentences) // 2)
            halves[0].append(document_text(title, " ".join(sentences[:cut])))
            halves[1].append(document_text(title, " ".join(sentences[cut:])))
        t0 = time.perf_counter()
        data["titles"] = emb.encode_documents(titles)
        data["half_a"] = emb.encode_documents(halves[0])
        data["half_b"] = emb.encode_documents(halves[1])
        print(f"extra vectors {time.perf_counter() - t0:.0f}s", flush=True)
        row = {a: i for i, a in enumerate(aids)}
        for split, coll in colls.items():
            per_q = {}
            for qid, text in coll.queries.items():
                parsed = parse_query(text)
                kw = pw.index.keyword_search(parsed.keyword, SearchFilters(), 1000)
                per_q[qid] = {
                    "kw_rows": np.asarray([row[i] for i in kw.ids], dtype=np.int64),
                    "kw_scores": np.asarray(kw.scores, dtype=np.float64),
                    "qvec": np.asarray(emb.encode_query(parsed.semantic_text), np.float32),
                }
            data[split] = {"queries": per_q, "qrels": coll.qrels}
    with (OUT / f"{name}.pkl").open("wb") as fh:
        pickle.dump(data, fh)
    print(f"saved {OUT / f'{name}.pkl'}: {len(aids)} documents, splits {', '.join(splits)}")


def _fused(
    data: dict[str, Any],
    split: str,
    w: float,
    *,
    title: float = 0.0,
    prf: tuple[int, float] = (0, 0.0),
    halves: bool = False,
) -> dict[str, dict[str, float]]:
    """One run of ``weighted_fusion`` (same candidates and rules as ``SearchService``)."""
    docs = _unit(data["matrix"])
    if title:
        docs = _unit(docs + title * _unit(data["titles"]))
    half_a, half_b = _unit(data["half_a"]), _unit(data["half_b"])
    doc_ids = data["doc_ids"]
    run: dict[str, dict[str, float]] = {}
    for qid, q in data[split]["queries"].items():
        qv = _unit(q["qvec"])
        cos = docs @ qv
        if halves:
            cos = np.maximum(cos, np.maximum(half_a @ qv, half_b @ qv))
        kr, ks = q["kw_rows"][:DEPTH], q["kw_scores"][:DEPTH]
        cand = np.unique(np.concatenate([kr, np.argsort(-cos)[:DEPTH]]))
        bm25 = np.full(len(docs), np.nan)
        bm25[kr] = ks
        kv = bm25[cand]
        kv = np.where(np.isnan(kv), ks.min(), kv) / ks.max() if len(ks) else np.zeros(len(cand))
        score = w * kv + (1 - w) * cos[cand]
        k, b = prf
        if k:
            top = cand[np.argsort(-score)[:k]]
            q2 = _unit(qv + b * docs[top].mean(axis=0))
            score = w * kv + (1 - w) * (docs[cand] @ q2)
        order = cand[np.argsort(-score)][:DEPTH]
        run[qid] = {doc_ids[i]: float(DEPTH - r) for r, i in enumerate(order)}
    return run


def grid(name: str, split: str) -> None:
    with (OUT / f"{name}.pkl").open("rb") as fh:
        data = pickle.load(fh)
    runs: dict[str, dict[str, dict[str, float]]] = {}
    for w in (0.2, 0.25, 0.3, 0.35, 0.4):
        runs[f"weighted w={w}"] = _fused(data, split, w)
        runs[f"weighted w={w} +halves"] = _fused(data, split, w, halves=True)
    for w in (0.3, 0.35):
        for k, b in ((3, 0.3), (3, 0.6), (10, 0.3), (10, 0.6)):
            runs[f"weighted w={w} +prf {k} {b}"] = _fused(data, split, w, prf=(k, b))
        for g in (0.2, 0.3, 0.5):
            runs[f"weighted w={w} +title {g}"] = _fused(data, split, w, title=g)
    scores = evaluate_runs(data[split]["qrels"], runs)
    print(f"{name} ({split}), {len(data[split]['queries'])} queries")
    print(f"{'variant':34s} nDCG@10  R@100  MRR@10")
    for label, m in sorted(scores.items(), key=lambda kv: -kv[1]["ndcg@10"]):
        print(f"{label:34s} {m['ndcg@10']:.4f} {m['recall@100']:.4f} {m['mrr@10']:.4f}")


def main() -> None:
    """``collect NAME [SPLIT …]`` or ``grid NAME [SPLIT]`` (arguments from ``sys.argv``)."""
    if sys.argv[1:2] in (["-h"], ["--help"]):
        print(__doc__)
        return
    if len(sys.argv) < 3 or sys.argv[1] not in ("collect", "grid"):
        sys.exit(__doc__)
    if sys.argv[1] == "collect":
        collect(sys.argv[2], sys.argv[3:] or ["train", "test"])
    else:
        grid(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "train")


if __name__ == "__main__":
    main()
