"""The CLI on a real temporary home: ingest, search, show, status, index, up."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from paperwire.cli import app
from paperwire.config import Settings, invalid_settings
from paperwire.models.search import SearchResponse
from paperwire.models.status import StatusPublic
from tests.conftest import HF_DAILY
from tests.writers.children import start

runner = CliRunner()
DAY = "2025-06-10"


def run(home: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--home", str(home)], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def ingest_day(home: Path) -> str:
    code, output = run(
        home, "ingest", "hf-daily", "--from", str(HF_DAILY), "--since", DAY, "--until", DAY
    )
    assert code == 0, output
    return output


def test_ingest_is_idempotent_and_summarised(home: Path) -> None:
    first = ingest_day(home)
    assert "36" in first and "added" in first
    second = ingest_day(home)
    _, output = run(home, "status", "--json")
    status = StatusPublic.model_validate_json(output)
    assert status.papers == 36 and status.keyword_documents == 36
    assert "unchanged" in second
    # The summary row: added 0, updated 0, unchanged 36.
    rows = [
        [c.strip() for c in line.split("│")[1:-1]]
        for line in second.splitlines()
        if line.count("│") >= 5
    ]
    assert [r[:4] for r in rows] == [["0", "0", "36", "0"]], second
    code, output = run(home, "status")
    assert code == 0 and "clock: as of Jun 10, 2025, the latest papers here: " in output
    assert "{'now'" not in output  # said in words, not as a dict


def test_rejections_are_reported_and_exit_code_is_2(home: Path, tmp_path: Path) -> None:
    src = tmp_path / "days"
    src.mkdir()
    shutil.copy(HF_DAILY / f"{DAY}.json", src / f"{DAY}.json")
    (src / "2025-06-11.json").write_text("[{not json")
    code, output = run(home, "ingest", "hf-daily", "--from", str(src))
    assert code == 2
    assert "2025-06-11.json" in output and "rejected" in output
    code, output = run(home, "status", "--json")
    assert StatusPublic.model_validate_json(output).papers == 36


def test_table_import_with_mapping_and_bad_mapping(home: Path, tmp_path: Path) -> None:
    ingest_day(home)
    csv = tmp_path / "papers.csv"
    csv.write_text(
        "paper,text\n2506.08007v1,A replacement abstract that fills nothing new.\n"
        "not-an-id,whatever\n"
    )
    code, output = run(
        home, "ingest", "table", str(csv), "--map", "arxiv_id=paper", "--map", "abstract=text"
    )
    assert code == 2, output
    assert "not-an-id" in output
    code, output = run(home, "ingest", "table", str(csv), "--map", "abstract=nosuchcolumn")
    assert code == 1 and "nosuchcolumn" in output


def test_search_json_show_and_index(home: Path) -> None:
    ingest_day(home)
    code, output = run(home, "search", "Reinforcement Pre-Training", "--json", "--mode", "keyword")
    assert code == 0
    res = SearchResponse.model_validate_json(output)
    assert res.hits[0].paper.arxiv_id == "2506.08007"
    code, output = run(home, "search", "pre-training", "--has-code", "--json", "--mode", "keyword")
    assert all(h.paper.has_code for h in SearchResponse.model_validate_json(output).hits)
    code, output = run(home, "show", "2506.08007", "--json")
    assert code == 0 and json.loads(output)["title"] == "Reinforcement Pre-Training"
    code, output = run(home, "show", "2506.99999")
    assert code == 1 and "not in this paperwire" in output
    code, output = run(home, "show", "garbage")
    assert code == 1 and "not an arXiv id" in output
    code, output = run(home, "index", "--rebuild")
    assert code == 0 and "keyword documents: 36" in output


@pytest.mark.slow
def test_search_summary_counts_in_words_and_blames_embeddings_only_when_missing(
    home: Path,
) -> None:
    """``paperwire search 2506.08007`` printed "1 results" and "no embeddings yet" even
    with every paper embedded (an id lookup never uses meaning)."""
    ingest_day(home)
    code, output = run(home, "search", "2506.08007")
    assert code == 0 and "1 result in" in output and "embeddings" not in output
    code, output = run(home, "search", "next token reasoning", "--limit", "3")
    assert code == 0 and "no embeddings yet" in output  # true here: nothing embedded
    code, output = run(home, "embed")
    assert code == 0, output
    for query in ("2506.08007", "next token reasoning"):
        code, output = run(home, "search", query, "--limit", "3")
        assert code == 0 and "embeddings" not in output, output


def test_search_by_example_from_a_file(home: Path, tmp_path: Path) -> None:
    """``search --file``: a pasted abstract, quotes and labels included, is plain text."""
    ingest_day(home)
    entries = json.loads((HF_DAILY / f"{DAY}.json").read_text())
    source = next(e["paper"] for e in entries if e["paper"]["id"] == "2506.08007")
    words = " ".join(source["summary"].split()).split(" ")
    pasted = f'Abstract: "{words[0]} {words[1]}" ' + " ".join(words[2:])
    path = tmp_path / "abstract.txt"
    path.write_text(pasted, encoding="utf-8")
    code, output = run(home, "search", "--file", str(path), "--json", "--mode", "keyword")
    assert code == 0, output
    res = SearchResponse.model_validate_json(output)
    assert res.as_text and res.hits[0].paper.arxiv_id == "2506.08007"
    # The same text typed as a short query keeps its syntax; both at once is an error.
    code, output = run(home, "search", "x", "--file", str(path))
    assert code == 2 and "not both" in output
    code, output = run(home, "search", "--file", str(tmp_path / "missing.txt"))
    assert code == 1 and "cannot read" in output


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["ingest"],
        ["ingest", "hf-daily"],
        ["ingest", "table"],
        ["search"],
        ["up"],
        ["serve"],
        ["embed"],
        ["index"],
        ["show"],
        ["status"],
    ],
)
def test_help_is_available(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


# Loaded at the child's start (``sitecustomize``): a real SIGINT, sent by the process to
# itself while the CLI imports typer, as a Ctrl-C in the first second of a command is.
# Python raises KeyboardInterrupt on SIGINT only where it started with SIGINT's default
# action, as in a terminal; a test run started in the background (``make test &`` from a
# script) ignores SIGINT and passes that on, so the terminal's action is set first.
_CTRL_C_DURING_IMPORT = """
import os, signal, sys

