"""Data tests: a real app holding a few days of the real HF daily feed (with organisations,
code links, AI summaries and keywords) plus one arXiv listing month's first papers."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from paperwire.core import Paperwire
from paperwire.services.ingest import ingest_records
from paperwire.sources.arxiv_listings import read_arxiv_listings
from paperwire.sources.hf_daily import read_hf_daily_dir
from tests.conftest import ARXIV_LISTINGS, HF_DAILY, AppFactory

DAYS = (dt.date(2025, 6, 9), dt.date(2025, 6, 13))  # five feed days, ~200 papers
LISTING = ARXIV_LISTINGS / "2025-06.jsonl.gz"


def fill(pw: Paperwire, listing_rows: int = 150) -> None:
    """The feed days, then the first rows of a listing month (some overlap the feed)."""
    ingest_records(pw, read_hf_daily_dir(HF_DAILY, *DAYS), "hf-daily")
    rows = itertools.islice(read_arxiv_listings(LISTING), listing_rows)
    ingest_records(pw, rows, "arxiv-listings")


@pytest.fixture
def filled(make_app: AppFactory, shared_data: object) -> Paperwire:
    pw = make_app(semantic=False)
    fill(pw)
    return pw
