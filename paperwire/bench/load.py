"""A bounded mixed load on loopback, several server versions side by side
(``paperwire bench load``).

Each *target* is a checkout of paperwire (``--target NAME=DIR:WORKERS``; ``DIR`` ``.``
is this one; ``+PAPERWIRE_VAR=VALUE`` appended sets a setting of that target only, so one
checkout can run under two settings) served by ``paperwire serve`` in a subprocess with
``WORKERS`` processes, on
its own copy of one install (default: the ``hf`` bench corpus, 10.6k papers with their
vectors, ``bench.corpus``: built here on first use, then kept): the copies start
identical, so every target serves the same data. The bench creates ``--clients``
accounts in each copy (through that target's own code) and logs them in over HTTP.

Then, per target and round (rounds alternate the targets, so a change of machine load
hits all of them alike), ``--clients`` concurrent keep-alive connections send requests
for ``--seconds`` (after ``--warmup`` seconds that are not counted), at most
``--requests`` in all, each drawn from a fixed mix (``MIX``): ``/`` 20%,
``/papers?period=week`` 10%, ``/search?q=…`` 15%, ``/papers/{id}`` 25%,
``/api/search?q=…`` 15% (signed out), ``/`` signed in 10% and a signed-in upvote toggle
5% (``POST``/``DELETE /api/papers/{id}/vote`` on one of the 100 most recently featured
papers). Queries are short topical phrases and real titles; paper pages are one of the
100 most recently featured papers (80%: what a morning crowd reads) or any paper.

Only loopback (127.0.0.1) is ever contacted; seconds, requests and clients are capped.
``--client-cpus`` pins this process (the load generator) and ``--server-cpus`` the
servers (``taskset``; uvicorn's workers inherit it), so they do not fight for the same
cores more than they must. Prints req/s and p50/p95/p99 per route and per target, and
writes JSON to ``bench/results/load.json`` (``--out``). Before the first round and after
the last, a fresh process on the cores this one started with (``--client-cpus`` undone)
times the same fixed work as every run does (``bench.probe``; the report's ``host``):
rounds compare within a run, the probe across runs and hosts.

The HTTP client is a minimal HTTP/1.1 one on asyncio streams: a general client library
costs more CPU per request than the servers being measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from paperwire.bench.common import SHORT_QUERIES, machine, percentile
from paperwire.bench.probe import host_line, probe_in_fresh_process

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
MAX_SECONDS = 600.0
MAX_REQUESTS = 2_000_000
MAX_CLIENTS = 256
PASSWORD = "load bench password 1"  # noqa: S105 - throwaway accounts in a temporary copy

# route label → share of requests
MIX: dict[str, float] = {
    "/": 0.20,
    "/papers?period=week": 0.10,
    "/search?q=": 0.15,
    "/papers/{id}": 0.25,
    "/api/search?q=": 0.15,
    "/ (signed in)": 0.10,
    "vote (signed in)": 0.05,
}
HOT_SHARE = 0.8  # of paper pages: one of the HOT most recently featured papers
HOT = 100

# Run by each target's own Python code: create the accounts (same API on every version
# this bench compares).
_CREATE_USERS = """
import sys
from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.services.community import community_of
pw = Paperwire(Settings(semantic=False))
comm = community_of(pw)
h = comm.hash_password(sys.argv[2])
for i in range(int(sys.argv[1])):
    comm.users.create(f"load{i}@example.org", f"Load {i}", h)
