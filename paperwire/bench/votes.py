"""Sustained upvote throughput on loopback (``paperwire bench votes``).

Starts ``paperwire serve`` in a subprocess on a temporary home (SQLite by default, or
``--database-url``), creates ``--users`` accounts with sessions, then runs that many
concurrent clients for ``--seconds``: each toggles its vote on random papers through the
JSON API (``POST``/``DELETE /api/papers/{id}/vote``), so every request changes a count.
Reports votes/s and latency percentiles, then checks that ``papers.local_upvotes``
still equals the number of vote rows for every paper. Writes ``bench/results/votes.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from paperwire.bench.common import machine, percentile, versions
from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.models.papers import PaperRecord
from paperwire.services.community import community_of
from paperwire.services.ingest import ingest_records
from paperwire.web.auth import csrf_for_session

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(
    home: Path, database_url: str | None, papers: int, users: int, secret: str
) -> tuple[list[str], list[str]]:
    settings = Settings(home=home, database_url=database_url, semantic=False, secret_key=secret)
    pw = Paperwire(settings)
    try:
        today = dt.datetime.now(dt.UTC).date()
        ids = [f"2512.{n:05d}" for n in range(1, papers + 1)]
        records = [
            PaperRecord(
                arxiv_id=aid,
                source="hf-daily",
                title=f"Benchmark paper {aid}",
                abstract="A paper that exists to be upvoted.",
                authors=["Bench Author"],
                featured_on=today,
                upvotes=0,
            )
            for aid in ids
        ]
        ingest_records(pw, records, "hf-daily")
        comm = community_of(pw)
        h = comm.hash_password("bench password")
        tokens = []
        for i in range(users):
            account = comm.users.create(f"bench{i}@example.org", f"Bench {i}", h)
            tokens.append(comm.start_session(account))
        return ids, [f"{t}|{csrf_for_session(pw, t)}" for t in tokens]
    finally:
        pw.close()


def check(home: Path, database_url: str | None, secret: str) -> tuple[int, int]:
    from sqlalchemy import func, select

    from paperwire.store.schema.community import Vote
    from paperwire.store.schema.papers import Paper

    pw = Paperwire(
        Settings(home=home, database_url=database_url, semantic=False, secret_key=secret)
    )
    try:
        with pw.db.session() as s:
            local = s.scalar(select(func.sum(Paper.local_upvotes))) or 0
            rows = s.scalar(select(func.count(Vote.id))) or 0
            bad = s.scalar(
                select(func.count())
                .select_from(Paper)
                .where(
                    Paper.local_upvotes
                    != select(func.count(Vote.id))
                    .where(Vote.paper_id == Paper.id)
                    .scalar_subquery()
                )
            )
        assert not bad, f"{bad} papers have local_upvotes != their vote rows"
        return int(local), int(rows)
    finally:
        pw.close()


async def client_loop(
    base: str, cred: str, ids: list[str], until: float, latencies: list[float], errors: list[str]
) -> int:
    token, csrf = cred.split("|")
    voted: set[str] = set()
    done = 0
    rng = random.Random(token)
    async with httpx.AsyncClient(
        base_url=base, cookies={"pw_session": token}, headers={"X-CSRF-Token": csrf}, timeout=30
    ) as c:
        while time.perf_counter() < until:
            aid = rng.choice(ids)
            t0 = time.perf_counter()
            if aid in voted:
                r = await c.delete(f"/api/papers/{aid}/vote")
                voted.discard(aid)
            else:
                r = await c.post(f"/api/papers/{aid}/vote")
                voted.add(aid)
            latencies.append(time.perf_counter() - t0)
            if r.status_code == 200 and r.json()["changed"]:
                done += 1
            else:
                errors.append(f"{r.status_code} {r.text[:100]}")
    return done


async def drive(
    base: str, creds: list[str], ids: list[str], seconds: float
) -> tuple[int, float, list[float], list[str]]:
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    until = start + seconds
    counts = await asyncio.gather(
        *(client_loop(base, c, ids, until, latencies, errors) for c in creds)
    )
    return sum(counts), time.perf_counter() - start, latencies, errors


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--users", type=int, default=32, help="concurrent clients (one account each)")
    ap.add_argument("--papers", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--database-url", default=None, help="default: SQLite in a temporary home")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "votes.json")
    args = ap.parse_args()

    secret = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="paperwire-bench-votes-") as tmp:
        home = Path(tmp) / "home"
        ids, creds = prepare(home, args.database_url, args.papers, args.users, secret)
        port = free_port()
        env = {
            **os.environ,
            "PAPERWIRE_SECRET_KEY": secret,
            "PAPERWIRE_SEMANTIC": "false",
            "PAPERWIRE_RATE_VOTES_PER_MINUTE": "100000000",
        }
        if args.database_url:
            env["PAPERWIRE_DATABASE_URL"] = args.database_url
        cmd = [sys.executable, "-m", "paperwire", "serve", "--home", str(home), "--port", str(port)]
        server = subprocess.Popen(
            cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    err = server.stderr.read().decode() if server.stderr else ""
                    raise SystemExit(f"server did not start: {err}")
                time.sleep(0.2)
            for _ in range(20):  # warm up (reads only: the clients' vote state stays empty)
                httpx.get(base + f"/api/votes/{ids[0]}", timeout=5)
            votes, elapsed, latencies, errors = asyncio.run(drive(base, creds, ids, args.seconds))
        finally:
            server.terminate()
            server.wait(timeout=20)
        local, rows = check(home, args.database_url, secret)

    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions("SQLAlchemy", "psycopg"),
        "database": "postgresql" if args.database_url else "sqlite",
        "users": args.users,
        "papers": args.papers,
        "seconds": round(elapsed, 2),
        "votes": votes,
        "votes_per_second": round(votes / elapsed, 1),
        "latency_ms_p50": round(percentile(latencies, 50) * 1000, 2) if latencies else 0.0,
        "latency_ms_p99": round(percentile(latencies, 99) * 1000, 2) if latencies else 0.0,
        "errors": len(errors),
        "consistent": True,
        "local_upvotes_total": local,
        "vote_rows": rows,
    }
    print(json.dumps(result, indent=2))
    if errors:
        print("first errors:", errors[:5], file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
