"""Normalisation shared by every importer: arXiv ids and dates (whitespace is the
records' own: ``models.common.clean_text``)."""

from __future__ import annotations

import datetime as dt
import re

# New-style ids (0704.0001 … 2406.07522: YYMM, then 4 or 5 digits) and old-style ids
# (hep-th/9901001, math.AG/0601001: archive[.SUBJECT]/YYMMNNN), each with an optional
# version suffix. MM is a month (01–12) in both.
_MONTH = r"(?:0[1-9]|1[0-2])"
_NEW_ID = re.compile(rf"^(\d\d{_MONTH}\.\d{{4,5}})(v\d+)?$")
_OLD_ID = re.compile(rf"^(([a-z\-]+)(?:\.[A-Z]{{2}})?/\d\d{_MONTH}\d{{3}})(v\d+)?$")
# The archives that had old-style ids (arXiv's identifier documentation); any other name
# before the slash is not an arXiv id.
OLD_ARCHIVES = frozenset(
    {
        "acc-phys", "adap-org", "alg-geom", "ao-sci", "astro-ph", "atom-ph", "bayes-an",
        "chao-dyn", "chem-ph", "cmp-lg", "comp-gas", "cond-mat", "cs", "dg-ga", "funct-an",
        "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math", "math-ph", "mtrl-th",
        "nlin", "nucl-ex", "nucl-th", "patt-sol", "physics", "plasm-ph", "q-alg", "q-bio",
        "quant-ph", "solv-int", "supr-con",
    }
)  # fmt: skip
_URL_PREFIX = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/", re.IGNORECASE
)
_ARXIV_PREFIX = re.compile(r"^arxiv:", re.IGNORECASE)


class InvalidArxivId(ValueError):  # noqa: N818 - reads best at call sites
    """Raised for strings that are not arXiv identifiers."""


def normalize_arxiv_id(raw: str) -> str:
    """Return the versionless arXiv id: ``2406.07522v1`` → ``2406.07522``.

    Accepts bare ids, ``arXiv:`` prefixes and abs/pdf URLs; keeps old-style ids
    like ``hep-th/9901001`` (of the known ``OLD_ARCHIVES`` only). The month must be
    01–12. Raises ``InvalidArxivId`` for anything else.
    """
    s = raw.strip()
    s = _URL_PREFIX.sub("", s)
    s = _ARXIV_PREFIX.sub("", s)
    s = s.removesuffix(".pdf").strip("/")
    m = _NEW_ID.match(s)
    if m:
        return m.group(1)
    m = _OLD_ID.match(s)
    if m and m.group(2) in OLD_ARCHIVES:
        return m.group(1)
    raise InvalidArxivId(f"not an arXiv id: {raw!r}")


def looks_like_arxiv_id(text: str) -> bool:
    try:
        normalize_arxiv_id(text)
    except InvalidArxivId:
        return False
    return True


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
