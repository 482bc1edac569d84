"""Tune hybrid fusion on a judged collection's TRAIN split (not a test).

Collects, once, the raw BM25 (top 1000) and cosine (every document) scores of every query
through a temporary paperwire install (``paperwire.bench.relevance.open_install``), then
scores fusion variants offline with ranx. Numbers in docs/benchmarks.md ("Relevance").

    python bench/tune_fusion.py collect scifact train test   # → /tmp/paperwire-tune/scifact.npz
    python bench/tune_fusion.py grid scifact train
"""

from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path

import numpy as np

from paperwire.bench.collections import load_collection
from paperwire.bench.relevance import default_cache_dir, open_install
from paperwire.models import SearchFilters
from paperwire.search.query import parse_query

OUT = Path("/tmp/paperwire-tune")


def collect(name: str, splits: list[str]) -> None:
    colls = {s: load_collection(name, s) for s in splits}
    first = colls[splits[0]]
    OUT.mkdir(parents=True, exist_ok=True)
    data: dict[str, object] = {"doc_ids": [d.id for d in first.docs]}
    with open_install(first, cache_dir=default_cache_dir()) as (pw, ids):
        emb = pw.embedder()
        assert emb is not None
        n = len(first.docs)
        aids = [ids.arxiv_id(d.id) for d in first.docs]
        matrix = np.stack([pw.index.vector_of(a) for a in aids])
        data["matrix"] = matrix
        texts = pw.store.texts(aids)
        data["texts"] = [texts[a] for a in aids]
        row = {a: i for i, a in enumerate(aids)}
        for split, coll in colls.items():
            per_q = {}
            t0 = time.perf_counter()
            for qid, text in coll.queries.items():
                parsed = parse_query(text)
                kw = pw.index.keyword_search(parsed.keyword, SearchFilters(), 1000)
                q = emb.encode_query(parsed.semantic_text)
                per_q[qid] = {
                    "kw_rows": np.asarray([row[i] for i in kw.ids], dtype=np.int64),
                    "kw_scores": np.asarray(kw.scores, dtype=np.float64),
                    "qvec": np.asarray(q, dtype=np.float32),
                    "terms": parsed.keyword.terms,
                }
            print(split, len(per_q), f"{time.perf_counter() - t0:.1f}s")
            data[split] = {"queries": per_q, "qrels": coll.qrels}
    with (OUT / f"{name}.pkl").open("wb") as fh:
        pickle.dump(data, fh)
    print("rows", n)


if __name__ == "__main__":
    if sys.argv[1] == "collect":
        collect(sys.argv[2], sys.argv[3:])