signal.signal(signal.SIGINT, signal.default_int_handler)

class _CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "typer":
            sys.meta_path.remove(self)
            print("SIGINT sent while importing typer", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, _CtrlC())
"""


@pytest.mark.parametrize("how", ["console script", "python -m paperwire"])
def test_ctrl_c_while_the_cli_loads_stops_without_a_traceback(tmp_path: Path, how: str) -> None:
    """Ctrl-C in the second the CLI's modules take to load printed a ``KeyboardInterrupt``
    traceback of the imports; it now stops as an interrupted command does (exit 130)."""
    (tmp_path / "sitecustomize.py").write_text(_CTRL_C_DURING_IMPORT, encoding="utf-8")
    script = Path(sys.executable).with_name("paperwire")
    argv = [str(script)] if how == "console script" else [sys.executable, "-m", "paperwire"]
    path = os.pathsep.join(p for p in [str(tmp_path), os.environ.get("PYTHONPATH", "")] if p)
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(
        [*argv, "--help"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert "SIGINT sent while importing typer" in done.stderr, done.stderr
    assert done.returncode == 130, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "interrupted while starting" in done.stderr
    assert "Usage" not in done.stdout  # it stopped, and did not go on to run the command


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _running_up(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """`paperwire up ARGS` in a child process; interrupted (SIGINT) on exit."""
    proc = start(["up", *args], env)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _poll_status(
    proc: subprocess.Popen[str], base: str, done: Callable[[dict[str, Any]], bool], timeout: float
) -> dict[str, Any] | None:
    """``/api/status`` until ``done(status)`` or ``timeout`` seconds; the server must stay up."""
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        try:
            status = httpx.get(f"{base}/api/status", timeout=5).json()
            if done(status):
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        time.sleep(0.3)
    return status


@pytest.mark.slow
def test_up_ingests_serves_and_embeds(tmp_path: Path) -> None:
    """The README's main job in one process: ingest, serve at once, embed behind."""
    src = tmp_path / "days"
    src.mkdir()
    shutil.copy(HF_DAILY / f"{DAY}.json", src / f"{DAY}.json")
    port = _free_port()
    env = {
        **os.environ,
        "PAPERWIRE_HOME": str(tmp_path / "home"),
        "HF_HUB_OFFLINE": "1",
        "PAPERWIRE_RESIDENT_MB": "64",  # serving with the files held in memory
    }
    base = f"http://127.0.0.1:{port}"
    with _running_up(["--from", str(src), "--port", str(port)], env) as proc:
        status = _poll_status(
            proc,
            base,
            lambda s: s["embedding_backlog"] == 0 and s["vector_documents"] == 36,
            timeout=120,
        )
        assert status and status["papers"] == 36 and status["vector_documents"] == 36, status
        page = httpx.get(f"{base}/", timeout=10)
        assert page.status_code == 200 and "Reinforcement Pre-Training" in page.text
        res = httpx.get(f"{base}/api/search", params={"q": "next token reasoning"}).json()
        assert res["semantic_used"] is True and res["hits"]
    assert proc.stdout is not None
    said = proc.stdout.read()
    proc.stdout.close()
    assert re.search(r"files resident: [\d,]+ MB in \d+ files", said), said


