"""A running server sees papers that another process ingested, without a restart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.models.search import SearchMode, SearchRequest
from paperwire.services.ingest import ingest_records
from paperwire.sources.hf_daily import read_hf_daily_dir
from tests.conftest import HF_DAILY


def test_search_picks_up_another_writers_commits(tmp_path: Path) -> None:
    server = Paperwire(Settings(home=tmp_path, semantic=False))
    server.search.refresh_interval = 0.0
    req = SearchRequest(q="Reinforcement Pre-Training", mode=SearchMode.keyword)
    assert server.search.search(req).hits == []

    cron = Paperwire(Settings(home=tmp_path, semantic=False))
    day = dt.date(2025, 6, 10)
    summary = ingest_records(cron, read_hf_daily_dir(HF_DAILY, day, day), "hf-daily")
    assert summary.added == 36
    cron.close()

    hits = server.search.search(req).hits
    assert hits and hits[0].paper.arxiv_id == "2506.08007"
    assert server.status().keyword_documents == 36
    server.close()


def test_status_counts_another_writers_commits_before_any_search(tmp_path: Path) -> None:
    server = Paperwire(Settings(home=tmp_path, semantic=False))
    assert server.status().keyword_documents == 0  # opens the index before the ingest

    cron = Paperwire(Settings(home=tmp_path, semantic=False))
    day = dt.date(2025, 6, 10)
    assert ingest_records(cron, read_hf_daily_dir(HF_DAILY, day, day), "hf-daily").added == 36
    cron.close()

    status = server.status()  # no search in between
    assert status.papers == 36 and status.keyword_documents == 36
    server.close()
