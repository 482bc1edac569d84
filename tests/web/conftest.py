"""One factory for the web tests: a real app on a temporary home with a real corpus.

``build_web_env`` ingests five days of the Hugging Face daily feed (2025-06-09 … 13)
plus three hand-written records: one whose abstract holds markup (XSS checks), one
with an organisation and code (filter checks; both featured on 2025-05-28, a week and
a month earlier, so prev/next navigation has somewhere to go) and one old-style id.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.models.papers import PaperRecord
from paperwire.services.ingest import ingest_records
from paperwire.sources.hf_daily import read_hf_daily_dir
from paperwire.web import create_app

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
HF_DAILY = SHARED_DATA / "hf-daily-papers"
FIRST_DAY = dt.date(2025, 6, 9)
LAST_DAY = dt.date(2025, 6, 13)
EXTRA_DAY = dt.date(2025, 5, 28)

XSS_ID = "2505.99001"
ORG_ID = "2505.99002"
OLD_ID = "hep-th/9901001"
XSS_ABSTRACT = (
    "We study how paper pages render untrusted text such as <script>alert(1)</script> "
    'and <img src=x onerror="alert(2)"> inside abstracts, and why sanitising markup '
    "at render time beats cleaning it at ingest."
)


def extra_records() -> list[PaperRecord]:
    return [
        PaperRecord(
            arxiv_id=XSS_ID,
            source="hf-daily",
            title="Sanitising untrusted markup <b>in</b> scholarly abstracts",
            abstract=XSS_ABSTRACT,
            authors=["Ada Example", "Bo Tester"],
            categories=["cs.CR"],
            published_at=dt.datetime(2025, 5, 27, 12, tzinfo=dt.UTC),
            featured_on=EXTRA_DAY,
            upvotes=3,
            project_page="javascript:alert(4)",
        ),
        PaperRecord(
            arxiv_id=ORG_ID,
            source="hf-daily",
            title="Hybrid retrieval for research paper discovery",
            abstract="We combine BM25 keyword retrieval with dense sentence embeddings "
            "through reciprocal rank fusion to rank research papers for discovery.",
            authors=["Carla Sample"],
            categories=["cs.IR", "cs.CL"],
            organization="Paperwire Lab",
            organization_id="paperwire-lab",
            published_at=dt.datetime(2025, 5, 26, 9, tzinfo=dt.UTC),
            featured_on=EXTRA_DAY,
            upvotes=12,
            num_comments=2,
            github_repo="https://github.com/example/hybrid-retrieval",
            github_stars=1234,
            project_page="https://example.org/hybrid-retrieval",
            keywords=["reciprocal rank fusion", "dense retrieval"],
            comment="10 pages, 3 figures",
        ),
        PaperRecord(
            arxiv_id=OLD_ID,
            source="hf-daily",
            title="Branes, dualities and an old-style identifier",
            abstract="A test record with an old-style arXiv identifier from 1999.",
            authors=["Dana Physicist"],
            categories=["hep-th"],
            published_at=dt.datetime(1999, 1, 4, tzinfo=dt.UTC),
        ),
    ]


@dataclass
class WebEnv:
    pw: Paperwire
    app: FastAPI
    client: TestClient
    raw: dict[dt.date, list[dict[str, Any]]]
    """The HF JSON entries per featured day, exactly as in the shared files."""

    def raw_papers(self) -> dict[str, dict[str, Any]]:
        return {e["paper"]["id"]: e["paper"] for day in self.raw.values() for e in day}


def build_web_env(home: Path) -> WebEnv:
    """The one way the web tests get an app: settings → Paperwire → ingest → app."""
    if not HF_DAILY.is_dir():
        pytest.fail(f"shared data missing: expected {HF_DAILY} beside the repository")
    pw = Paperwire(Settings(home=home, semantic=False))
    summary = ingest_records(pw, read_hf_daily_dir(HF_DAILY, FIRST_DAY, LAST_DAY), "hf-daily")
    assert summary.rejected == 0, summary.rejections
    extra = ingest_records(pw, extra_records(), "hf-daily")
    assert extra.added == 3, extra
    raw = {}
    day = FIRST_DAY
    while day <= LAST_DAY:
        path = HF_DAILY / f"{day.isoformat()}.json"
        if path.exists():
            raw[day] = json.loads(path.read_text())
        day += dt.timedelta(days=1)
    app = create_app(pw)
    return WebEnv(pw=pw, app=app, client=TestClient(app), raw=raw)


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebEnv]:
    env = build_web_env(tmp_path_factory.mktemp("web-home"))
    with env.client:
        yield env
    env.pw.close()


@pytest.fixture(scope="module")
def client(web: WebEnv) -> TestClient:
    return web.client


def html(text: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(text)


def texts(doc: lxml.html.HtmlElement, xpath: str) -> list[str]:
    return [" ".join(el.text_content().split()) for el in doc.xpath(xpath)]


def card_titles(doc: lxml.html.HtmlElement) -> list[str]:
    return texts(doc, "//article[contains(@class,'card')]//*[contains(@class,'card-title')]")


def card_upvotes(doc: lxml.html.HtmlElement) -> list[int]:
    labels = texts(
        doc,
        "//article[contains(@class,'card')]//div[contains(@class,'upvote-box')]"
        "/span[contains(@class,'visually-hidden')]",
    )
    return [int(label.split()[0].replace(",", "")) for label in labels]


def alternate_json(doc: lxml.html.HtmlElement) -> str:
    hrefs = doc.xpath("//link[@rel='alternate'][@type='application/json']/@href")
    assert len(hrefs) == 1, hrefs
    return str(hrefs[0])
