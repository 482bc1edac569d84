"""Run ``paperwire`` commands in child processes on a test app's store and index: start
them, signal them at a seeded point of their progress, and read ``paperwire doctor``.

A child gets the app's settings through the environment (database URL, index backend
and its location), so on ``PAPERWIRE_TEST_BACKEND=pg-milvus`` it writes the same
PostgreSQL database and Milvus collection as the test's own ``Paperwire``.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from paperwire.config import Settings
from paperwire.core import Paperwire
from tests.conftest import ARXIV_LISTINGS, REPO


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that gives a child process ``settings``' store and index.

    Skips the test when that index cannot be shared by processes: a Milvus Lite data
    file (milvus-lite 3.x opens it in one process only); a Milvus server URI can."""
    if settings.index == "milvus" and settings.milvus_target.endswith(".db"):
        pytest.skip(
            "a Milvus Lite file serves one process; several writers need a Milvus server "
            "(the test session's Milvus Lite server, or PAPERWIRE_MILVUS_URI)"
        )
    return settings_env(settings, **extra)


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """``settings`` as ``PAPERWIRE_*`` environment variables (for a CLI run)."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "COLUMNS": "200",
        "PAPERWIRE_HOME": str(settings.home),
        "PAPERWIRE_DATABASE_URL": settings.db_url,
        "PAPERWIRE_INDEX": settings.index,
        "PAPERWIRE_MILVUS_COLLECTION": settings.milvus_collection,
        "PAPERWIRE_SEMANTIC": "true" if settings.semantic else "false",
        **extra,
    }
    if settings.milvus_uri:
        env["PAPERWIRE_MILVUS_URI"] = settings.milvus_uri
    return env


def write_table(path: Path, count: int, skip: int = 0) -> list[str]:
    """A JSON-lines table of ``count`` distinct real arXiv papers (the listing's rows
    after the first ``skip`` distinct ones); their ids, in order."""
    ids: dict[str, None] = {}
    skipped: set[str] = set()
    with path.open("w", encoding="utf-8") as out:
        for listing in sorted(ARXIV_LISTINGS.glob("*.jsonl.gz")):
            with gzip.open(listing, "rt", encoding="utf-8") as src:
                for line in src:
                    if len(ids) == count:
                        return list(ids)
                    arxiv_id = json.loads(line)["id"]
                    if arxiv_id in ids or arxiv_id in skipped:
                        continue
                    if len(skipped) < skip:
                        skipped.add(arxiv_id)
                        continue
                    ids[arxiv_id] = None
                    out.write(line)
    raise ValueError(f"the listings hold fewer than {skip + count} papers")


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """``paperwire ARGS`` in a child process that takes Ctrl-C (SIGINT) as one started
    from a terminal does.

    Why: a pytest-xdist worker ignores SIGINT, and an ignored signal stays ignored in
    its children, where Python then raises no ``KeyboardInterrupt``. A handled one is
    reset to the default at ``exec``, so SIGINT is handled here while the child starts
    (from the main thread, where Python takes signal handlers)."""
    on_main = threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGINT, signal.default_int_handler) if on_main else None
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "paperwire.cli", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    finally:
        if before is not None:
            signal.signal(signal.SIGINT, before)


def run(args: list[str], env: dict[str, str], timeout: float = 300) -> tuple[int, str]:
    """Run ``paperwire ARGS`` to the end: (exit status, output)."""
    proc = start(args, env)
    output, _ = proc.communicate(timeout=timeout)
    return proc.returncode, output


@dataclass
class Signalled:
    """What happened to a child signalled at a point of its progress."""

    signalled: bool  # False: the child ended before the point was reached
    returncode: int
    output: str
    seconds: float  # from start to signal


def signal_when(
    proc: subprocess.Popen[str],
    reached: Callable[[], bool],
    signum: int,
    timeout: float = 240,
) -> Signalled:
    """Poll ``reached()`` and send ``signum`` to ``proc`` as soon as it holds."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    signalled = False
    while proc.poll() is None and time.monotonic() < deadline:
        if reached():
            proc.send_signal(signum)
            signalled = True
            break
        time.sleep(0.02)
    seconds = time.monotonic() - t0
    try:
        output, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        raise AssertionError(f"child did not stop after signal {signum}:\n{output}") from None
    return Signalled(signalled, proc.returncode, output, seconds)


def doctor(env: dict[str, str], *extra: str) -> tuple[int, dict[str, Any]]:
    """``paperwire doctor --json``: exit status and the report."""
    code, output = run(["doctor", "--json", *extra], env)
    start_of_json = output.find("{")
    assert start_of_json >= 0, output
    return code, json.loads(output[start_of_json:])


def counts(pw: Paperwire) -> dict[str, int]:
    """Stored vs indexed, as the issue quotes them."""
    pw.index.refresh()
    return {
        "papers": pw.store.count(),
        "keyword_documents": pw.index.keyword_count(),
        "vectors": pw.index.vector_count(),
        "pending": pw.journal.pending_count(),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running(args: list[str], env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``paperwire ARGS --port P`` (``serve``, ``up``) in a child process on a free port,
    once it answers ``/healthz``: its base URL and the process. Stopped with SIGTERM (the
    way systemd stops it); it must exit without a traceback."""
    port = free_port()
    proc = start([*args, "--host", "127.0.0.1", "--port", str(port)], env)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        return False

    try:
        wait_for(healthy, 120, f"paperwire {args[0]} to serve")
        yield base, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        assert "Traceback" not in output, output


@contextlib.contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """``paperwire serve`` in a child process; yields its base URL."""
    with running(["serve"], env) as (base, _proc):
        yield base


def app_with_papers(
    make_app: Callable[..., Paperwire], database_url: str, tmp_path: Path, n: int, **settings: Any
) -> tuple[Paperwire, list[str]]:
    """An app (``make_app``) holding ``n`` real papers, ingested in this process."""
    from paperwire.services.ingest import ingest_records
    from paperwire.sources.table import read_table

    pw = make_app(database_url=database_url, **settings)
    table = tmp_path / "papers.jsonl"
    ids = write_table(table, n)
    ingest_records(pw, read_table(table), "table")
    return pw, ids


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until ``check()`` holds (polled); fails after ``timeout``."""
    t0 = time.monotonic()
    while not check():
        assert time.monotonic() - t0 < timeout, f"timed out waiting for {what}"
        time.sleep(0.1)
    return time.monotonic() - t0


def more_segments(pw: Paperwire) -> None:
    """Commits of documents the embedded keyword index holds already (the same content),
    a segment each, until it is in two or more: an ingest's commits vary (on a slow host
    its index applies gather batches), and tantivy merges every eighth segment into
    one, so a bulk load may leave one segment or several."""
    from paperwire.services.indexer import keyword_half

    keyword = keyword_half(pw)
    assert keyword is not None, "an embedded keyword index"
    keyword.refresh()
    (docs, *_) = pw.store.iter_index_docs(None)
    for doc in docs:
        if keyword.segments() > 1:
            return
        keyword.upsert([doc])
        keyword.commit()
