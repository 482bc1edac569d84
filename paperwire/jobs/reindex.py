"""Reindex: rebuild the derived index files from the store (``paperwire index --rebuild``).

Use after changing the index backend or tokenizer, or if the index files are lost.
Stored embeddings are reused, so no model run is needed.
"""

from __future__ import annotations

from collections.abc import Callable

from paperwire.core import Paperwire


def rebuild_index(pw: Paperwire, on_progress: Callable[[int], None] | None = None) -> int:
    model = pw.model_name if pw.settings.semantic else None
    pw.index.clear()
    n = 0
    for docs in pw.store.iter_index_docs(model):
        pw.index.upsert(docs)
        n += len(docs)
        if on_progress:
            on_progress(len(docs))
    pw.index.commit()
    return n
