"""A relevance search that fuses semantic matches counts its keyword total while it
builds its page (issue 16): the embedded index returns its counts still running
(``MatchCount`` waits when read), and the service reads the total only after the cards
and snippets. tantivy lets go of the GIL while it counts, so the second core counts while
this one builds the page. (Keyword matches alone are ranked and counted in one pass:
``test_one_pass_and_two_passes_give_the_same_pages``.)"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from paperwire.index.embedded import EmbeddedIndex
from paperwire.jobs.embed import embed_backlog
from paperwire.models.search import SearchMode, SearchRequest
from paperwire.search import service as service_module
from tests.community.conftest import make_env
from tests.conftest import TEST_BACKEND, AppFactory

pytestmark = pytest.mark.skipif(
    TEST_BACKEND == "pg-milvus", reason="the Milvus backend counts in its own server"
)


def test_the_total_is_counted_while_the_page_is_built(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every paper a semantic match too (a floor of 0): the hybrid ranking fuses both
    pw = make_env(make_app, semantic=True, semantic_floor=0.0).pw
    embed_backlog(pw)
    assert isinstance(pw.index, EmbeddedIndex)
    assert pw.search.semantic_ready()
    request = SearchRequest(q="crafted abstract", mode=SearchMode.hybrid)
    plain = pw.search.search(request)
    assert plain.total == len(plain.hits) > 3
    assert any("semantic" in h.matched_by for h in plain.hits)

    building = threading.Event()
    counts_saw_the_page: list[bool] = []
    count = pw.index.keyword._count

    def count_once_the_page_is_under_way(searcher: Any, q: Any) -> int:
        # False (after 10 s) if the search waited for this count before its page
        counts_saw_the_page.append(building.wait(timeout=10))
        return count(searcher, q)

    annotate = service_module.annotate

    def annotate_marking(*args: Any) -> Any:
        building.set()
        return annotate(*args)

    monkeypatch.setattr(pw.index.keyword, "_count", count_once_the_page_is_under_way)
    monkeypatch.setattr(service_module, "annotate", annotate_marking)
    # a shorter page: a ranking of its own, not the kept one
    counted = pw.search.search(request.model_copy(update={"limit": 2}))
    assert counts_saw_the_page == [True, True]  # the total, and its overlap with semantic
    assert counted.total == plain.total and counted.total_relation == plain.total_relation
    assert [h.paper.arxiv_id for h in counted.hits] == [h.paper.arxiv_id for h in plain.hits][:2]
