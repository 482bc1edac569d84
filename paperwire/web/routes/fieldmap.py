"""The map of the field: ``/map`` (a canvas of every embedded paper, hover for the title,
click to the paper, date and category filters, the signed-in reader's papers
highlighted), ``/api/map`` (the build's facts), ``/map/points.json`` (the layout the page
draws), ``/map.png`` (the picture) and ``/api/map/mine``. Built by ``paperwire map
build`` or the worker (``services.fieldmap``); everything is served from this origin.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response

from paperwire.core import Paperwire
from paperwire.models.common import ErrorPublic
from paperwire.models.recommend import MapInfo
from paperwire.services.fieldmap import BuiltMap, current_map, gzipped, is_stale
from paperwire.services.recommend import rec_store
from paperwire.web.auth import RequireAccount
from paperwire.web.dependencies import PW
from paperwire.web.twin import Api, Call, Page, twin

router = APIRouter(tags=["map"])
NO_MAP = "No map yet: run `paperwire map build` (the worker builds it on its schedule)."
_MISSING: dict[int | str, dict[str, Any]] = {404: {"model": ErrorPublic, "description": NO_MAP}}


def _built(pw: Paperwire) -> BuiltMap:
    built = current_map(pw)
    if built is None:
        raise HTTPException(status_code=404, detail=NO_MAP)
    return built


def _info(pw: Paperwire) -> MapInfo:
    built = current_map(pw)
    if built is None:
        return MapInfo(built_at=None, points=0, method=None, stale=True)
    r = built.record
    built_at = r.built_at.replace(tzinfo=dt.UTC)
    return MapInfo(built_at=built_at, points=r.points, method=r.method, stale=is_stale(pw, built))


def _context(call: Call, info: MapInfo) -> dict[str, Any]:
    return {"info": info, "nav": "map", "page_title": "A map of the field"}


@twin(
    router,
    Api("/api/map", MapInfo, summary="The map of the field: when it was built, how many papers"),
    Page("/map", "map.html", context=_context, json_href=lambda c, i: "/api/map"),
)
def field_map(pw: PW) -> MapInfo:
    """``stale``: papers were embedded (or hidden) since the map was built; the worker
    rebuilds it on ``PAPERWIRE_MAP_CRON``."""
    return _info(pw)


def _accepts_gzip(header: str) -> bool:
    """Whether an ``Accept-Encoding`` value takes gzip: named, or by ``*``, with a weight
    above 0 (``gzip;q=0`` refuses it; a malformed weight is ignored)."""
    weights: dict[str, float] = {}
    for part in header.lower().split(","):
        name, _, params = part.partition(";")
        q = params.strip().removeprefix("q=") or "1"
        try:
            weights[name.strip()] = float(q)
        except ValueError:
            continue
    return weights.get("gzip", weights.get("*", 0.0)) > 0


def _file(request: Request, path: Any, media: str, packable: bool = False) -> Response:
    """The file (``packable``: gzipped for a client that accepts it)."""
    if not path.is_file():
        raise HTTPException(status_code=404, detail=NO_MAP)
    headers = {"Cache-Control": "public, max-age=300"}
    if packable:
        headers["Vary"] = "Accept-Encoding"
        if _accepts_gzip(request.headers.get("accept-encoding", "")):
            headers["Content-Encoding"] = "gzip"
            path = gzipped(path)
    return FileResponse(path, media_type=media, headers=headers)


@router.get(
    "/map/points.json",
    summary="The map's points, column-wise (what /map draws)",
    responses={200: {"content": {"application/json": {}}}, **_MISSING},
    response_class=Response,
)
def map_points(request: Request, pw: PW) -> Response:
    """``ids``, ``titles``, ``x``/``y`` (0…10000), ``cluster``, ``day`` (proleptic
    ordinal, 0 unknown), ``category`` (index into ``categories``) and ``clusters`` (label,
    size, centre)."""
    return _file(request, _built(pw).json_path, "application/json", packable=True)


@router.get(
    "/map.png",
    summary="The map as a picture",
    responses={200: {"content": {"image/png": {}}}, **_MISSING},
    response_class=Response,
)
def map_png(request: Request, pw: PW) -> Response:
    return _file(request, _built(pw).png_path, "image/png")


@router.get(
    "/api/map/mine",
    summary="Your papers on the map (upvoted or saved)",
    responses={401: {"model": ErrorPublic, "description": "Not logged in."}},
)
def my_papers(pw: PW, account: RequireAccount) -> list[str]:
    return [liked.arxiv_id for liked in rec_store(pw).liked(account.id, limit=5000)]
