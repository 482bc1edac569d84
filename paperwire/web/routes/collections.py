"""Collections: ``/collections`` (yours), ``/collections/{id}`` (one, 404 when private and
not yours), BibTeX/JSONL exports, and the JSON twins under ``/api/collections``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from paperwire.formats.export import bibtex, jsonl
from paperwire.models.common import ErrorPublic
from paperwire.models.community import (
    CollectionCreate,
    CollectionItemResult,
    CollectionPaperAdd,
    CollectionPublic,
    CollectionSummary,
    CollectionUpdate,
    ExportFormat,
)
from paperwire.sources.normalize import InvalidArxivId, normalize_arxiv_id
from paperwire.store.collections import CollectionNotFound
from paperwire.store.votes import PaperNotFound
from paperwire.web.auth import CSRF, Comm, RequireAccount, safe_next, viewer_of
from paperwire.web.templating import render

router = APIRouter(tags=["collections"])
FormStr = Annotated[str, Form()]
NOT_FOUND = "There is no such collection, or it is private."


def _not_found() -> HTTPException:
    return HTTPException(status_code=404, detail=NOT_FOUND)


def _arxiv(raw: str) -> str:
    try:
        return normalize_arxiv_id(raw)
    except InvalidArxivId:
        raise HTTPException(
            status_code=422, detail=f"{raw.strip()[:80]!r} is not an arXiv id or URL"
        ) from None


def _viewer_id(request: Request) -> int | None:
    account = viewer_of(request).account
    return account.id if account else None


def _checked(value: str) -> bool:
    return value.strip().lower() in {"1", "on", "true", "yes", "public"}


def _add(comm: Comm, collection_id: int, owner_id: int, raw: str) -> CollectionItemResult:
    aid = _arxiv(raw)
    try:
        changed = comm.collections.add(collection_id, owner_id, aid)
    except CollectionNotFound:
        raise _not_found() from None
    except PaperNotFound:
        raise HTTPException(
            status_code=404, detail=f"Paper {aid} is not on this site (submit it first)."
        ) from None
    return CollectionItemResult(collection_id=collection_id, arxiv_id=aid, changed=changed)


def _export(comm: Comm, collection_id: int, viewer_id: int | None, fmt: ExportFormat) -> Response:
    try:
        rows = comm.collections.export_rows(collection_id, viewer_id)
    except CollectionNotFound:
        raise _not_found() from None
    if fmt == ExportFormat.bibtex:
        body, media, ext = bibtex(rows), "application/x-bibtex; charset=utf-8", "bib"
    else:
        body, media, ext = jsonl(rows), "application/x-ndjson; charset=utf-8", "jsonl"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="collection-{collection_id}.{ext}"'},
    )


# -- pages ----------------------------------------------------------------------------------


def _list_page(
    request: Request,
    comm: Comm,
    owner_id: int,
    *,
    add: str = "",
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "collections.html",
        {
            "collections": comm.collections.list_for(owner_id),
            "add": add,
            "form": form or {"name": "", "description": "", "public": ""},
            "errors": errors or {},
            "nav": "collections",
            "page_title": "Your collections",
        },
        status_code=status_code,
        json_href="/api/collections",
    )


@router.get("/collections", response_class=HTMLResponse, include_in_schema=False)
def collections_page(
    request: Request, comm: Comm, account: RequireAccount, add: str = ""
) -> HTMLResponse:
    return _list_page(request, comm, account.id, add=add.strip()[:300])


@router.post("/collections", include_in_schema=False, dependencies=[CSRF])
def create_form(
    request: Request,
    comm: Comm,
    account: RequireAccount,
    name: FormStr = "",
    description: FormStr = "",
    public: FormStr = "",
    add: FormStr = "",
) -> Response:
    form = {"name": name, "description": description, "public": public}
    try:
        data = CollectionCreate(name=name, description=description, public=_checked(public))
    except ValidationError as exc:
        msg = str(exc.errors()[0].get("msg", "invalid")).removeprefix("Value error, ")
        return _list_page(
            request,
            comm,
            account.id,
            add=add,
            form=form,
            errors={"name": f"Name: {msg}"},
            status_code=422,
        )
    created = comm.collections.create(account.id, data)
    if add.strip():
        _add(comm, created.id, account.id, add)
    return RedirectResponse(f"/collections/{created.id}", status_code=303)


@router.post("/collections/save", include_in_schema=False, dependencies=[CSRF])
def save_form(
    request: Request,
    comm: Comm,
    account: RequireAccount,
    collection_id: Annotated[int, Form()],
    arxiv_id: FormStr = "",
    next_url: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """The "Save to" form on paper pages."""
    result = _add(comm, collection_id, account.id, arxiv_id)
    return RedirectResponse(safe_next(next_url, f"/collections/{result.collection_id}"), 303)


@router.get(
    "/collections/{collection_id:int}", response_class=HTMLResponse, include_in_schema=False
)
def collection_page(request: Request, comm: Comm, collection_id: int) -> HTMLResponse:
    viewer_id = _viewer_id(request)
    collection = comm.collections.view(collection_id, viewer_id)
    if collection is None:
        raise _not_found()
    owner = viewer_id is not None and collection.owner_id == viewer_id
    return render(
        request,
        "collection.html",
        {"collection": collection, "owner": owner, "page_title": collection.name},
        json_href=f"/api/collections/{collection_id}",
    )


@router.post("/collections/{collection_id:int}/edit", include_in_schema=False, dependencies=[CSRF])
def edit_form(
    comm: Comm,
    account: RequireAccount,
    collection_id: int,
    name: FormStr = "",
    description: FormStr = "",
    public: FormStr = "",
) -> Response:
    data = CollectionUpdate(
        name=name.strip() or None, description=description, public=_checked(public)
    )
    try:
        comm.collections.update(collection_id, account.id, data)
    except CollectionNotFound:
        raise _not_found() from None
    return RedirectResponse(f"/collections/{collection_id}", status_code=303)


@router.post(
    "/collections/{collection_id:int}/delete", include_in_schema=False, dependencies=[CSRF]
)
def delete_form(comm: Comm, account: RequireAccount, collection_id: int) -> Response:
    try:
        comm.collections.delete(collection_id, account.id)
    except CollectionNotFound:
        raise _not_found() from None
    return RedirectResponse("/collections", status_code=303)


@router.post(
    "/collections/{collection_id:int}/papers", include_in_schema=False, dependencies=[CSRF]
)
def add_form(
    comm: Comm, account: RequireAccount, collection_id: int, arxiv_id: FormStr = ""
) -> Response:
    _add(comm, collection_id, account.id, arxiv_id)
    return RedirectResponse(f"/collections/{collection_id}", status_code=303)


@router.post(
    "/collections/{collection_id:int}/papers/{arxiv_id:path}/remove",
    include_in_schema=False,
    dependencies=[CSRF],
)
def remove_form(comm: Comm, account: RequireAccount, collection_id: int, arxiv_id: str) -> Response:
    try:
        comm.collections.remove(collection_id, account.id, _arxiv(arxiv_id))
    except CollectionNotFound:
        raise _not_found() from None
    return RedirectResponse(f"/collections/{collection_id}", status_code=303)


@router.get("/collections/{collection_id:int}/export.bib", include_in_schema=False)
def export_bib(request: Request, comm: Comm, collection_id: int) -> Response:
    return _export(comm, collection_id, _viewer_id(request), ExportFormat.bibtex)


@router.get("/collections/{collection_id:int}/export.jsonl", include_in_schema=False)
def export_jsonl(request: Request, comm: Comm, collection_id: int) -> Response:
    return _export(comm, collection_id, _viewer_id(request), ExportFormat.jsonl)


# -- JSON API -------------------------------------------------------------------------------

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorPublic, "description": "Not logged in."},
    403: {"model": ErrorPublic, "description": "CSRF token missing or wrong."},
    404: {"model": ErrorPublic, "description": "No such collection (or private), or paper."},
}


@router.get(
    "/api/collections",
    response_model=list[CollectionSummary],
    responses={401: _ERRORS[401]},
    summary="Your collections",
)
def list_api(comm: Comm, account: RequireAccount) -> list[CollectionSummary]:
    return comm.collections.list_for(account.id)


@router.post(
    "/api/collections",
    response_model=CollectionSummary,
    status_code=201,
    responses=_ERRORS,
    dependencies=[CSRF],
    summary="Create a collection",
)
def create_api(comm: Comm, account: RequireAccount, data: CollectionCreate) -> CollectionSummary:
    return comm.collections.create(account.id, data)


@router.get(
    "/api/collections/{collection_id}",
    response_model=CollectionPublic,
    responses={404: _ERRORS[404]},
    summary="One collection with its papers",
)
def get_api(request: Request, comm: Comm, collection_id: int) -> CollectionPublic:
    """Private collections answer 404 to everyone but their owner."""
    collection = comm.collections.view(collection_id, _viewer_id(request))
    if collection is None:
        raise _not_found()
    return collection


@router.patch(
    "/api/collections/{collection_id}",
    response_model=CollectionSummary,
    responses=_ERRORS,
    dependencies=[CSRF],
    summary="Rename, describe or publish a collection",
)
def update_api(
    comm: Comm, account: RequireAccount, collection_id: int, data: CollectionUpdate
) -> CollectionSummary:
    try:
        return comm.collections.update(collection_id, account.id, data)
    except CollectionNotFound:
        raise _not_found() from None


@router.delete(
    "/api/collections/{collection_id}",
    status_code=204,
    responses=_ERRORS,
    dependencies=[CSRF],
    summary="Delete a collection",
)
def delete_api(comm: Comm, account: RequireAccount, collection_id: int) -> Response:
    try:
        comm.collections.delete(collection_id, account.id)
    except CollectionNotFound:
        raise _not_found() from None
    return Response(status_code=204)


@router.post(
    "/api/collections/{collection_id}/papers",
    response_model=CollectionItemResult,
    responses=_ERRORS,
    dependencies=[CSRF],
    summary="Add a paper to a collection",
)
def add_api(
    comm: Comm, account: RequireAccount, collection_id: int, data: CollectionPaperAdd
) -> CollectionItemResult:
    return _add(comm, collection_id, account.id, data.arxiv_id)


@router.delete(
    "/api/collections/{collection_id}/papers/{arxiv_id:path}",
    response_model=CollectionItemResult,
    responses=_ERRORS,
    dependencies=[CSRF],
    summary="Remove a paper from a collection",
)
def remove_api(
    comm: Comm, account: RequireAccount, collection_id: int, arxiv_id: str
) -> CollectionItemResult:
    aid = _arxiv(arxiv_id)
    try:
        changed = comm.collections.remove(collection_id, account.id, aid)
    except CollectionNotFound:
        raise _not_found() from None
    return CollectionItemResult(collection_id=collection_id, arxiv_id=aid, changed=changed)


@router.get(
    "/api/collections/{collection_id}/export",
    responses={
        200: {"content": {"application/x-bibtex": {}, "application/x-ndjson": {}}},
        404: _ERRORS[404],
    },
    response_class=Response,
    summary="Export a collection as BibTeX or JSONL",
)
def export_api(
    request: Request,
    comm: Comm,
    collection_id: int,
    format: ExportFormat = ExportFormat.bibtex,
) -> Response:
    return _export(comm, collection_id, _viewer_id(request), format)
