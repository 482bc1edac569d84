"""Your data, anywhere: ``/account/data`` (takeout, library import, account deletion) and
its JSON routes; the corpus as streamed downloads for admins.

* ``GET /api/export/corpus.parquet`` and ``.jsonl`` (admins): every visible paper (or
  those matching the search filters), streamed a batch at a time, never held whole.
* ``GET /api/me/takeout``: the signed-in user's archive (``services.takeout``);
  ``POST /api/me/takeout`` imports one (a user moving here from another paperwire).
* ``POST /api/collections/import``: a BibTeX/RIS/CSL-JSON upload as a new collection;
  the answer lists every entry that matched no paper.
* ``POST /api/me/delete``: delete the account (password required), see docs/data.md.

Each is rate-limited per user (``PAPERWIRE_RATE_EXPORTS_PER_HOUR``).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from paperwire.formats.references import ReferenceFormat
from paperwire.models.common import ErrorPublic
from paperwire.models.data import AccountDeleted, LibraryImport, TakeoutImport
from paperwire.models.search import SearchFilters
from paperwire.services.corpus_export import stream_jsonl, stream_parquet
from paperwire.services.library import import_library
from paperwire.services.takeout import (
    TakeoutError,
    delete_account,
    import_takeout,
    write_takeout,
)
from paperwire.store.users import Account
from paperwire.web.auth import (
    CSRF,
    Comm,
    RequireAccount,
    RequireAdmin,
    clear_session_cookie,
    limiter_of,
)
from paperwire.web.dependencies import FilterQuery, search_params
from paperwire.web.head import wants_body
from paperwire.web.ratelimit import enforce
from paperwire.web.templating import render

router = APIRouter(tags=["data"])
MAX_UPLOAD = 5 * 1024 * 1024  # a library of ~10,000 entries
MAX_ARCHIVE_UPLOAD = 32 * 1024 * 1024  # a takeout, compressed
SPOOL_BYTES = 8 * 1024 * 1024  # a takeout larger than this is spooled to disk

_AUTH: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorPublic, "description": "Not logged in."},
    403: {"model": ErrorPublic, "description": "Not allowed, or CSRF token missing/wrong."},
    429: {"model": ErrorPublic, "description": "Too many exports; `Retry-After` says when."},
}


def _limit(request: Request, account: Account) -> None:
    per_hour = request.app.state.pw.settings.rate_exports_per_hour
    enforce(request, limiter_of(request), f"export:user:{account.id}", per_hour, 3600, "exports")


def _filters(comm: Comm, filters: FilterQuery) -> SearchFilters:
    """The search page's filter params, checked the same way (422 naming the field)."""
    params = search_params(comm.pw, filters)
    if params.errors or params.request is None:
        raise HTTPException(status_code=422, detail=params.message)
    return params.request.filters


def _download(
    request: Request, body: Callable[[], Iterator[bytes]], media: str, filename: str
) -> StreamingResponse:
    """A streamed download of ``body()``, not begun for a ``HEAD`` (``wants_body``)."""
    return StreamingResponse(
        body() if wants_body(request) else iter(()),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/api/export/corpus.parquet",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/vnd.apache.parquet": {}}}, **_AUTH},
    summary="The corpus as one Parquet file (admins)",
)
def corpus_parquet(
    request: Request, comm: Comm, admin: RequireAdmin, filters: FilterQuery
) -> StreamingResponse:
    """Every visible paper (or those matching the filters) in the dataset schema of
    `paperwire export corpus`, one row group per batch, streamed as it is written."""
    chosen = _filters(comm, filters)
    _limit(request, admin)
    return _download(
        request,
        lambda: stream_parquet(comm.pw, chosen),
        "application/vnd.apache.parquet",
        "corpus.parquet",
    )


@router.get(
    "/api/export/corpus.jsonl",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}, **_AUTH},
    summary="The corpus as JSON lines (admins)",
)
def corpus_jsonl(
    request: Request, comm: Comm, admin: RequireAdmin, filters: FilterQuery
) -> StreamingResponse:
    """One paper per line, same fields as the Parquet file; streamed."""
    chosen = _filters(comm, filters)
    _limit(request, admin)
    return _download(
        request, lambda: stream_jsonl(comm.pw, chosen), "application/x-ndjson", "corpus.jsonl"
    )


# -- your data ----------------------------------------------------------------------------


def _page(
    request: Request,
    *,
    error: object = "",
    report: LibraryImport | None = None,
    moved: TakeoutImport | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """``/account/data``, with the outcome of what was just done on it."""
    return render(
        request,
        "account_data.html",
        {
            "nav": "data",
            "page_title": "Your data",
            "error": error,
            "report": report,
            "moved": moved,
        },
        status_code=status_code,
    )


@router.get("/account/data", response_class=HTMLResponse, include_in_schema=False)
def data_page(request: Request, account: RequireAccount) -> HTMLResponse:
    return _page(request)


@router.get(
    "/api/me/takeout",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}, **_AUTH},
    summary="Download everything of yours (takeout archive)",
)
def takeout(request: Request, comm: Comm, account: RequireAccount) -> StreamingResponse:
    """A zip archive: `manifest.json`, one JSONL file per kind of data (profile, votes,
    collections, subscriptions, saved searches, …) and each collection as BibTeX,
    CSL-JSON and RIS. `paperwire import takeout` reads it on another paperwire."""
    _limit(request, account)

    def archive() -> Iterator[bytes]:
        """Written in the view, before the headers go out (an error is a 500, and the
        work holds the request's admission slot); never for a ``HEAD``."""
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by _chunks
        write_takeout(comm.pw, account.id, spool)
        spool.seek(0)
        return _chunks(spool)

    return _download(request, archive, "application/zip", "paperwire-takeout.zip")


