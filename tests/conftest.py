"""Shared fixtures: paths to the real data, one factory for isolated apps, PostgreSQL.

Every test app is built through ``make_app`` on a temporary home, so tests never
share a database or index unless a fixture says so.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from paperwire.config import Settings
from tests.browser import chromium

if TYPE_CHECKING:
    from paperwire.core import Paperwire

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
HF_DAILY = SHARED_DATA / "hf-daily-papers"
ARXIV_LISTINGS = SHARED_DATA / "arxiv-listings"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Ingest caches thumbnails from the URLs in the data: tests never reach the internet
# (tests/people turn it on against a loopback server).
os.environ.setdefault("PAPERWIRE_THUMBNAIL_CACHE", "false")

# Which store + index the backend-dependent tests use (`make test` runs both):
#   unset            every variant (SQLite and PostgreSQL stores, every index backend)
#   sqlite-embedded  SQLite + the embedded index only
#   pg-milvus        PostgreSQL + Milvus (a Milvus Lite server) only; `make_app` builds
#                    such apps too
TEST_BACKEND = os.environ.get("PAPERWIRE_TEST_BACKEND", "")
if TEST_BACKEND not in ("", "sqlite-embedded", "pg-milvus"):
    raise ValueError(
        f"PAPERWIRE_TEST_BACKEND={TEST_BACKEND!r}: expected sqlite-embedded or pg-milvus"
    )
# Fixtures that make a test depend on the store/index backend; such tests get the
# `backend` marker, which selects them for the pg-milvus run of `make test`.
BACKEND_FIXTURES = frozenset({"make_app", "database_url", "index_factory"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if BACKEND_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.backend)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not HF_DAILY.is_dir():
        pytest.fail(f"shared data missing: expected {SHARED_DATA} beside the repository")
    return SHARED_DATA


AppFactory = Callable[..., "Paperwire"]


@pytest.fixture
def make_app(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[AppFactory]:
    """Build isolated ``Paperwire`` apps: ``make_app(semantic=False, database_url=...)``.

    With ``PAPERWIRE_TEST_BACKEND=pg-milvus`` each home gets its own fresh PostgreSQL
    database and its own collection on the session's Milvus server (unless the test passes
    its own); ``backend_env`` gives a child process the same."""
    from paperwire.core import Paperwire

    apps: list[Paperwire] = []
    databases: dict[Path, str] = {}
    collections: dict[Path, str] = {}

    def factory(**overrides: Any) -> Paperwire:
        home = Path(overrides.pop("home", tmp_path / f"home{len(apps)}"))
        if TEST_BACKEND == "pg-milvus":
            if "database_url" not in overrides:
                if home not in databases:
                    databases[home] = _create_database(request.getfixturevalue("postgres_server"))
                overrides["database_url"] = databases[home]
            overrides.setdefault("index", "milvus")
            if overrides["index"] == "milvus" and "milvus_uri" not in overrides:
                overrides["milvus_uri"] = request.getfixturevalue("milvus_server")
                collections.setdefault(home, new_milvus_collection())
                overrides.setdefault("milvus_collection", collections[home])
        pw = Paperwire(Settings(home=home, **overrides))
        apps.append(pw)
        return pw

    yield factory
    for pw in apps:
        pw.close()
    for url in databases.values():
        _drop_database(url)
    if collections:
        drop_milvus_collections(request.getfixturevalue("milvus_server"), collections.values())


def backend_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process (or a CLI run) ``settings``' store and
    index: database URL, index backend, Milvus server and collection."""
    return {
        "PAPERWIRE_DATABASE_URL": settings.db_url,
        "PAPERWIRE_INDEX": settings.index,
        "PAPERWIRE_MILVUS_URI": settings.milvus_uri or "",
        "PAPERWIRE_MILVUS_COLLECTION": settings.milvus_collection,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    return candidates[0].parent if candidates else None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real, throwaway PostgreSQL cluster; yields a base URL without database name.

    ``PAPERWIRE_TEST_POSTGRES_URL`` points at an existing server instead.
    """
    url = os.environ.get("PAPERWIRE_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    bindir = _pg_bin()
    if bindir is None:
        pytest.fail("PostgreSQL binaries not found (install postgresql; see README)")
    root = Path(tempfile.mkdtemp(prefix="paperwire-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        capture_output=True,
    )
    opts = f"-c listen_addresses='' -c unix_socket_directories={sock} -p {port} -c fsync=off"
    subprocess.run(
        [
            *prefix,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-w",
            "-l",
            str(root / "log"),
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@/{{db}}?host={sock}&port={port}"
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def milvus_server() -> Iterator[str]:
    """One Milvus Lite server (milvus-lite 2.5: the engine a Milvus cluster runs, as one
    local process) for the test session; yields its ``http://`` URI. Tests use their own
    collections (``new_milvus_collection``), as paperwire does on a cluster.

    ``PAPERWIRE_TEST_MILVUS_URI`` points at an existing server (e.g. a cluster) instead.
    """
    url = os.environ.get("PAPERWIRE_TEST_MILVUS_URI")
    if url:
        yield url
        return
    from paperwire.index.milvus import LiteServer

    root = Path(tempfile.mkdtemp(prefix="paperwire-milvus-"))
    server = LiteServer(root / "milvus.db", _free_port())
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


_milvus_serial = iter(range(1, 1 << 62))


def new_milvus_collection() -> str:
    """A collection name no other test (or xdist worker) of this run uses."""
    return f"test_{os.getpid()}_{next(_milvus_serial)}"


def drop_milvus_collections(uri: str, names: Iterable[str]) -> None:
    from pymilvus import MilvusClient

    from paperwire.index.milvus import GRPC_OPTIONS

    client = MilvusClient(uri, grpc_options=GRPC_OPTIONS)
    try:
        for name in names:
            client.drop_collection(name)
    finally:
        client.close()


_db_serial = iter(range(1, 1 << 62))


def _admin_url(url: str) -> tuple[str, str]:
    """(libpq URL of the server's ``postgres`` database, database name) for ``url``."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), str(parsed.database)


def _create_database(postgres_server: str) -> str:
    """A fresh, empty database on the test server; its SQLAlchemy URL."""
    import psycopg

    name = f"pw_{int(time.time() * 1e6)}_{next(_db_serial)}"
    url = postgres_server.format(db=name)
    admin, _ = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url


def _drop_database(url: str) -> None:
    import psycopg

    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the test server for one test."""
    url = _create_database(postgres_server)
    yield url
    _drop_database(url)


_STORES = {"sqlite-embedded": ["sqlite"], "pg-milvus": ["postgresql"]}


@pytest.fixture(params=_STORES.get(TEST_BACKEND, ["sqlite", "postgresql"]))
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Parametrises a test over both stores."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_url"))


class SmtpSink:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives: parsed
    (``messages``) and the bytes as they came over the wire (``raw``, same order)."""

    def __init__(self, delay: float = 0.0) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        self.raw: list[bytes] = []
        self.delay = delay  # seconds the server takes to accept each message
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                import asyncio
                from email import message_from_bytes, policy

                if sink.delay:
                    await asyncio.sleep(sink.delay)
                raw = envelope.original_content or envelope.content
                msg = message_from_bytes(raw, policy=policy.default)
                sink.raw.append(raw)
                sink.messages.append(msg)
                return "250 OK"

        self.port = _free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    """A fresh loopback SMTP server; point ``Settings(smtp_port=smtp_server.port)`` at it."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module (``tests/browser.py`` says how it is driven)."""
    with chromium() as b:
        yield b
