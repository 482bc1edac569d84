"""arXiv itself: the Atom query API and the OAI-PMH bulk interface.

The query API answers "papers in cs.CL submitted between two days" and "these ids" (paper
submission); OAI-PMH is arXiv's recommended way to harvest many days. Both are parsed
from raw XML so recorded responses can test the parsers byte for byte. arXiv asks for
at most one request every 3 seconds, hence the ``delay`` between pages.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import httpx
from lxml import etree

from paperwire.models.papers import PaperRecord, Rejection
from paperwire.sources import _common as f
from paperwire.sources.http import Sleep, SourceError, get_with_retries

SOURCE = "arxiv"
POLITE_DELAY = 3.0

NS = {
    "a": "http://www.w3.org/2005/Atom",
    "os": "http://a9.com/-/spec/opensearch/1.1/",
    "arxiv": "http://arxiv.org/schemas/atom",
    "oai": "http://www.openarchives.org/OAI/2.0/",
    "ax": "http://arxiv.org/OAI/arXiv/",
    "raw": "http://arxiv.org/OAI/arXivRaw/",
}
_ERROR_ID = "arxiv.org/api/errors"
_FORMATS = (("ax", "arXiv"), ("raw", "arXivRaw"))  # OAI metadata formats we can read

# No DTDs, entities or network access: responses are data, never instructions.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)

Element = Any  # lxml ships no type hints
Items = list[PaperRecord | Rejection]


def _xml(xml: bytes, location: str) -> Element:
    try:
        return etree.fromstring(xml, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"{location}: not valid XML: {exc}", url=location) from None


def _text(el: Element, path: str) -> str | None:
    node = el.find(path, NS)
    value = node.text if node is not None else None
    return value if isinstance(value, str) else None


def _attr(el: Element, path: str, name: str) -> str | None:
    node = el.find(path, NS)
    value = node.get(name) if node is not None else None
    return value if isinstance(value, str) else None


def _unique(values: list[str | None]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


# --- Atom query API ---------------------------------------------------------------------


def _atom_entry(entry: Element) -> PaperRecord:
    primary = _attr(entry, "arxiv:primary_category", "term")
    terms = [c.get("term") for c in entry.findall("a:category", NS)]
    names = [_text(a, "a:name") for a in entry.findall("a:author", NS)]
    return f.build(
        {
            "arxiv_id": f.arxiv_id(_text(entry, "a:id")),
            "source": SOURCE,
            "title": f.title(_text(entry, "a:title")),
            "abstract": f.text(_text(entry, "a:summary"), "abstract"),
            "authors": f.str_list(names, "authors"),
            "categories": _unique([primary, *terms]),
            "comment": f.text(_text(entry, "arxiv:comment"), "comment"),
            "published_at": f.datetime_value(_text(entry, "a:published"), "published_at"),
        }
    )


def parse_atom_feed(xml: bytes, location: str) -> tuple[Items, int]:
    """Records of one API response page and the query's ``opensearch:totalResults``.

    The API reports a bad query as a single entry with an ``.../api/errors#...`` id;
    that becomes a ``SourceError`` carrying arXiv's message.
    """
    root = _xml(xml, location)
    entries = root.findall("a:entry", NS)
    items: Items = []
    for n, entry in enumerate(entries, start=1):
        entry_id = _text(entry, "a:id") or ""
        if _ERROR_ID in entry_id:
            message = f.text(_text(entry, "a:summary"), "summary") or entry_id
            raise SourceError(f"arXiv API error: {message}", url=location, status=400)
        try:
            items.append(_atom_entry(entry))
        except f.FieldError as exc:
            items.append(f.rejection(f"{location}: entry {n}", entry_id, exc))
    total_text = _text(root, "os:totalResults")
    total = int(total_text) if total_text and total_text.strip().isdigit() else len(entries)
    return items, total


def _api_page(
    client: httpx.Client, api_url: str, params: dict[str, str | int], retries: int, sleep: Sleep
) -> tuple[Items, int, str]:
    # arXiv answers a malformed query with HTTP 400 and an error feed: parse it for the text.
    response = get_with_retries(client, api_url, params, retries, accept=(400,), sleep=sleep)
    url = str(response.url)
    if response.status_code == 400:
        try:
            parse_atom_feed(response.content, url)
        except SourceError as exc:
            if exc.status == 400:  # the error feed, with arXiv's own message
                raise
        raise SourceError(f"GET {url} failed: HTTP 400", url=url, status=400)
    items, total = parse_atom_feed(response.content, url)
    return items, total, url


def fetch_arxiv_api(
    client: httpx.Client,
    api_url: str,
    category: str,
    since: dt.date,
    until: dt.date,
    page_size: int = 100,
    retries: int = 3,
    sleep: Sleep = time.sleep,
    delay: float = POLITE_DELAY,
) -> Iterator[PaperRecord | Rejection]:
    """Every paper in ``category`` submitted ``since..until`` (inclusive), oldest first.

    Pages with ``start`` until ``totalResults``. arXiv sometimes serves an empty page
    mid-way; it is asked again ``retries`` times, then reported as a ``Rejection``.
    """
    query = f"cat:{category} AND submittedDate:[{since:%Y%m%d}0000 TO {until:%Y%m%d}2359]"
    start, empty_pages, first = 0, 0, True
    while True:
        if not first:
            sleep(delay)
        first = False
        params: dict[str, str | int] = {
            "search_query": query,
            "start": start,
            "max_results": page_size,
            "sortBy": "submittedDate",
            "sortOrder": "ascending",
        }
        items, total, url = _api_page(client, api_url, params, retries, sleep)
        yield from items
        start += len(items)
        if start >= total:
            return
        if items:
            empty_pages = 0
            continue
        empty_pages += 1
        if empty_pages > retries:
            yield Rejection(
                location=url, reason=f"empty page at start={start}; stopped before {total} results"
            )
            return


def fetch_arxiv_ids(
    client: httpx.Client,
    api_url: str,
    ids: list[str],
    retries: int = 3,
    sleep: Sleep = time.sleep,
    delay: float = POLITE_DELAY,
    batch_size: int = 100,
) -> Iterator[PaperRecord | Rejection]:
    """The latest version of each id (``id_list=``); unknown or malformed ids are rejected."""
    wanted: list[str] = []
    for raw in ids:
        try:
            wanted.append(f.arxiv_id(raw))
        except f.FieldError as exc:
            yield f.rejection("id_list", raw, exc)
    wanted = list(dict.fromkeys(wanted))
    for i in range(0, len(wanted), batch_size):
        if i:
            sleep(delay)
        batch = wanted[i : i + batch_size]
        params: dict[str, str | int] = {"id_list": ",".join(batch), "max_results": len(batch)}
        items, _total, url = _api_page(client, api_url, params, retries, sleep)
        seen = {item.arxiv_id for item in items if isinstance(item, PaperRecord)}
        yield from items
        for missing in (a for a in batch if a not in seen):
            yield Rejection(location=url, record=missing, field="arxiv_id", reason="not on arXiv")


# --- OAI-PMH ----------------------------------------------------------------------------


def _oai_authors(meta: Element, prefix: str) -> list[str]:
    if prefix == "raw":  # arXivRaw: one string, "A. One, B. Two and C. Three"
        return f.split_names(_text(meta, "raw:authors") or "")
    names = []
    for author in meta.findall("ax:authors/ax:author", NS):
        parts = [_text(author, f"ax:{k}") for k in ("forenames", "keyname", "suffix")]
        names.append(" ".join(p.strip() for p in parts if p and p.strip()))
    return f.str_list(names, "authors")


def _oai_created(meta: Element, prefix: str) -> dt.datetime | None:
    created = _text(meta, f"{prefix}:created")
    if created is None:  # arXivRaw: <version version="v1"><date>Tue, 11 Jun 2024 ...</date>
        version_date = _text(meta, f"{prefix}:version/{prefix}:date")
        if version_date:
            try:
                return f.datetime_value(
                    dt.datetime.strptime(version_date.strip(), "%a, %d %b %Y %H:%M:%S %Z"),
                    "published_at",
                )
            except ValueError:
                raise f.FieldError("published_at", f"not a date: {version_date!r}") from None
    return f.datetime_value(created, "published_at")


def _oai_record(meta: Element, prefix: str, header_id: str | None) -> PaperRecord:
    categories = (_text(meta, f"{prefix}:categories") or "").split()
    return f.build(
        {
            "arxiv_id": f.arxiv_id(_text(meta, f"{prefix}:id") or header_id),
            "source": SOURCE,
            "title": f.title(_text(meta, f"{prefix}:title")),
            "abstract": f.text(_text(meta, f"{prefix}:abstract"), "abstract"),
            "authors": _oai_authors(meta, prefix),
            "categories": _unique(list(categories)),
            "comment": f.text(_text(meta, f"{prefix}:comments"), "comment"),
            "published_at": _oai_created(meta, prefix),
        }
    )


def parse_oai_page(xml: bytes, location: str) -> tuple[Items, str | None]:
    """Records of one ``ListRecords`` page and the resumption token (``None`` at the end).

    Deleted records are skipped; ``noRecordsMatch`` is an empty page, other OAI errors
    raise ``SourceError``.
    """
    root = _xml(xml, location)
    error = root.find("oai:error", NS)
    if error is not None:
        code = error.get("code") or "error"
        if code == "noRecordsMatch":
            return [], None
        message = f.text(error.text, "error") or code
        raise SourceError(f"OAI-PMH error {code}: {message}", url=location)
    listing = root.find("oai:ListRecords", NS)
    if listing is None:
        raise SourceError(f"{location}: response has no ListRecords", url=location)
    items: Items = []
    for n, record in enumerate(listing.findall("oai:record", NS), start=1):
        if _attr(record, "oai:header", "status") == "deleted":
            continue
        identifier = (_text(record, "oai:header/oai:identifier") or "").strip()
        header_id = identifier.removeprefix("oai:arXiv.org:") or None
        try:
            for prefix, tag in _FORMATS:
                meta = record.find(f"oai:metadata/{prefix}:{tag}", NS)
                if meta is not None:
                    items.append(_oai_record(meta, prefix, header_id))
                    break
            else:
                raise f.FieldError("metadata", "no arXiv or arXivRaw metadata")
        except f.FieldError as exc:
            items.append(f.rejection(f"{location}: record {n}", header_id, exc))
    token = _text(listing, "oai:resumptionToken")
    return items, (token.strip() or None) if token else None


def fetch_arxiv_oai(
    client: httpx.Client,
    oai_url: str,
    set_spec: str | None,
    since: dt.date,
    until: dt.date,
    retries: int = 3,
    sleep: Sleep = time.sleep,
    delay: float = POLITE_DELAY,
) -> Iterator[PaperRecord | Rejection]:
    """Harvest ``ListRecords`` (``metadataPrefix=arXiv``) for records changed ``since..until``.

    Follows resumption tokens; arXiv's flow control (503 + ``Retry-After``) is honoured
    by ``get_with_retries``.
    """
    params: dict[str, str | int] = {
        "verb": "ListRecords",
        "metadataPrefix": "arXiv",
        "from": since.isoformat(),
        "until": until.isoformat(),
    }
    if set_spec:
        params["set"] = set_spec
    seen_tokens: set[str] = set()
    while True:
        response = get_with_retries(client, oai_url, params, retries, accept=(400,), sleep=sleep)
        items, token = parse_oai_page(response.content, str(response.url))
        if response.status_code == 400:
            raise SourceError(f"GET {response.url} failed: HTTP 400", url=oai_url, status=400)
        yield from items
        if token is None:
            return
        if token in seen_tokens:
            raise SourceError(f"OAI-PMH resumption token repeated: {token}", url=oai_url)
        seen_tokens.add(token)
        params = {"verb": "ListRecords", "resumptionToken": token}
        sleep(delay)
