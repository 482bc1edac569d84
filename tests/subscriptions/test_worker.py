"""The worker's schedule (cron strings, catch-up once, retry backoff) on a set clock, and the
sync job over real HF daily day files."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paperwire.cli import app
from paperwire.jobs.sync import SyncError, sync_all
from paperwire.jobs.worker import Job, Worker, default_jobs
from tests.conftest import HF_DAILY, AppFactory, backend_env

T0 = dt.datetime(2026, 11, 23, 12, 0, 30, tzinfo=dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += dt.timedelta(**kw)


def test_schedule_catch_up_backoff_and_trigger(make_app: AppFactory) -> None:
    pw = make_app(semantic=False, worker_retry_seconds=60, worker_retry_max_seconds=200)
    clock = Clock(T0)
    calls: list[str] = []
    failures = {"flaky": 3}

    def ok(stop: threading.Event) -> str:
        calls.append("daily")
        return "done"

    def flaky(stop: threading.Event) -> str:
        calls.append("flaky")
        if failures["flaky"]:
            failures["flaky"] -= 1
            raise RuntimeError("source unreachable")
        return "synced"

    jobs = [Job("daily", "0 7 * * *", ok), Job("flaky", "0 * * * *", flaky)]
    w = Worker(pw, jobs, clock=clock)
    # never ran: both are due now (today's 07:00 slot was missed)
    assert [(n, ok_) for n, ok_, _ in w.run_due()] == [("daily", True), ("flaky", False)]
    assert w.states["daily"].next_run == dt.datetime(2026, 11, 24, 7, tzinfo=dt.UTC)
    assert w.states["flaky"].next_run == T0 + dt.timedelta(seconds=60)  # retry, not 13:00
    assert w.run_due() == []  # nothing due yet
    clock.advance(seconds=60)
    assert w.run_due()[0][1] is False
    assert w.states["flaky"].next_run == clock.now + dt.timedelta(seconds=120)  # doubled
    clock.advance(seconds=120)
    w.run_due()
    # capped at worker_retry_max_seconds, and never later than the next cron slot
    assert w.states["flaky"].next_run == clock.now + dt.timedelta(seconds=200)
    clock.advance(seconds=200)
    assert w.run_due() == [("flaky", True, "synced")]
    assert w.states["flaky"].failures == 0
    assert w.states["flaky"].next_run == dt.datetime(2026, 11, 23, 13, tzinfo=dt.UTC)

    # a restarted worker remembers the last successes: nothing is due before its slot
    again = Worker(pw, jobs, clock=clock)
    assert again.run_due() == []
    again.trigger("daily")
    assert again.run_due() == [("daily", True, "done")]
    # down over night: the missed 07:00 slot runs once at start, not once per missed slot
    clock.advance(days=2)
    later = Worker(pw, jobs, clock=clock)
    assert [n for n, _, _ in later.run_due()] == ["daily", "flaky"]
    assert later.run_due() == []
    assert calls.count("daily") == 3


def test_bad_cron_is_a_clear_error(make_app: AppFactory) -> None:
    pw = make_app(semantic=False, digest_daily_cron="every morning")
    with pytest.raises(ValueError, match="digest_daily_cron: 'every morning' is not a cron"):
        default_jobs(pw)


def _two_days(tmp_path: Path) -> Path:
    folder = tmp_path / "days"
    folder.mkdir()
    for day in ("2025-06-10.json", "2025-06-11.json"):
        shutil.copy(HF_DAILY / day, folder / day)
    return folder


def test_sync_job_and_cli(make_app: AppFactory, tmp_path: Path) -> None:
    folder = _two_days(tmp_path)
    pw = make_app(semantic=False, sync_sources=[f"hf-daily:{folder}"])
    report = sync_all(pw)
    added = report.summaries[0].added
    assert added > 10 and report.changed == added
    assert sync_all(pw).changed == 0  # idempotent
    with pytest.raises(SyncError, match="missing") as caught:
        sync_all(pw, [f"hf-daily:{folder}", f"hf-daily:{tmp_path / 'missing'}"])
    assert caught.value.report.summaries[0].unchanged == added  # the good one still ran

    runner = CliRunner()
    home = str(pw.settings.home)
    env = {
        "PAPERWIRE_SEMANTIC": "false",
        **backend_env(pw.settings),
    }
    r = runner.invoke(app, ["sync", "--source", f"hf-daily:{folder}", "--home", home], env=env)
    assert r.exit_code == 0, r.output
    assert f"{added} unchanged" in r.output
    r = runner.invoke(app, ["sync", "--source", "nowhere", "--home", home], env=env)
    assert r.exit_code == 2 and "unknown sync source 'nowhere'" in r.output
    r = runner.invoke(
        app, ["sync", "--source", f"hf-daily:{tmp_path / 'missing'}", "--home", home], env=env
    )
    assert r.exit_code == 1 and "does not exist" in r.output
