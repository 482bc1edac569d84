"""Digest throughput to a loopback SMTP server (``paperwire bench digests``).

Builds a temporary install (SQLite, keyword-only) with the last two weeks of the real HF
daily papers from ``../shared/data/hf-daily-papers``, subscribes ``--subscribers``
addresses (a fifth of them with a saved search), then measures

* planning: composing + rendering + queueing every digest (``plan_digests``),
* sending: the outbox over one reused SMTP connection (``send_queued``), to an aiosmtpd
  server in a separate process (so the sink does not share the sender's GIL),
* SMTP alone on prebuilt messages: one reused connection (``SmtpBatch``) vs one
  connection per message (``paperwire.services.mail.send_message``).

The sink counts what it receives; the run fails if that differs from what was sent.
Writes ``bench/results/digests.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from paperwire.bench.common import machine, versions
from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.jobs.digest import SmtpBatch, message_for, plan_digests, send_queued
from paperwire.models.search import SearchFilters
from paperwire.models.subscriptions import Frequency
from paperwire.services.ingest import ingest_records
from paperwire.services.mail import send_message
from paperwire.services.subscriptions import subscriptions_of
from paperwire.sources.hf_daily import read_hf_daily_dir

REPO = Path(__file__).resolve().parents[2]

HF_DAILY = REPO.parent / "shared" / "data" / "hf-daily-papers"
QUERIES = ["diffusion", "reinforcement learning", "video generation", "agents", "reasoning"]

SINK = r"""
import sys, time
from aiosmtpd.controller import Controller

count = 0
class Handler:
    async def handle_DATA(self, server, session, envelope):
        global count
        count += 1
        return "250 OK"

c = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
for line in sys.stdin:
    print(count, flush=True)
c.stop()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SINK, str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout and self.proc.stdout.readline().strip() == "ready"

    def count(self) -> int:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write("?\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--smtp-sample", type=int, default=300)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "digests.json")
    args = ap.parse_args()

    days = sorted(HF_DAILY.glob("*.json"))[-args.days :]
    last_day = dt.date.fromisoformat(days[-1].stem)
    now = dt.datetime.combine(last_day, dt.time(12), tzinfo=dt.UTC)
    home = Path(tempfile.mkdtemp(prefix="paperwire-bench-digests-"))
    sink = Sink()
    try:
        settings = Settings(
            home=home, semantic=False, smtp_port=sink.port, base_url="https://papers.example.org"
        )
        pw = Paperwire(settings)
        folder = home / "days"
        folder.mkdir()
        for f in days:
            shutil.copy(f, folder / f.name)
        summary = ingest_records(pw, read_hf_daily_dir(folder), "hf-daily")
        subs = subscriptions_of(pw)
        for i in range(args.subscribers):
            sub = subs.store.request(f"reader{i}@example.org", Frequency.daily)
            subs.store.activate(sub.id, sub.email, None)
            if i % 5 == 0:
                q = QUERIES[i % len(QUERIES)]
                subs.store.add_search(sub.id, None, q, q, SearchFilters())

        t0 = time.perf_counter()
        plan = plan_digests(pw, Frequency.daily, now)
        plan_s = time.perf_counter() - t0
        rows = subs.store.outbox()
        size = sum(len(r.body_text) + len(r.body_html) for r in rows) / max(1, len(rows))

        report = send_queued(pw)
        received = sink.count()
        if received != report.sent:
            raise SystemExit(f"sink received {received}, sender says {report.sent}")

        # SMTP alone, on the same prebuilt messages: one reused connection vs one each
        sample = [message_for(settings, r) for r in rows[: args.smtp_sample]]
        t1 = time.perf_counter()
        batch = SmtpBatch(settings)
        for msg in sample:
            batch.send(msg)
        batch.close()
        reuse_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        for msg in sample:
            send_message(settings, msg)
        single_s = time.perf_counter() - t2
        if sink.count() != received + 2 * len(sample):
            raise SystemExit("SMTP-only samples: sink count mismatch")
        pw.close()
    finally:
        sink.close()
        shutil.rmtree(home, ignore_errors=True)

    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions("SQLAlchemy", "aiosmtpd"),
        "database": "sqlite",
        "papers": summary.added,
        "subscribers": args.subscribers,
        "with_saved_search": (args.subscribers + 4) // 5,
        "digests_queued": plan.queued,
        "avg_digest_bytes": round(size),
        "plan_seconds": round(plan_s, 2),
        "plan_digests_per_second": round(plan.queued / plan_s, 1),
        "send_seconds": round(report.seconds, 2),
        "sent": report.sent,
        "emails_per_second": round(report.per_second, 1),
        "smtp_only_sample": len(sample),
        "smtp_only_reused_connection_per_second": round(len(sample) / reuse_s, 1),
        "smtp_only_connection_per_message_per_second": round(len(sample) / single_s, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
