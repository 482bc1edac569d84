"""Community tests: a real app on a temporary home with a small crafted corpus.

``make_env`` builds it through the shared ``make_app`` factory (real SQLite, real index);
argon2 runs with small parameters so sign-ups take milliseconds. ``Person`` drives one
browser-like client (own cookie jar) through the real forms, CSRF tokens included.
``LiveServer`` runs the app under uvicorn on loopback; ``ArxivServer`` serves the
recorded arXiv API responses in ``tests/fixtures/arxiv`` from a real local HTTP server.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, urlsplit

import httpx
import lxml.html
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from paperwire.core import Paperwire
from paperwire.models.papers import PaperRecord
from paperwire.services.community import Community, community_of
from paperwire.services.ingest import ingest_records
from paperwire.web import create_app
from tests.conftest import AppFactory, _free_port

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "arxiv"
# The day the corpus below is dated from, read once when the tests are collected. The
# code under test reads the wall clock on every request, and a run may cross midnight
# between the two (CI did, on 2026-12-05), so keep every day below at least a day inside
# or outside each window a test reads: the alert feeds' 30 days, trending's 14, a
# digest's 7. Shifting TODAY back one day here re-creates a crossed midnight.
TODAY = dt.datetime.now(dt.UTC).date()
OLD_DAY = dt.date(2025, 6, 10)
PASSWORD = "correct horse battery"

FAST = {
    "semantic": False,
    "argon2_time_cost": 1,
    "argon2_memory_kib": 1024,
    "argon2_parallelism": 1,
    "rate_login_per_minute": 1000,
    "rate_signup_per_hour": 1000,
    "rate_reset_per_hour": 1000,
    "rate_votes_per_minute": 10_000,
    "rate_submissions_per_hour": 1000,
}

# arXiv ids of the crafted corpus
HOT = "2511.00001"  # featured today, few upvotes
WARM = "2511.00002"  # featured two days ago
COLD = "2511.00003"  # featured ten days ago, many upvotes
ANCIENT = "2511.00004"  # featured long ago: outside the trending window
LAB_TOP = "2511.00005"  # Paperwire Lab, most upvoted of the lab, four weeks old
EXISTING = "2506.08007"  # a real HF daily paper, featured on OLD_DAY only
TWIN = "2511.00006"  # not in the corpus: ``hot_twin`` adds it


def hot_twin(featured_on: dt.date) -> PaperRecord:
    """A near-twin of HOT (its similar papers start with HOT), featured on a given day."""
    return PaperRecord(
        arxiv_id=TWIN,
        source="hf-daily",
        title="Hot takes on sparse attention, revisited",
        abstract="Hot takes on sparse attention revisited: sparse attention, hot takes.",
        authors=["Ada Lovelace"],
        featured_on=featured_on,
        upvotes=3,
    )


def corpus() -> list[PaperRecord]:
    def rec(aid: str, title: str, day: dt.date, upvotes: int, **kw: Any) -> PaperRecord:
        base: dict[str, Any] = {
            "abstract": f"{title}. A crafted abstract about {title.lower()} for tests.",
            "authors": ["Ada Lovelace", "Grace Hopper"],
            "categories": ["cs.CL"],
            "published_at": dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC),
        }
        base.update(kw)
        return PaperRecord(
            arxiv_id=aid, source="hf-daily", title=title, featured_on=day, upvotes=upvotes, **base
        )

    return [
        rec(HOT, "Hot takes on sparse attention", TODAY, 10),
        rec(WARM, "Warm starts for diffusion samplers", TODAY - dt.timedelta(days=2), 20),
        rec(
            COLD,
            "Cold storage of retrieval indexes",
            TODAY - dt.timedelta(days=10),
            100,
            organization="Paperwire Lab",
            organization_id="paperwire-lab",
        ),
        rec(ANCIENT, "Ancient history of perceptrons", TODAY - dt.timedelta(days=40), 1000),
        rec(
            LAB_TOP,
            "Laboratory notes on tokenizer drift",
            TODAY - dt.timedelta(days=28),
            500,
            organization="Paperwire Lab",
            organization_id="paperwire-lab",
            authors=["Grace Hopper", "Émile Borel"],
        ),
        rec(
            EXISTING,
            "Reinforcement Pre-Training",
            OLD_DAY,
            130,
            authors=["Qingxiu Dong", "Li Dong"],
        ),
    ]


@dataclass
class Env:
    pw: Paperwire
    app: FastAPI
    comm: Community

    def client(self) -> TestClient:
        return TestClient(self.app)

    def person(self) -> Person:
        return Person(TestClient(self.app))

    def account(self, email: str, name: str, *, admin: bool = False) -> Person:
        """A signed-up, logged-in person (through the real forms)."""
        p = self.person()
        r = p.signup(email, name)
        assert r.status_code == 303, r.text
        if admin:
            account = self.comm.users.by_email(email)
            assert account is not None
            self.comm.users.set_admin(account.id, True)
        return p


def make_env(make_app: AppFactory, **overrides: Any) -> Env:
    pw = make_app(**{**FAST, **overrides})
    summary = ingest_records(pw, corpus(), "hf-daily")
    assert summary.added == len(corpus()), summary
    return Env(pw=pw, app=create_app(pw), comm=community_of(pw))


@pytest.fixture
def env(make_app: AppFactory) -> Env:
    return make_env(make_app)


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class Person:
    """One visitor with their own cookie jar, using the HTML forms like a browser."""

    def __init__(self, client: TestClient) -> None:
        self.c = client

    def csrf(self, path: str = "/login") -> str:
        r = self.c.get(path)
        m = CSRF_RE.search(r.text)
        assert m, f"no CSRF token on {path}"
        return m.group(1)

    def post(self, path: str, data: dict[str, str], *, token_from: str = "/") -> httpx.Response:
        return self.c.post(
            path, data={**data, "csrf_token": self.csrf(token_from)}, follow_redirects=False
        )

    def signup(self, email: str, name: str, password: str = PASSWORD) -> httpx.Response:
        data = {"email": email, "display_name": name, "password": password}
        return self.post("/signup", data, token_from="/signup")

    def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return self.post("/login", {"email": email, "password": password}, token_from="/login")

    def api_token(self) -> str:
        return str(self.c.get("/api/me").json()["csrf_token"])

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"X-CSRF-Token": self.api_token(), **kw.pop("headers", {})}
        return self.c.request(method, path, headers=headers, **kw)

    def me(self) -> dict[str, Any] | None:
        user: dict[str, Any] | None = self.c.get("/api/me").json()["user"]
        return user


def html(text: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(text)


def text_of(doc: lxml.html.HtmlElement) -> str:
    return " ".join(doc.text_content().split())


class LiveServer:
    """The app under uvicorn on a free loopback port, in a thread."""

    def __init__(self, app: FastAPI) -> None:
        self.port = _free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class LoopbackServer:
    """A real HTTP server on a free loopback port, in a thread: ``answer(path)`` says what
    each GET gets (status, content type, body); ``requests`` lists the paths asked."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                sink.requests.append(self.path)
                status, kind, body = sink.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, path: str) -> tuple[int, str, bytes]:
        raise NotImplementedError

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ArxivServer(LoopbackServer):
    """Serves the recorded arXiv API responses: ``id_list`` decides which file answers."""

    ROUTES: ClassVar[dict[str, tuple[str, int]]] = {
        "2506.00637": ("api_id_list.xml", 200),  # real metadata (+ two other entries)
        "2506.00483": ("api_id_list.xml", 200),
        "2506.99999": ("api_empty.xml", 200),  # no such paper: an empty feed
        "2406.07500": ("api_error.xml", 400),  # arXiv's error feed (incorrect id format)
    }

    def answer(self, path: str) -> tuple[int, str, bytes]:
        ids = parse_qs(urlsplit(path).query).get("id_list", [""])[0].split(",")
        name, status = self.ROUTES.get(ids[0], ("api_empty.xml", 200))
        return status, "application/atom+xml; charset=utf-8", (FIXTURES / name).read_bytes()

    @property
    def url(self) -> str:
        return self.root + "/api/query"


@pytest.fixture
def arxiv_server() -> Iterator[ArxivServer]:
    with ArxivServer() as server:
        yield server
