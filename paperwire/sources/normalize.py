"""Normalisation shared by every importer: arXiv ids, whitespace, dates."""

from __future__ import annotations

import datetime as dt
import re

# New-style ids (0704.0001 … 2406.07522, 4 or 5 digits after the dot) and old-style
# ids (hep-th/9901001, math.AG/0601001), each with an optional version suffix.
_NEW_ID = re.compile(r"^(\d{4}\.\d{4,5})(v\d+)?$")
_OLD_ID = re.compile(r"^([a-z\-]+(?:\.[A-Z]{2})?/\d{7})(v\d+)?$")
_URL_PREFIX = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/", re.IGNORECASE
)
_ARXIV_PREFIX = re.compile(r"^arxiv:", re.IGNORECASE)
_WS = re.compile(r"\s+")


class InvalidArxivId(ValueError):  # noqa: N818 - reads best at call sites
    """Raised for strings that are not arXiv identifiers."""


def normalize_arxiv_id(raw: str) -> str:
    """Return the versionless arXiv id: ``2406.07522v1`` → ``2406.07522``.

    Accepts bare ids, ``arXiv:`` prefixes and abs/pdf URLs; keeps old-style ids
    like ``hep-th/9901001``. Raises ``InvalidArxivId`` for anything else.
    """
    s = raw.strip()
    s = _URL_PREFIX.sub("", s)
    s = _ARXIV_PREFIX.sub("", s)
    s = s.removesuffix(".pdf").strip("/")
    m = _NEW_ID.match(s) or _OLD_ID.match(s)
    if not m:
        raise InvalidArxivId(f"not an arXiv id: {raw!r}")
    return m.group(1)


def looks_like_arxiv_id(text: str) -> bool:
    try:
        normalize_arxiv_id(text)
    except InvalidArxivId:
        return False
    return True


def clean_text(text: str | None) -> str | None:
    """Join hard line breaks and collapse whitespace; LaTeX is kept as written."""
    if text is None:
        return None
    out = _WS.sub(" ", text).strip()
    return out or None


def parse_datetime(value: object) -> dt.datetime | None:
    """Parse ISO-8601 strings (``Z`` suffix, date-only) into aware UTC datetimes."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        d = value
    elif isinstance(value, dt.date):
        d = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        s = value.strip().replace("Z", "+00:00")
        d = dt.datetime.fromisoformat(s)
    else:
        raise ValueError(f"not a date: {value!r}")
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.UTC)
    return d.astimezone(dt.UTC)


def parse_date(value: object) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    d = parse_datetime(value)
    return d.date() if d else None