def _chunks(spool: IO[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    """The archive in chunks (a large one was spooled to disk, not kept in memory)."""
    with spool:
        while chunk := spool.read(size):
            yield chunk


async def _read_bytes(upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(status_code=413, detail=f"The file is over {limit} bytes.")
    return data


async def _read_upload(upload: UploadFile) -> tuple[str, str]:
    data = await _read_bytes(upload, MAX_UPLOAD)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HTTPException(status_code=422, detail="file: not UTF-8 text") from None
    return text, (upload.filename or "library")[:200]


NameField = Annotated[
    str | None, Form(max_length=120, description="Collection name (default: the file's).")
]
FormatField = Annotated[
    ReferenceFormat | None, Form(description="bibtex, ris or csl-json (default: guessed).")
]


def _run_import(
    comm: Comm, account: Account, text: str, filename: str, name: str | None, fmt: object
) -> LibraryImport:
    try:
        return import_library(
            comm.pw,
            account.id,
            text,
            filename,
            name=(name or "").strip() or filename.rsplit(".", 1)[0],
            fmt=fmt if isinstance(fmt, ReferenceFormat) else None,
        )
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None


@router.post(
    "/api/collections/import",
    response_model=LibraryImport,
    status_code=201,
    responses={413: {"model": ErrorPublic, "description": "File too large."}, **_AUTH},
    dependencies=[CSRF],
    summary="Import a BibTeX/RIS/CSL-JSON library as a collection",
    tags=["collections"],
)
async def import_collection(
    request: Request,
    comm: Comm,
    account: RequireAccount,
    file: Annotated[UploadFile, File(description="A Zotero/BibTeX/RIS/CSL-JSON export.")],
    name: NameField = None,
    format: FormatField = None,
) -> LibraryImport:
    """Papers are matched by arXiv id, arXiv DOI or title; `unmatched` lists every entry
    that became no paper (with where it was and why)."""
    _limit(request, account)
    text, filename = await _read_upload(file)
    return _run_import(comm, account, text, filename, name, format)


@router.post("/account/import", response_class=HTMLResponse, include_in_schema=False)
async def import_page(
    request: Request,
    comm: Comm,
    account: RequireAccount,
    file: Annotated[UploadFile, File()],
    name: Annotated[str | None, Form(max_length=120)] = None,
    _csrf: None = CSRF,
) -> HTMLResponse:
    _limit(request, account)
    text, filename = await _read_upload(file)
    return _page(request, report=_run_import(comm, account, text, filename, name, None))


def _run_takeout_import(comm: Comm, account: Account, data: bytes) -> TakeoutImport:
    try:
        return import_takeout(comm.pw, account.id, account.email, io.BytesIO(data))
    except TakeoutError as exc:
        raise HTTPException(status_code=422, detail=f"archive: {exc}") from None


@router.post(
    "/api/me/takeout",
    response_model=TakeoutImport,
    responses={413: {"model": ErrorPublic, "description": "Archive too large."}, **_AUTH},
    dependencies=[CSRF],
    summary="Import a takeout archive (from any paperwire) into your account",
)
async def takeout_import(
    request: Request,
    comm: Comm,
    account: RequireAccount,
    file: Annotated[UploadFile, File(description="A takeout .zip.")],
) -> TakeoutImport:
    """Collections, saved searches (alerts), votes and what other features register are
    recreated here; `unmatched` lists what named a paper this site does not have; an
    imported subscription waits for its confirmation link."""
    _limit(request, account)
    return _run_takeout_import(comm, account, await _read_bytes(file, MAX_ARCHIVE_UPLOAD))


@router.post("/account/takeout", response_class=HTMLResponse, include_in_schema=False)
async def takeout_import_page(
    request: Request,
    comm: Comm,
    account: RequireAccount,
    file: Annotated[UploadFile, File()],
    _csrf: None = CSRF,
) -> HTMLResponse:
    _limit(request, account)
    moved = _run_takeout_import(comm, account, await _read_bytes(file, MAX_ARCHIVE_UPLOAD))
    return _page(request, moved=moved)


class AccountDelete(BaseModel):
    password: str = Field(max_length=1024, description="Your password, to confirm.")


def _delete(
    request: Request, response: Response, comm: Comm, account: Account, password: str
) -> AccountDeleted:
    if comm.authenticate(account.email, password) is None:
        raise HTTPException(status_code=403, detail="Wrong password: nothing was deleted.")
    done = delete_account(comm.pw, account.id)
    comm.audit.log(None, "user.delete", "user", str(account.id), {"via": "web"})
    clear_session_cookie(response, comm.pw)
    return done


@router.post(
    "/api/me/delete",
    response_model=AccountDeleted,
    responses=_AUTH,
    dependencies=[CSRF],
    summary="Delete your account and everything it owns",
)
def delete_me(
    request: Request, response: Response, comm: Comm, account: RequireAccount, data: AccountDelete
) -> AccountDeleted:
    """Removes or anonymises every kind of your data (`kinds` says which; see
    docs/data.md), then the account. Download the takeout first to keep a copy."""
    return _delete(request, response, comm, account, data.password)


@router.post("/account/delete", include_in_schema=False)
def delete_page(
    request: Request,
    comm: Comm,
    account: RequireAccount,
    password: Annotated[str, Form(max_length=1024)],
    _csrf: None = CSRF,
) -> Response:
    redirect = RedirectResponse("/?deleted=1", status_code=303)
    try:
        _delete(request, redirect, comm, account, password)
    except HTTPException as exc:
        return _page(request, error=exc.detail, status_code=exc.status_code)
    return redirect
