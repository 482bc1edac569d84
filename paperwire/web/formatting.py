"""Jinja filters: how dates, counts and author lines read on a page.

Dates follow the anchor product: the year is left out for the current year
("May 3"), kept otherwise ("Sep 27, 2023"). Month names are fixed English so a
server's locale never changes the page.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from paperwire.models.common import safe_url
from paperwire.models.search import SearchHit
from paperwire.search.matches import describe_match

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.date()
    return value


def today_utc() -> dt.date:
    """The day dates are shown against (``short_date`` leaves out its year)."""
    return dt.datetime.now(dt.UTC).date()


def short_date(value: dt.date | dt.datetime | None, today: dt.date | None = None) -> str:
    """``May 3`` in the current year, ``Sep 27, 2023`` otherwise; ``""`` for None."""
    if value is None:
        return ""
    d = _as_date(value)
    today = today or today_utc()
    text = f"{MONTHS[d.month - 1][:3]} {d.day}"
    return text if d.year == today.year else f"{text}, {d.year}"


def long_date(value: dt.date | dt.datetime | None) -> str:
    """``Tuesday, June 10, 2025`` (headings, where the year always helps)."""
    if value is None:
        return ""
    d = _as_date(value)
    return f"{WEEKDAYS[d.weekday()]}, {MONTHS[d.month - 1]} {d.day}, {d.year}"


def month_name(value: dt.date) -> str:
    """``June 2025``."""
    return f"{MONTHS[value.month - 1]} {value.year}"


def date_range(start: dt.date, end: dt.date) -> str:
    """``Jun 9 – 15, 2025``, ``Jun 30 – Jul 6, 2025`` or ``Dec 29, 2025 – Jan 4, 2026``."""
    first = f"{MONTHS[start.month - 1][:3]} {start.day}"
    if start == end:
        return f"{first}, {start.year}"
    if start.year != end.year:
        return f"{first}, {start.year} – {MONTHS[end.month - 1][:3]} {end.day}, {end.year}"
    if start.month != end.month:
        return f"{first} – {MONTHS[end.month - 1][:3]} {end.day}, {end.year}"
    return f"{first} – {end.day}, {end.year}"


def compact_number(value: int | None) -> str:
    """``950``, ``1.2k``, ``12k``, ``3.4M`` (GitHub stars, big upvote counts)."""
    if value is None:
        return ""
    n = int(value)
    sign = "-" if n < 0 else ""
    n = abs(n)
    for limit, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= limit:
            scaled = n / limit
            text = f"{scaled:.1f}" if scaled < 10 else f"{scaled:.0f}"
            return f"{sign}{text.removesuffix('.0')}{suffix}"
    return f"{sign}{n}"


def plural(
    count: int, singular: str, plural_form: str | None = None, at_least: bool = False
) -> str:
    """``1 author``, ``7 authors``; ``4,120+ results`` when ``count`` is a lower bound
    (``at_least``: a search's ``total_relation`` ``gte``)."""
    word = singular if count == 1 and not at_least else (plural_form or f"{singular}s")
    return f"{count:,}{'+' if at_least else ''} {word}"


class _HasAuthors(Protocol):
    @property
    def organization(self) -> str | None: ...

    @property
    def author_count(self) -> int: ...


def byline(card: _HasAuthors) -> str:
    """What a card shows about who wrote it: the organisation, else ``N authors``."""
    if card.organization:
        return card.organization
    return plural(card.author_count, "author")


def quoted(text: str) -> str:
    """A query as a heading quotes it: ``“diffusion”``; a query that holds its own quotes
    (``"test-time scaling" author:"Furu Wei"``) is shown as typed, not quoted twice."""
    return text if '"' in text else f"“{text}”"


def match_label(hit: SearchHit) -> str:
    """``words: video, diffusion + meaning``: why a search result matched."""
    return describe_match(hit.matched_by, hit.matched_terms)


FILTERS = {
    "short_date": short_date,
    "long_date": long_date,
    "month_name": month_name,
    "compact_number": compact_number,
    "plural": plural,
    "byline": byline,
    "match_label": match_label,
    "external_url": safe_url,
    "quoted": quoted,
}
