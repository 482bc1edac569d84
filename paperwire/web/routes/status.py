"""``/status`` and ``/api/status``: corpus size, embedding progress, index, database."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

import paperwire
from paperwire.core import Paperwire
from paperwire.models.status import StatusPublic
from paperwire.web.dependencies import PW
from paperwire.web.templating import render

router = APIRouter(tags=["status"])
REFRESH_SECONDS = 5


def build_status(pw: Paperwire) -> StatusPublic:
    model = pw.model_name
    first, last = pw.store.feature_day_bounds()
    return StatusPublic(
        papers=pw.store.count(),
        embedded=pw.store.embedded_count(model),
        embedding_model=model,
        embedding_backlog=pw.store.backlog_count(model),
        semantic_ready=pw.search.semantic_ready(),
        keyword_documents=pw.index.keyword_count(),
        vector_documents=pw.index.vector_count(),
        first_day=first,
        last_day=last,
        database=pw.db.display_url,
        index=pw.index.name,
        version=paperwire.__version__,
    )


@router.get("/status", response_class=HTMLResponse, include_in_schema=False)
def status_page(request: Request, pw: PW) -> HTMLResponse:
    status = build_status(pw)
    embedding = pw.settings.semantic and status.embedding_backlog > 0
    percent = round(100 * status.embedded / status.papers) if status.papers else 0
    return render(
        request,
        "status.html",
        {
            "status": status,
            "semantic_enabled": pw.settings.semantic,
            "percent": percent,
            "nav": "status",
            "page_title": "Status",
            "refresh_seconds": REFRESH_SECONDS if embedding else None,
        },
        json_href="/api/status",
    )


@router.get("/api/status", response_model=StatusPublic, summary="Corpus and index status")
def status_api(pw: PW) -> StatusPublic:
    return build_status(pw)


@router.get("/healthz", tags=["status"], summary="Liveness probe")
def healthz() -> dict[str, bool]:
    return {"ok": True}
