"""Unit tests for the Jinja filters in ``paperwire.web.formatting``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from paperwire.models.common import safe_url
from paperwire.web import formatting as f

TODAY = dt.date(2026, 11, 23)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2026, 5, 3), "May 3"),
        (dt.date(2023, 9, 27), "Sep 27, 2023"),
        (dt.date(2027, 1, 1), "Jan 1, 2027"),
        (dt.datetime(2026, 12, 31, 23, 59), "Dec 31"),
        (dt.datetime(2025, 6, 9, 17, 59, tzinfo=dt.UTC), "Jun 9, 2025"),
        # an aware datetime is shown as its UTC day
        (dt.datetime(2026, 1, 1, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=5))), "Dec 31, 2025"),
        (None, ""),
    ],
)
def test_short_date_omits_the_current_year(value: dt.date | None, expected: str) -> None:
    assert f.short_date(value, today=TODAY) == expected


def test_short_date_defaults_to_the_real_today() -> None:
    today = dt.datetime.now(dt.UTC).date()
    assert f.short_date(today) == f"{f.MONTHS[today.month - 1][:3]} {today.day}"
    assert f.short_date(today.replace(year=today.year - 1)).endswith(f", {today.year - 1}")


def test_long_date_and_month_name() -> None:
    assert f.long_date(dt.date(2025, 6, 10)) == "Tuesday, June 10, 2025"
    assert f.long_date(None) == ""
    assert f.month_name(dt.date(2025, 6, 17)) == "June 2025"


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (dt.date(2025, 6, 9), dt.date(2025, 6, 15), "Jun 9 – 15, 2025"),
        (dt.date(2025, 6, 30), dt.date(2025, 7, 6), "Jun 30 – Jul 6, 2025"),
        (dt.date(2025, 12, 29), dt.date(2026, 1, 4), "Dec 29, 2025 – Jan 4, 2026"),
        (dt.date(2025, 6, 9), dt.date(2025, 6, 9), "Jun 9, 2025"),
    ],
)
def test_date_range(start: dt.date, end: dt.date, expected: str) -> None:
    assert f.date_range(start, end) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0"),
        (999, "999"),
        (1000, "1k"),
        (1234, "1.2k"),
        (12_345, "12k"),
        (999_999, "1000k"),
        (3_400_000, "3.4M"),
        (-1500, "-1.5k"),
        (None, ""),
    ],
)
def test_compact_number(n: int | None, expected: str) -> None:
    assert f.compact_number(n) == expected


def test_plural() -> None:
    assert f.plural(1, "author") == "1 author"
    assert f.plural(7, "author") == "7 authors"
    assert f.plural(0, "upvote") == "0 upvotes"
    assert f.plural(1200, "paper") == "1,200 papers"
    assert f.plural(2, "child", "children") == "2 children"


@dataclass
class _Card:
    organization: str | None
    author_count: int


def test_byline_prefers_the_organisation() -> None:
    assert f.byline(_Card("NVIDIA", 12)) == "NVIDIA"
    assert f.byline(_Card(None, 4)) == "4 authors"
    assert f.byline(_Card("", 1)) == "1 author"


def test_match_labels_say_what_matched() -> None:
    from paperwire.search.matches import describe_match

    assert describe_match(["keyword", "semantic"], ["video", "diffusion"]) == (
        "words: video, diffusion + meaning"
    )
    assert describe_match(["id", "keyword", "keyword"], []) == "arXiv id + words"
    assert describe_match(["semantic"], ["video"]) == "meaning"
    many = ["a1", "b2", "c3", "d4", "e5", "f6"]
    assert describe_match(["keyword"], many) == "words: a1, b2, c3, d4, e5, …"
    assert describe_match([], []) == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://github.com/openbmb/minicpm", "https://github.com/openbmb/minicpm"),
        ("http://example.org/x?a=1", "http://example.org/x?a=1"),
        (" https://example.org ", "https://example.org"),
        ("javascript:alert(1)", ""),
        ("JavaScript://%0aalert(1)", ""),
        ("data:text/html,<script>", ""),
        ("//evil.example", ""),
        ("https://", ""),
        ("https://exa mple.org", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_external_url_allows_only_http(value: str | None, expected: str) -> None:
    assert safe_url(value) == expected
