"""Collections: ``/collections`` (yours), ``/collections/{id}`` (one, 404 when private and
not yours), BibTeX/JSONL exports, and the JSON twins under ``/api/collections``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

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
from paperwire.store.collections import CollectionNotFound
from paperwire.store.votes import PaperNotFound
from paperwire.web.auth import CSRF, Comm, RequireAccount, safe_next, viewer_of
from paperwire.web.dependencies import arxiv_id_or_error
from paperwire.web.templating import render
from paperwire.web.twin import Api, Call, Errors, FormError, Page, Register, parse_form, twin

router = APIRouter(tags=["collections"])
FormStr = Annotated[str, Form()]
NOT_FOUND = "There is no such collection, or it is private."
LABELS = {"name": "Name", "description": "Description"}

_ERRORS: Errors = {
    401: {"model": ErrorPublic, "description": "Not logged in."},
    403: {"model": ErrorPublic, "description": "CSRF token missing or wrong."},
    404: {"model": ErrorPublic, "description": "No such collection (or private), or paper."},
}


def _not_found() -> HTTPException:
    return HTTPException(status_code=404, detail=NOT_FOUND)


@contextmanager
def _found() -> Iterator[None]:
    """``CollectionNotFound`` (missing, or not the viewer's) → 404."""
    try:
        yield
    except CollectionNotFound:
        raise _not_found() from None


def _viewer_id(request: Request) -> int | None:
    account = viewer_of(request).account
    return account.id if account else None


def _checked(value: str) -> bool:
    return value.strip().lower() in {"1", "on", "true", "yes", "public"}


def _add(comm: Comm, collection_id: int, owner_id: int, raw: str) -> CollectionItemResult:
    aid = arxiv_id_or_error(raw)
    try:
        with _found():
            changed = comm.collections.add(collection_id, owner_id, aid)
    except PaperNotFound:
        raise HTTPException(
            status_code=404, detail=f"Paper {aid} is not on this site (submit it first)."
        ) from None
    return CollectionItemResult(collection_id=collection_id, arxiv_id=aid, changed=changed)


def _change(
    route: str, model: Any, summary: str, page: Page, status: int | None = None
) -> Register:
    """Register an owner's change: the JSON route (401/403/404 errors), the page's form,
    CSRF on both."""
    return twin(router, Api(route, model, status, _ERRORS, summary), page, CSRF)


def _to_collection(call: Call, result: Any) -> Response:
    """After a change: back to the collection's page."""
    return RedirectResponse(f"/collections/{call.args['collection_id']}", status_code=303)


def _to_list() -> Response:
    return RedirectResponse("/collections", status_code=303)


def _paper_form(call: Call) -> dict[str, Any]:
    return {"data": parse_form(CollectionPaperAdd, {"arxiv_id": call.value("arxiv_id")}, {})}


# -- your collections -----------------------------------------------------------------------


def _list_page(
    call: Call, collections: list[CollectionSummary], errors: dict[str, str], status: int
) -> Response:
    form = call.form or {"name": "", "description": "", "public": ""}
    add = call.value("add") if call.form else call.request.query_params.get("add", "")
    return render(
        call.request,
        "collections.html",
        {
            "collections": collections,
            "add": add if call.form else add.strip()[:300],
            "form": {k: form.get(k, "") for k in ("name", "description", "public")},
            "errors": errors,
            "nav": "collections",
            "page_title": "Your collections",
        },
        status_code=status,
        json_href="/api/collections",
    )


@twin(
    router,
    Api(
        "/api/collections",
        list[CollectionSummary],
        errors={401: _ERRORS[401]},
        name="list_api",
        summary="Your collections",
    ),
    Page("/collections", respond=lambda call, found: _list_page(call, found, {}, 200)),
)
def collections_of(comm: Comm, account: RequireAccount) -> list[CollectionSummary]:
    return comm.collections.list_for(account.id)


def _create_form(call: Call) -> dict[str, Any]:
    data = {
        "name": call.value("name"),
        "description": call.value("description"),
        "public": _checked(call.value("public")),
    }
    return {"data": parse_form(CollectionCreate, data, LABELS)}


def _created(call: Call, created: CollectionSummary) -> Response:
    """The new collection's page (with the paper it was made for, if any)."""
    add = call.value("add")
    if add.strip():
        _add(call.args["comm"], created.id, created.owner_id, add)
    return RedirectResponse(f"/collections/{created.id}", status_code=303)


def _create_failed(call: Call, exc: HTTPException) -> Response | None:
    if not isinstance(exc, FormError):
        return None
    mine = call.args["comm"].collections.list_for(call.args["account"].id)
    return _list_page(call, mine, exc.errors, exc.status_code)


@_change(
    "POST /api/collections",
    CollectionSummary,
    "Create a collection",
    Page("POST /collections", form=_create_form, respond=_created, failed=_create_failed),
    status=201,
)
def create(comm: Comm, account: RequireAccount, data: CollectionCreate) -> CollectionSummary:
    return comm.collections.create(account.id, data)


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


# -- one collection -------------------------------------------------------------------------


def _collection_context(call: Call, collection: CollectionPublic) -> dict[str, Any]:
    viewer_id = _viewer_id(call.request)
    owner = viewer_id is not None and collection.owner_id == viewer_id
    return {"collection": collection, "owner": owner, "page_title": collection.name}


@twin(
    router,
    Api(
        "/api/collections/{collection_id}",
        CollectionPublic,
        errors={404: _ERRORS[404]},
        summary="One collection with its papers",
    ),
    Page(
        "/collections/{collection_id:int}",
        "collection.html",
        context=_collection_context,
        json_href=lambda call, found: f"/api/collections/{found.id}",
    ),
)
def get(request: Request, comm: Comm, collection_id: int) -> CollectionPublic:
    """Private collections answer 404 to everyone but their owner."""
    found = comm.collections.view(collection_id, _viewer_id(request))
    if found is None:
        raise _not_found()
    return found


def _edit_form(call: Call) -> dict[str, Any]:
    data = {
        "name": call.value("name").strip() or None,
        "description": call.value("description"),
        "public": _checked(call.value("public")),
    }
    return {"data": parse_form(CollectionUpdate, data, LABELS)}


@_change(
    "PATCH /api/collections/{collection_id}",
    CollectionSummary,
    "Rename, describe or publish a collection",
    Page("POST /collections/{collection_id:int}/edit", form=_edit_form, respond=_to_collection),
)
def update(
    comm: Comm, account: RequireAccount, collection_id: int, data: CollectionUpdate
) -> CollectionSummary:
    with _found():
        return comm.collections.update(collection_id, account.id, data)


@_change(
    "DELETE /api/collections/{collection_id}",
    None,
    "Delete a collection",
    Page("POST /collections/{collection_id:int}/delete", respond=lambda call, _: _to_list()),
    status=204,
)
def delete(comm: Comm, account: RequireAccount, collection_id: int) -> None:
    with _found():
        comm.collections.delete(collection_id, account.id)


@_change(
    "POST /api/collections/{collection_id}/papers",
    CollectionItemResult,
    "Add a paper to a collection",
    Page("POST /collections/{collection_id:int}/papers", form=_paper_form, respond=_to_collection),
)
def add(
    comm: Comm, account: RequireAccount, collection_id: int, data: CollectionPaperAdd
) -> CollectionItemResult:
    return _add(comm, collection_id, account.id, data.arxiv_id)


@_change(
    "DELETE /api/collections/{collection_id}/papers/{arxiv_id:path}",
    CollectionItemResult,
    "Remove a paper from a collection",
    Page(
        "POST /collections/{collection_id:int}/papers/{arxiv_id:path}/remove",
        respond=_to_collection,
    ),
)
def remove(
    comm: Comm, account: RequireAccount, collection_id: int, arxiv_id: str
) -> CollectionItemResult:
    aid = arxiv_id_or_error(arxiv_id)
    with _found():
        changed = comm.collections.remove(collection_id, account.id, aid)
    return CollectionItemResult(collection_id=collection_id, arxiv_id=aid, changed=changed)


# -- exports --------------------------------------------------------------------------------


def _export_page(fmt: ExportFormat, ext: str) -> Page:
    """``/collections/{id}/export.bib`` and ``.jsonl``: the file itself."""
    route = f"/collections/{{collection_id:int}}/export.{ext}"
    return Page(route, fixed={"format": fmt}, respond=lambda call, file: file)


_FILES: Errors = {
    200: {"content": {"application/x-bibtex": {}, "application/x-ndjson": {}}},
    404: _ERRORS[404],
}


@twin(
    router,
    Api(
        "/api/collections/{collection_id}/export",
        errors=_FILES,
        response_class=Response,
        summary="Export a collection as BibTeX or JSONL",
    ),
    [_export_page(ExportFormat.bibtex, "bib"), _export_page(ExportFormat.jsonl, "jsonl")],
)
def export(
    request: Request,
    comm: Comm,
    collection_id: int,
    format: ExportFormat = ExportFormat.bibtex,
) -> Response:
    with _found():
        rows = comm.collections.export_rows(collection_id, _viewer_id(request))
    if format == ExportFormat.bibtex:
        body, media, ext = bibtex(rows), "application/x-bibtex; charset=utf-8", "bib"
    else:
        body, media, ext = jsonl(rows), "application/x-ndjson; charset=utf-8", "jsonl"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="collection-{collection_id}.{ext}"'},
    )
