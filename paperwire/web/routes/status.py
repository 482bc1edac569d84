"""``/status`` and ``/api/status``: corpus size, embedding progress, index, database;
for admins also ``paperwire doctor``'s report (the store compared with the index)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from paperwire.core import Paperwire
from paperwire.models.status import StatusPublic
from paperwire.services.clock import clocked_status
from paperwire.web.auth import CurrentUser
from paperwire.web.dependencies import PW
from paperwire.web.twin import Api, Call, Page, twin

router = APIRouter(tags=["status"])
REFRESH_SECONDS = 5


def _context(call: Call, status: StatusPublic) -> dict[str, Any]:
    pw: Paperwire = call.args["pw"]
    embedding = pw.settings.semantic and status.embedding_backlog > 0
    return {
        "status": status,
        "semantic_enabled": pw.settings.semantic,
        "percent": round(100 * status.embedded / status.papers) if status.papers else 0,
        "nav": "status",
        "page_title": "Status",
        "refresh_seconds": REFRESH_SECONDS if embedding else None,
    }


@twin(
    router,
    Api("/api/status", StatusPublic, summary="Corpus and index status"),
    Page("/status", "status.html", context=_context, json_href=lambda call, _: "/api/status"),
)
def status(pw: PW, user: CurrentUser) -> StatusPublic:
    report = clocked_status(pw)
    if user is not None and user.is_admin:
        from paperwire.jobs.doctor import diagnose

        # Ids and counts only (a fraction of a second at 100k papers); comparing every
        # document's fingerprint reads the whole store: `paperwire doctor`.
        report.doctor = diagnose(pw, stale=False)
    return report


@router.get("/healthz", tags=["status"], summary="Liveness probe")
def healthz() -> dict[str, bool]:
    return {"ok": True}
