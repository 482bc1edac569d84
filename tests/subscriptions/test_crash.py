"""Crash tests: a real ``paperwire worker`` / ``paperwire digest send`` subprocess killed with
SIGKILL in the middle of sending, then restarted, against a real SMTP server.

* Killed between two messages (the normal case): the restarted worker sends each
  remaining digest exactly once — the sink receives N messages, one per address.
* Killed in the window between the server's acceptance and the ``sent_at`` commit (forced
  with the ``PAPERWIRE_TEST_DIGEST_CRASH_AFTER=K:before-mark`` hook): that one digest is
  sent again, with the same Message-ID — the documented at-least-once window.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from paperwire.jobs.digest import CRASH_ENV
from paperwire.models.subscriptions import Frequency
from paperwire.store.subscriptions import OutboxRow
from tests.conftest import REPO
from tests.subscriptions.conftest import SECRET, SubEnv, wait_for


def _env(sub_env: SubEnv, **extra: str) -> dict[str, str]:
    s = sub_env.pw.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERWIRE_")}
    env.update(
        {
            "PAPERWIRE_HOME": str(s.home),
            "PAPERWIRE_DATABASE_URL": s.db_url,
            "PAPERWIRE_INDEX": s.index,
            "PAPERWIRE_SECRET_KEY": SECRET,
            "PAPERWIRE_BASE_URL": s.base_url,
            "PAPERWIRE_SMTP_PORT": str(s.smtp_port),
            "PAPERWIRE_SEMANTIC": "false",
            "PAPERWIRE_SYNC_SOURCES": "[]",
            "PAPERWIRE_DIGEST_CLAIM_SECONDS": "1",
            "PYTHONPATH": str(REPO),
        }
    )
    env.update(extra)
    return env


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "paperwire", *args],
        env=env,
        cwd=REPO,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _rows(sub_env: SubEnv) -> list[OutboxRow]:
    return sub_env.subs.store.outbox()


def _sent(sub_env: SubEnv) -> int:
    return sum(1 for r in _rows(sub_env) if r.sent_at is not None)


def test_worker_killed_mid_send_resumes_without_duplicates(sub_env: SubEnv, tmp_path: Path) -> None:
    n, k = 6, 2
    addresses = [f"reader{i}@example.org" for i in range(n)]
    for a in addresses:
        sub_env.active(a, Frequency.daily)
    log = tmp_path / "worker.log"
    env = _env(sub_env, PAPERWIRE_DIGEST_SEND_INTERVAL="0.5")

    first = _start(["worker"], env, log)
    try:
        # it plans all N digests (catching up on today's slot), then sends slowly
        wait_for(lambda: _sent(sub_env) >= k, timeout=60, what=f"{k} digests sent")
        first.send_signal(signal.SIGKILL)  # sleeping between message k and k+1
        assert first.wait(timeout=10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
    assert len(_rows(sub_env)) == n  # all planned before the crash
    done = _sent(sub_env)
    assert k <= done < n
    assert len(sub_env.smtp.messages) == done

    second = _start(["worker"], env, log)
    try:
        wait_for(lambda: _sent(sub_env) == n, timeout=60, what="every digest sent")
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=20) == 0, log.read_text()
    finally:
        if second.poll() is None:
            second.kill()
    received = [m["To"] for m in sub_env.smtp.messages]
    assert len(received) == n, log.read_text()
    assert sorted(received) == sorted(addresses)  # nobody twice, nobody missing
    assert len(_rows(sub_env)) == n  # the restart planned nothing new for this period
    assert "worker stopped" in log.read_text()


def test_crash_between_acceptance_and_commit_resends_with_same_message_id(
    sub_env: SubEnv, tmp_path: Path
) -> None:
    n, k = 4, 2
    for i in range(n):
        sub_env.active(f"reader{i}@example.org", Frequency.daily)
    log = tmp_path / "send.log"
    env = _env(sub_env, **{CRASH_ENV: f"{k}:before-mark"})
    crashed = _start(["digest", "send", "--frequency", "daily"], env, log)
    assert crashed.wait(timeout=60) == -signal.SIGKILL, log.read_text()
    assert len(sub_env.smtp.messages) == k and _sent(sub_env) == k - 1

    env.pop(CRASH_ENV)
    time.sleep(1.1)  # the dead sender's claim on message k (digest_claim_seconds=1) lapses
    again = _start(["digest", "send", "--frequency", "daily"], env, log)
    assert again.wait(timeout=60) == 0, log.read_text()
    assert _sent(sub_env) == n
    ids = collections.Counter(m["Message-ID"] for m in sub_env.smtp.messages)
    to = collections.Counter(m["To"] for m in sub_env.smtp.messages)
    assert len(sub_env.smtp.messages) == n + 1  # exactly the one in the window, twice
    dups = [(i, c) for i, c in ids.items() if c > 1]
    assert len(dups) == 1 and dups[0][1] == 2
    dup_id = dups[0][0]
    assert [c for c in to.values() if c > 1] == [2]
    assert sum(to.values()) == n + 1 and len(to) == n
    [row] = [r for r in _rows(sub_env) if r.message_id == dup_id]
    assert row.attempts == 2
