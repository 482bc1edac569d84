"""For-you tests: a real app with real embeddings over real arXiv listings.

``topic_corpus`` picks papers of three distinct topics from the shared arXiv listings
(titles naming diffusion models, speech, robots), so "papers like the ones you liked" has
a right answer a test can check. Apps embed them with the bundled model (``semantic``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from paperwire.models.papers import PaperRecord
from paperwire.services.community import community_of
from paperwire.services.ingest import ingest_records
from paperwire.sources.arxiv_listings import read_arxiv_listings
from paperwire.web import create_app
from tests.community.conftest import FAST, Env
from tests.conftest import ARXIV_LISTINGS, AppFactory

TOPICS = {"diffusion": "diffusion model", "speech": "speech", "robot": "robot"}
PER_TOPIC = 8


@dataclass
class TopicCorpus:
    records: list[PaperRecord]
    by_topic: dict[str, list[str]]

    def topic_of(self, arxiv_id: str) -> str:
        return next(t for t, ids in self.by_topic.items() if arxiv_id in ids)


def _topic_corpus() -> TopicCorpus:
    by_topic: dict[str, list[str]] = {t: [] for t in TOPICS}
    records: list[PaperRecord] = []
    for rec in read_arxiv_listings(ARXIV_LISTINGS / "2025-05.jsonl.gz"):
        if not isinstance(rec, PaperRecord):
            continue
        title = rec.title.lower()
        hits = [t for t, words in TOPICS.items() if words in title]
        if len(hits) != 1 or len(by_topic[hits[0]]) >= PER_TOPIC:
            continue
        by_topic[hits[0]].append(rec.arxiv_id)
        records.append(rec)
        if all(len(v) >= PER_TOPIC for v in by_topic.values()):
            break
    return TopicCorpus(records, by_topic)


@pytest.fixture(scope="session")
def topic_corpus() -> TopicCorpus:
    return _topic_corpus()


def make_topic_env(make_app: AppFactory, corpus: TopicCorpus, **overrides: Any) -> Env:
    from paperwire.jobs.embed import embed_backlog

    pw = make_app(**{**FAST, "semantic": True, **overrides})
    ingest_records(pw, corpus.records, "arxiv-listings")
    embed_backlog(pw)
    return Env(pw=pw, app=create_app(pw), comm=community_of(pw))


@pytest.fixture
def topic_env(make_app: AppFactory, topic_corpus: TopicCorpus) -> Env:
    return make_topic_env(make_app, topic_corpus)