@pytest.mark.slow
def test_up_stops_after_the_current_batch_on_ctrl_c(tmp_path: Path) -> None:
    """Ctrl-C while ``up`` embeds behind the server: the chunk being embedded is saved,
    the server stops, and no traceback shows (a ``KeyboardInterrupt`` inside a database
    read made SQLAlchemy log two). The embedding resumes on the next run."""
    src = tmp_path / "days"
    src.mkdir()
    days = sorted(HF_DAILY.glob("2025-06-*.json"))[:10]
    for day in days:
        shutil.copy(day, src / day.name)
    port = _free_port()
    env = {**os.environ, "PAPERWIRE_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    base = f"http://127.0.0.1:{port}"
    with _running_up(["--from", str(src), "--port", str(port)], env) as proc:
        status = _poll_status(proc, base, lambda s: s["vector_documents"] >= 128, timeout=120)
        assert status and status["vector_documents"] >= 128, status
        papers = status["papers"]
        assert papers > 2 * 128, "three chunks or more: Ctrl-C comes before the last"
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) is not None
        stopped = time.monotonic() - started
    assert proc.stdout is not None
    said = proc.stdout.read()
    proc.stdout.close()
    assert "Ctrl-C: stopping after the current batch" in said, said
    assert "stopping (embedding progress is saved)" in said, said
    assert "Traceback" not in said and "Error closing cursor" not in said, said
    assert stopped < 60
    result = runner.invoke(
        app, ["status", "--json", "--home", str(tmp_path / "home")], catch_exceptions=False
    )
    after = json.loads(result.output)
    assert 128 <= after["vector_documents"] < papers, after  # saved, and some left
    assert after["embedding_backlog"] == papers - after["vector_documents"], after


