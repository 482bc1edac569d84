"""Hugging Face Daily Papers: saved day files or the live ``/api/daily_papers`` endpoint.

The feed is the community's daily pick, so besides the paper it carries what the site
shows a reader: upvotes, comments, organisation, code links and the day it was featured.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from paperwire.models.papers import PaperRecord, Rejection
from paperwire.sources import _common as f
from paperwire.sources.http import Sleep, get_with_retries

SOURCE = "hf-daily"


def _dict(value: object, field: str) -> dict[str, object] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise f.FieldError(field, f"expected an object, got {type(value).__name__}")
    return value


def _authors(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise f.FieldError("authors", "expected a list of authors")
    names: list[str] = []
    for author in value:  # hidden authors are kept: the name is still the paper's author
        name = author.get("name") if isinstance(author, dict) else None
        if not isinstance(name, str):
            raise f.FieldError("authors", f"author without a name: {author!r}")
        cleaned = f.text(name, "authors")
        if cleaned:
            names.append(cleaned)
    return names


def _person(value: object, field: str) -> str | None:
    who = _dict(value, field)
    if who is None:
        return None
    for key in ("fullname", "name", "user"):
        name = who.get(key)
        if isinstance(name, str) and name.strip():
            return f.text(name, field)
    return None


def _record(entry: object, featured_on: dt.date | None) -> PaperRecord:
    top = _dict(entry, "record")
    if top is None:
        raise f.FieldError("record", "entry is null")
    paper = _dict(top.get("paper"), "paper")
    if paper is None:
        raise f.FieldError("paper", "entry has no paper")
    # {"name": "Stanford-University", "fullname": "Stanford University", ...}
    org = (
        _dict(paper.get("organization"), "organization")
        or _dict(top.get("organization"), "organization")
        or {}
    )
    if featured_on is None:
        featured_on = f.date_value(paper.get("submittedOnDailyAt"), "featured_on")
    return f.build(
        {
            "arxiv_id": f.arxiv_id(paper.get("id")),
            "source": SOURCE,
            "title": f.title(paper.get("title") or top.get("title")),
            "abstract": f.text(paper.get("summary") or top.get("summary"), "abstract"),
            "authors": _authors(paper.get("authors")),
            "published_at": f.datetime_value(paper.get("publishedAt"), "published_at"),
            "featured_on": featured_on,
            "upvotes": f.count(paper.get("upvotes"), "upvotes"),
            "num_comments": f.count(top.get("numComments"), "num_comments"),
            "github_repo": f.text(paper.get("githubRepo"), "github_repo"),
            "github_stars": f.count(paper.get("githubStars"), "github_stars"),
            "project_page": f.text(paper.get("projectPage"), "project_page"),
            "keywords": f.str_list(paper.get("ai_keywords"), "keywords"),
            "ai_summary": f.text(paper.get("ai_summary"), "ai_summary"),
            "thumbnail": f.text(top.get("thumbnail"), "thumbnail"),
            "organization": f.text(org.get("fullname") or org.get("name"), "organization"),
            "organization_id": f.text(org.get("name"), "organization_id"),
            "submitted_by": _person(top.get("submittedBy"), "submitted_by")
            or _person(paper.get("submittedOnDailyBy"), "submitted_by"),
        }
    )


def _entry_id(entry: object) -> object:
    if isinstance(entry, dict) and isinstance(entry.get("paper"), dict):
        return entry["paper"].get("id")
    return None


def parse_daily_payload(
    payload: object, location: str, featured_on: dt.date | None
) -> Iterator[PaperRecord | Rejection]:
    """One day's JSON list. ``featured_on=None`` takes each paper's ``submittedOnDailyAt``."""
    if not isinstance(payload, list):
        yield Rejection(location=location, reason="expected a JSON list of daily entries")
        return
    for n, entry in enumerate(payload, start=1):
        try:
            yield _record(entry, featured_on)
        except f.FieldError as exc:
            yield f.rejection(f"{location}: record {n}", _entry_id(entry), exc)


def _day_of(path: Path) -> dt.date | None:
    try:
        return dt.date.fromisoformat(path.stem)
    except ValueError:
        return None


def read_hf_daily_dir(
    path: Path, since: dt.date | None = None, until: dt.date | None = None
) -> Iterator[PaperRecord | Rejection]:
    """Every ``YYYY-MM-DD.json`` in ``path`` (or that one file), oldest day first."""
    files = [path] if path.is_file() else sorted(path.glob("*.json"))
    for file in files:
        day = _day_of(file)
        if day is None:
            yield Rejection(location=str(file), reason="file name is not YYYY-MM-DD.json")
            continue
        if (since and day < since) or (until and day > until):
            continue
        try:
            payload = json.loads(file.read_bytes())
        except (OSError, ValueError) as exc:
            yield Rejection(location=str(file), reason=f"not valid JSON: {exc}")
            continue
        yield from parse_daily_payload(payload, str(file), day)


def _days(since: dt.date, until: dt.date) -> Iterator[dt.date]:
    day = since
    while day <= until:
        yield day
        day += dt.timedelta(days=1)


def fetch_hf_daily(
    client: httpx.Client,
    api_url: str,
    since: dt.date,
    until: dt.date,
    retries: int = 3,
    sleep: Sleep = time.sleep,
    delay: float = 0.5,
) -> Iterator[PaperRecord | Rejection]:
    """Ask the API for each day in ``since..until``; a 404 day is skipped.

    ``delay`` seconds pass between days so a backfill does not hammer the API.
    """
    for i, day in enumerate(_days(since, until)):
        if i and delay:
            sleep(delay)
        response = get_with_retries(
            client, api_url, {"date": day.isoformat()}, retries, accept=(404,), sleep=sleep
        )
        if response.status_code == 404:
            continue
        location = str(response.url)
        try:
            payload = response.json()
        except ValueError as exc:
            yield Rejection(location=location, reason=f"not valid JSON: {exc}")
            continue
        for item in parse_daily_payload(payload, location, None):
            if isinstance(item, PaperRecord) and item.featured_on is None:
                item.featured_on = day
            yield item