pw.close()
"""


@dataclass
class Target:
    name: str
    code: Path
    workers: int
    # PAPERWIRE_* settings of this target's server: one checkout under two settings
    # side by side (e.g. PAPERWIRE_WEB_THREADS=2 against =40) in the same rounds.
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class RouteStats:
    n: int
    errors: int
    req_per_s: float
    p50: float
    p95: float
    p99: float


@dataclass
class RunResult:
    target: str
    workers: int
    round: int
    seconds: float
    requests: int
    errors: int
    req_per_s: float
    p50: float
    p95: float
    p99: float
    routes: dict[str, RouteStats] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)


# Settings the bench sets itself for every target (each serves its own copy).
_OWN_SETTINGS = frozenset({"PAPERWIRE_HOME", "PAPERWIRE_DATABASE_URL", "PAPERWIRE_SECRET_KEY"})


def parse_target(spec: str) -> Target:
    """``NAME=DIR[:WORKERS][+PAPERWIRE_VAR=VALUE]...`` (``DIR`` ``.`` = this checkout;
    ``:WORKERS`` defaults to 1; each ``+VAR=VALUE`` is a setting of that server)."""
    spec, *settings = re.split(r"\+(?=PAPERWIRE_)", spec)  # a value may hold "+"
    env: dict[str, str] = {}
    for setting in settings:
        var, eq, value = setting.partition("=")
        if not eq or not var.startswith("PAPERWIRE_"):
            raise argparse.ArgumentTypeError(
                f"--target setting {setting!r}: expected PAPERWIRE_NAME=VALUE"
            )
        if var in _OWN_SETTINGS:
            raise argparse.ArgumentTypeError(
                f"--target setting {var}: each target serves its own copy of --source"
            )
        env[var] = value
    name, sep, rest = spec.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(
            f"--target {spec!r}: expected NAME=DIR[:WORKERS][+PAPERWIRE_VAR=VALUE]..."
        )
    where, _, workers = rest.rpartition(":") if ":" in rest else (rest, "", "1")
    if not workers.isdigit() or int(workers) < 1:
        raise argparse.ArgumentTypeError(f"--target {spec!r}: WORKERS must be a number >= 1")
    code = REPO if where in ("", ".") else Path(where).resolve()
    if not (code / "paperwire" / "__init__.py").is_file():
        raise argparse.ArgumentTypeError(f"--target {spec!r}: {code} is not a paperwire checkout")
    return Target(name, code, int(workers), env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- HTTP


class Connection:
    """One keep-alive HTTP/1.1 connection to the loopback server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body or method in ("POST", "PUT", "DELETE"):
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        try:
            status_line = await self.reader.readuntil(b"\r\n")
            status = int(status_line.split()[1])
            got: dict[str, str] = {}
            while True:
                line = await self.reader.readuntil(b"\r\n")
                if line == b"\r\n":
                    break
                key, _, value = line.decode("latin-1").partition(":")
                got[key.strip().lower()] = value.strip()
            if "content-length" in got:
                data = await self.reader.readexactly(int(got["content-length"]))
            elif got.get("transfer-encoding", "").lower() == "chunked":
                data = await self._chunked()
            else:
                data = b""
            if got.get("connection", "").lower() == "close":
                self.close()
            return status, got, data
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.close()
            raise

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        out = bytearray()
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return bytes(out)
            out += await self.reader.readexactly(size)
            await self.reader.readexactly(2)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# --------------------------------------------------------------------------- setup


def sample_install(
    home: Path, n: int = 2000, seed: int = 11, titles_n: int = 200
) -> tuple[list[str], list[str]]:
    """Paper ids (the ``HOT`` most recently featured first, then ``n`` random visible
    ones) and ``titles_n`` titles (as queries) of the install at ``home``."""
    con = sqlite3.connect(f"file:{home / 'paperwire.db'}?mode=ro", uri=True)
    try:
        ids = [r[0] for r in con.execute("SELECT arxiv_id FROM papers WHERE hidden = 0")]
        hot = [
            r[0]
            for r in con.execute(
                "SELECT p.arxiv_id FROM papers p JOIN featured f ON f.paper_id = p.id "
                "WHERE p.hidden = 0 GROUP BY p.id ORDER BY max(f.day) DESC, p.id LIMIT ?",
                (HOT,),
            )
        ]
        titles = [
            " ".join(str(r[0]).split()) for r in con.execute("SELECT title FROM papers ORDER BY id")
        ]
    finally:
        con.close()
    rng = random.Random(seed)
    return hot + rng.sample(ids, min(n, len(ids))), rng.sample(titles, min(titles_n, len(titles)))