def test_ingest_hf_daily_unreachable_api_is_a_clean_error(home: Path) -> None:
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        "PAPERWIRE_HF_API_URL": f"http://127.0.0.1:{port}/api/daily_papers",
        "PAPERWIRE_HTTP_RETRIES": "0",
    }
    result = runner.invoke(
        app,
        ["ingest", "hf-daily", "--since", DAY, "--until", DAY, "--home", str(home)],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert "error:" in result.output and f"127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output


def test_up_falls_back_to_the_offline_dir_when_the_api_is_unreachable(tmp_path: Path) -> None:
    """`make up` on a machine without internet: the live API fails, --offline-dir serves."""
    src = tmp_path / "days"
    src.mkdir()
    shutil.copy(HF_DAILY / f"{DAY}.json", src / f"{DAY}.json")
    port, dead = _free_port(), _free_port()
    env = {
        **os.environ,
        "PAPERWIRE_HOME": str(tmp_path / "home"),
        "PAPERWIRE_SEMANTIC": "false",
        "PAPERWIRE_HF_API_URL": f"http://127.0.0.1:{dead}/api/daily_papers",
        "PAPERWIRE_HTTP_RETRIES": "4",  # with a folder to fall back to, up tries twice
    }
    args = ["--offline-dir", str(src), "--port", str(port)]
    with _running_up(args, env) as proc:
        status = _poll_status(proc, f"http://127.0.0.1:{port}", lambda s: True, timeout=60)
        assert status is not None and status["papers"] == 36, status
    out = proc.stdout.read() if proc.stdout else ""
    assert "live API unreachable" in out and str(src) in out
    assert "failed after 2 tries" in " ".join(out.split())


@pytest.mark.parametrize(
    ("variable", "value", "why"),
    [
        ("PAPERWIRE_SEMANTIC_BOUND", "1099", "greater than or equal to 1100"),
        ("PAPERWIRE_KEYWORD_COUNT_BOUND", "50", "greater than or equal to 1100"),
        ("PAPERWIRE_PAGE_SIZE", "lots", "valid integer"),
    ],
)
def test_a_bad_setting_is_an_error_naming_its_variable(
    home: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, why: str
) -> None:
    """A value the settings refuse names its variable, the value and why, and exits 2:
    no traceback (a total bound under the deepest result a page shows is one: its
    pages past the bound would be refused or empty)."""
    monkeypatch.setenv(variable, value)
    result = runner.invoke(app, ["status", "--home", str(home)])
    assert result.exit_code == 2, result.output
    assert f"{variable}='{value}'" in result.output and why in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception)  # an exit, not a crash
    # a rule over several settings names no values: its input is every setting
    monkeypatch.delenv(variable)
    monkeypatch.setenv("PAPERWIRE_SMTP_PASSWORD", "hunter2-not-shown")
    monkeypatch.setenv("PAPERWIRE_DATABASE_URL", "postgresql://u:pw-not-shown@h/db")
    monkeypatch.setenv("PAPERWIRE_ENVIRONMENT", "production")
    result = runner.invoke(app, ["status", "--home", str(home)])
    assert result.exit_code == 2, result.output
    assert "PAPERWIRE_SECRET_KEY must be set" in result.output
    assert "not-shown" not in result.output and "Traceback" not in result.output
    monkeypatch.delenv("PAPERWIRE_ENVIRONMENT")
    monkeypatch.delenv("PAPERWIRE_DATABASE_URL")
    monkeypatch.setenv("PAPERWIRE_SEMANTIC_BOUND", "1100")
    monkeypatch.setenv("PAPERWIRE_KEYWORD_COUNT_BOUND", "1100")
    monkeypatch.setenv("PAPERWIRE_PAGE_SIZE", "30")
    code, out = run(home, "status")
    assert code == 0, out


def test_a_refused_credential_is_named_not_repeated() -> None:
    """The error names a password, token, key or URL setting but not its value."""
    with pytest.raises(ValidationError) as refused:
        Settings(smtp_password=31337, page_size="many")
    said = invalid_settings(refused.value)
    assert "PAPERWIRE_SMTP_PASSWORD=(hidden): Input should be a valid string" in said
    assert "PAPERWIRE_PAGE_SIZE='many'" in said and "31337" not in said


def test_bench_latency_checks_its_collector_setting_before_building(tmp_path: Path) -> None:
    """``--heap`` takes ``served`` (the collector as ``paperwire serve`` settles it) or
    ``default``; anything else stops before a build starts."""
    result = runner.invoke(
        app, ["bench", "latency", "--sizes", "hf", "--heap", "gen0", "--work-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "--heap takes `served` or `default`" in result.output
    assert list(tmp_path.iterdir()) == []
