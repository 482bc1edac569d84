"""The shared normalisers every importer relies on."""

from __future__ import annotations

import datetime as dt

import pytest

from paperwire.models.common import clean_text
from paperwire.sources import arxiv_api, arxiv_listings, hf_daily, table
from paperwire.sources.normalize import (
    InvalidArxivId,
    normalize_arxiv_id,
    parse_date,
    parse_datetime,
)
from paperwire.sources.registry import SOURCE_NAMES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2406.07522v1", "2406.07522"),
        ("arXiv:2406.07522", "2406.07522"),
        ("https://arxiv.org/abs/2406.07522v2", "2406.07522"),
        ("https://arxiv.org/pdf/2406.07522v2.pdf", "2406.07522"),
        ("http://export.arxiv.org/abs/0704.0001", "0704.0001"),
        ("  2406.07522  ", "2406.07522"),
        ("hep-th/9901001v3", "hep-th/9901001"),
        ("math.AG/0601001", "math.AG/0601001"),
        ("http://arxiv.org/abs/hep-th/9901001v2", "hep-th/9901001"),
    ],
)
def test_normalize_arxiv_id(raw, expected):
    assert normalize_arxiv_id(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        *("", "2406.075", "2406.075221", "24060.7522", "hep-th/990100", "attention is all", "v1"),
        # months are 01-12 (new- and old-style); old-style archives are a known list
        *("2513.00001", "2500.00001", "1399.1234", "hep-th/9913001", "hep-th/9900001"),
        *("abc/1234567", "javascript/9901001", "x.AB/0601001"),
    ],
)
def test_invalid_arxiv_ids(raw):
    with pytest.raises(InvalidArxivId):
        normalize_arxiv_id(raw)


def test_clean_text_joins_hard_breaks_and_keeps_latex():
    wrapped = (
        "  We bound the error by $O(\\sqrt{n})$ and\n"
        "show that $\\alpha$-stable\n  processes\tconverge.\n"
    )
    assert clean_text(wrapped) == (
        "We bound the error by $O(\\sqrt{n})$ and show that $\\alpha$-stable processes converge."
    )
    assert clean_text("   \n ") is None
    assert clean_text(None) is None


def test_dates():
    assert parse_datetime("2025-06-09T17:59:53.000Z") == dt.datetime(
        2025, 6, 9, 17, 59, 53, tzinfo=dt.UTC
    )
    assert parse_datetime("2025-06-03") == dt.datetime(2025, 6, 3, tzinfo=dt.UTC)
    assert parse_date("2025-06-10T00:43:01.816Z") == dt.date(2025, 6, 10)


def test_registry_names_match_importers():
    assert SOURCE_NAMES == (hf_daily.SOURCE, arxiv_listings.SOURCE, arxiv_api.SOURCE, table.SOURCE)