def _env(target: Target, home: Path, secret: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PAPERWIRE_HOME": str(home),
        "PAPERWIRE_SECRET_KEY": secret,
        "PAPERWIRE_RATE_VOTES_PER_MINUTE": "100000000",
        "PAPERWIRE_RATE_LOGIN_PER_MINUTE": "100000000",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(target.code),
        **target.env,
    }
    env.pop("PAPERWIRE_DATABASE_URL", None)
    return env


def start_server(
    target: Target, home: Path, port: int, secret: str, cpus: str | None
) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "paperwire", "serve", "--host", HOST, "--port", str(port)]
    if target.workers > 1:
        cmd += ["--workers", str(target.workers)]
    if cpus and shutil.which("taskset"):
        cmd = ["taskset", "-c", cpus, *cmd]
    log = (home / "server.log").open("wb")
    return subprocess.Popen(
        cmd, env=_env(target, home, secret), cwd=target.code, stdout=log, stderr=log
    )


async def wait_ready(port: int, server: subprocess.Popen[bytes], home: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited: {(home / 'server.log').read_text()[-2000:]}")
        conn = Connection(port)
        try:
            status, _, _ = await conn.request("GET", "/healthz")
            if status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        await asyncio.sleep(0.3)
    raise SystemExit(f"server not ready after 180 s: {(home / 'server.log').read_text()[-2000:]}")


def drained(home: Path, limit: float = 600.0) -> None:
    """Wait until the server has applied the index journal of its fresh copy (a copy
    of an install made before the journal existed queues every paper once)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        con = sqlite3.connect(f"file:{home / 'paperwire.db'}?mode=ro", uri=True)
        try:
            pending = con.execute("SELECT count(*) FROM index_journal").fetchone()[0]
        except sqlite3.OperationalError:  # a version without the journal
            return
        finally:
            con.close()
        if not pending:
            return
        time.sleep(1.0)
    raise SystemExit(f"the index journal of {home} was not applied within {limit:g} s")


async def login(port: int, n: int) -> list[tuple[str, str]]:
    """``(session cookie, CSRF token)`` of each account, logged in over HTTP."""
    out = []
    conn = Connection(port)
    try:
        for i in range(n):
            body = json.dumps({"email": f"load{i}@example.org", "password": PASSWORD}).encode()
            status, headers, data = await conn.request(
                "POST", "/api/auth/login", {"Content-Type": "application/json"}, body
            )
            if status != 200:
                raise SystemExit(f"login of load{i} failed: {status} {data[:200]!r}")
            token = headers.get("set-cookie", "").split("pw_session=", 1)[1].split(";", 1)[0]
            out.append((token, json.loads(data)["csrf_token"]))
    finally:
        conn.close()
    return out


# --------------------------------------------------------------------------- load


@dataclass
class Plan:
    ids: list[str]
    queries: list[str]
    creds: list[tuple[str, str]]


async def client(
    port: int,
    idx: int,
    plan: Plan,
    start_at: float,
    until: float,
    budget: list[int],
    samples: dict[str, list[float]],
    errors: dict[str, int],
    error_samples: list[str],
) -> None:
    rng = random.Random(idx * 7919 + 1)
    conn = Connection(port)
    token, csrf = plan.creds[idx % len(plan.creds)]
    voted: set[str] = set()
    routes, weights = list(MIX), list(MIX.values())
    try:
        while True:
            now = time.perf_counter()
            if now >= until or budget[0] <= 0:
                return
            route = rng.choices(routes, weights)[0]
            method, headers = "GET", {"Accept": "text/html"}
            if route in ("/", "/papers?period=week"):
                path = route
            elif route == "/search?q=":
                path = "/search?q=" + quote(rng.choice(plan.queries))
            elif route == "/api/search?q=":
                path = "/api/search?q=" + quote(rng.choice(plan.queries))
                headers = {"Accept": "application/json"}
            elif route == "/papers/{id}":
                hot = rng.random() < HOT_SHARE
                path = "/papers/" + rng.choice(plan.ids[:HOT] if hot else plan.ids[HOT:])
            elif route == "/ (signed in)":
                path, headers = "/", {"Accept": "text/html", "Cookie": f"pw_session={token}"}
            else:
                aid = rng.choice(plan.ids[:HOT])
                method = "DELETE" if aid in voted else "POST"
                voted.symmetric_difference_update({aid})
                path = f"/api/papers/{aid}/vote"
                headers = {"Cookie": f"pw_session={token}", "X-CSRF-Token": csrf}
            t0 = time.perf_counter()
            try:
                status, _, body = await conn.request(method, path, headers)
                failed = status >= 400
                if failed and len(error_samples) < 20:
                    error_samples.append(f"{status} {method} {path}: {body[:120]!r}")
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                failed = True
                if len(error_samples) < 20:
                    error_samples.append(f"{type(exc).__name__} {method} {path}: {exc}")
            t1 = time.perf_counter()
            if t0 >= start_at:  # after the warm-up
                budget[0] -= 1
                samples.setdefault(route, []).append((t1 - t0) * 1000)
                if failed:
                    errors[route] = errors.get(route, 0) + 1
    finally:
        conn.close()


async def drive(
    port: int, plan: Plan, clients: int, seconds: float, warmup: float, max_requests: int
) -> tuple[float, dict[str, list[float]], dict[str, int], list[str]]:
    samples: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    error_samples: list[str] = []
    start_at = time.perf_counter() + warmup
    until = start_at + seconds
    budget = [max_requests]
    await asyncio.gather(
        *(
            client(port, i, plan, start_at, until, budget, samples, errors, error_samples)
            for i in range(clients)
        )
    )
    elapsed = min(time.perf_counter(), until) - start_at
    return elapsed, samples, errors, error_samples


def summarize(
    target: Target,
    rnd: int,
    elapsed: float,
    samples: dict[str, list[float]],
    errors: dict[str, int],
    error_samples: list[str],
) -> RunResult:
    every = [v for vs in samples.values() for v in vs]
    routes = {
        route: RouteStats(
            n=len(vs),
            errors=errors.get(route, 0),
            req_per_s=round(len(vs) / elapsed, 1),
            p50=round(percentile(vs, 50), 1),
            p95=round(percentile(vs, 95), 1),
            p99=round(percentile(vs, 99), 1),
        )
        for route, vs in sorted(samples.items(), key=lambda kv: list(MIX).index(kv[0]))
    }
    return RunResult(
        target=target.name,
        workers=target.workers,
        round=rnd,
        seconds=round(elapsed, 1),
        requests=len(every),
        errors=sum(errors.values()),
        req_per_s=round(len(every) / elapsed, 1),
        p50=round(percentile(every, 50), 1) if every else 0.0,
        p95=round(percentile(every, 95), 1) if every else 0.0,
        p99=round(percentile(every, 99), 1) if every else 0.0,
        routes=routes,
        error_samples=error_samples,
    )


def _table(results: Sequence[RunResult]) -> str:
    rows = [
        "| target | round | route | n | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        name = f"{r.target} ({r.workers} worker{'s' if r.workers > 1 else ''})"
        rows.append(
            f"| {name} | {r.round} | **all** | {r.requests} | {r.req_per_s} | {r.p50} | "
            f"{r.p95} | {r.p99} | {r.errors} |"
        )
        for route, s in r.routes.items():
            rows.append(
                f"| {name} | {r.round} | `{route}` | {s.n} | {s.req_per_s} | {s.p50} | "
                f"{s.p95} | {s.p99} | {s.errors} |"
            )
    return "\n".join(rows)


def default_source() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "paperwire" / "bench" / "corpora" / "hf"


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="paperwire bench load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--target",
        action="append",
        type=parse_target,
        help="NAME=DIR[:WORKERS][+PAPERWIRE_VAR=VALUE]..., repeatable (default: this "
        "checkout, 1 worker); e.g. t2=.:1+PAPERWIRE_WEB_THREADS=2",
    )
    ap.add_argument("--source", type=Path, default=default_source(), help="install to copy")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument(
        "--settle",
        type=float,
        default=5.0,
        help="seconds to wait after the server answers (its start-up index check runs)",
    )
    ap.add_argument("--requests", type=int, default=200_000, help="cap per run")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument(
        "--titles",
        type=int,
        default=200,
        help="real titles among the queries (with the short phrases): fewer repeat more "
        "(kept rankings serve repeats), the whole corpus is a long tail",
    )
    ap.add_argument("--client-cpus", default=None, help="pin this process, e.g. 0")
    ap.add_argument("--server-cpus", default=None, help="pin the servers (taskset), e.g. 1")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "load.json")
    args = ap.parse_args(argv)
    targets: list[Target] = args.target or [Target("this", REPO, 1)]
    if not 0 < args.seconds <= MAX_SECONDS:
        ap.error(f"--seconds must be in (0, {MAX_SECONDS:g}]")
    if not 0 < args.requests <= MAX_REQUESTS:
        ap.error(f"--requests must be in [1, {MAX_REQUESTS}]")
    if not 0 < args.clients <= MAX_CLIENTS:
        ap.error(f"--clients must be in [1, {MAX_CLIENTS}]")
    if args.source == default_source():
        from paperwire.bench.corpus import corpus_install

        # built (or resumed, or built again where another embedder made its vectors)
        # and kept for the next run
        with corpus_install("hf", say=lambda m: print(m, flush=True)):
            pass
    if not (args.source / "paperwire.db").is_file():
        ap.error(f"--source {args.source}: no paperwire.db (a paperwire home is expected)")
    # the host's speed before and after the rounds (``bench.probe``), on the cores this
    # process started with: the probe's process inherits the pinning below, undone first
    host = {"before": probe_in_fresh_process()}
    started_on = None
    if args.client_cpus:
        started_on = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {int(c) for c in args.client_cpus.split(",")})

    secret = secrets.token_urlsafe(32)
    results: list[RunResult] = []
    with tempfile.TemporaryDirectory(prefix="paperwire-bench-load-") as tmp:
        homes: dict[str, Path] = {}
        for t in targets:
            home = homes[t.name] = Path(tmp) / t.name
            shutil.copytree(args.source, home)
            subprocess.run(
                [sys.executable, "-c", _CREATE_USERS, str(args.clients), PASSWORD],
                env=_env(t, home, secret),
                cwd=t.code,
                check=True,
            )
        ids, titles = sample_install(next(iter(homes.values())), titles_n=args.titles)
        queries = SHORT_QUERIES + titles
        for rnd in range(1, args.rounds + 1):
            for t in targets:
                home = homes[t.name]
                port = free_port()
                server = start_server(t, home, port, secret, args.server_cpus)
                try:
                    asyncio.run(wait_ready(port, server, home))
                    drained(home)  # the start-up index check, not the load, is measured
                    time.sleep(args.settle)
                    creds = asyncio.run(login(port, args.clients))
                    plan = Plan(ids, queries, creds)
                    print(f"[{t.name}] round {rnd}: {args.clients} clients, {args.seconds:g} s")
                    measured = asyncio.run(
                        drive(port, plan, args.clients, args.seconds, args.warmup, args.requests)
                    )
                finally:
                    server.terminate()
                    try:
                        server.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        server.kill()
                results.append(summarize(t, rnd, *measured))
                print(_table(results[-1:]))
    load = os.getloadavg()
    if started_on is not None:
        os.sched_setaffinity(0, started_on)
    host["after"] = probe_in_fresh_process()
    report: dict[str, Any] = {
        "machine": machine(),
        "loadavg": [round(x, 2) for x in load],
        "host": host,
        "clients": args.clients,
        "seconds": args.seconds,
        "client_cpus": args.client_cpus,
        "server_cpus": args.server_cpus,
        "mix": MIX,
        "targets": [
            {"name": t.name, "code": str(t.code), "workers": t.workers, "settings": t.env}
            for t in targets
        ],
        "results": [asdict(r) for r in results],
    }
    print("\n" + _table(results))
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in load)}")
    print(host_line(host, "the rounds"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
