"""Files kept in memory (``store.resident``): locked within the limit, the database
first; followed as they grow, appear, disappear, are replaced or truncated; released
when the owner stops or dies; the owner's SQLite locks untouched; where the lock is
refused, re-read instead and said so. Locked memory is read from the kernel (the
helper's ``VmLck``), not from the object's own account."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from paperwire.models.papers import PaperRecord
from paperwire.services.ingest import ingest_records
from paperwire.store.resident import ResidentFiles, ResidentState
from tests.conftest import REPO

KB = 1024
_CAP_IPC_LOCK = 14


def _can_lock(kb: int) -> bool:
    """Whether this process may lock ``kb`` (root's capability, or the soft limit)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    return _has_ipc_lock() or soft == resource.RLIM_INFINITY or soft >= kb * KB


def _has_ipc_lock() -> bool:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> _CAP_IPC_LOCK & 1)
    return False


pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="locked memory is read from /proc (Linux)"
)
locks = pytest.mark.skipif(
    sys.platform.startswith("linux") and not _can_lock(4 * KB),
    reason="`ulimit -l` below 4 MB and no CAP_IPC_LOCK: nothing can be locked here",
)


def _file(path: Path, kb: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(kb * KB))
    return path


def _helper_locked(held: ResidentFiles) -> int:
    assert held._helper is not None
    kb = locked_kb(held._helper.pid)
    assert kb is not None
    return kb


def locked_kb(pid: int | None = None) -> int | None:
    """A process's locked memory (``VmLck``, kB), as the kernel reports it."""
    for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
        if line.startswith("VmLck:"):
            return int(line.split()[1])
    return None


@locks
def test_files_are_locked_in_order_within_the_limit_and_released_on_stop(tmp_path: Path) -> None:
    db = _file(tmp_path / "paperwire.db", 512)
    index = tmp_path / "index"
    _file(index / "a" / "seg.term", 256)
    pos = _file(index / "b" / "seg.pos", 1024)  # does not fit beside the other two
    _file(index / "c" / "seg.idx", 64)  # a later, smaller file still fits
    with ResidentFiles(lambda: [db, index], limit_bytes=900 * KB, every=3600) as held:
        state = held.state
        assert state.locked, state.refused
        assert (state.files, state.bytes) == (3, (512 + 256 + 64) * KB)
        assert state.left_out == [str(pos)]
        assert _helper_locked(held) == 512 + 256 + 64
        assert locked_kb() == 0, "the owner maps nothing itself"
        assert state.describe() == "1 MB in 3 files locked in memory; 1 over the limit"
        assert held._helper is not None
        assert locked_kb(held._helper.pid) == _helper_locked(held)  # (a live helper)
        rss = int(
            next(
                line.split()[1]
                for line in Path(f"/proc/{held._helper.pid}/status").read_text().splitlines()
                if line.startswith("RssAnon:")
            )
        )
        assert rss < 40 * KB, f"the helper imports the standard library only ({rss} kB)"
        helper = held._helper
    assert helper is not None and helper.poll() is not None, "stop ends the helper"


@locks
def test_a_pass_follows_growth_new_deleted_replaced_and_truncated_files(tmp_path: Path) -> None:
    db = _file(tmp_path / "paperwire.db", 256)
    index = tmp_path / "index"
    old = _file(index / "old.term", 128)
    swapped = _file(index / "meta.json", 8)
    with ResidentFiles(lambda: [db, index], 10 * 2**20, every=3600) as held:
        assert held.state.bytes == (256 + 128 + 8) * KB
        with db.open("ab") as f:  # the database grows
            f.write(os.urandom(300 * KB))
        new = _file(index / "new.term", 96)  # the index writes a segment...
        old.unlink()  # ...and deletes a merged one
        _file(index / "meta.json.tmp", 12).replace(swapped)  # and replaces its manifest
        state = held.sync()
        assert (state.files, state.bytes) == (3, (556 + 96 + 12) * KB)
        assert _helper_locked(held) == 556 + 96 + 12, "one mapping per file, however it grew"
        for _ in range(5):  # growing again and again adds no mappings
            with db.open("ab") as f:
                f.write(os.urandom(4 * KB))
            held.sync()
        assert _helper_locked(held) == 576 + 96 + 12
        new.unlink()
        with db.open("r+b") as f:  # truncated (a VACUUM): mapped afresh at its new size
            f.truncate(200 * KB)
        state = held.sync()
        assert (state.files, state.bytes) == (2, (200 + 12) * KB)
        assert _helper_locked(held) == 200 + 12


@locks
def test_the_limit_holds_when_an_earlier_file_grows(tmp_path: Path) -> None:
    db = _file(tmp_path / "paperwire.db", 512)
    segment = _file(tmp_path / "index" / "seg.term", 400)
    with ResidentFiles(lambda: [db, tmp_path / "index"], 1024 * KB, every=3600) as held:
        assert held.state.files == 2
        with db.open("ab") as f:
            f.write(os.urandom(300 * KB))
        state = held.sync()
        assert (state.files, state.bytes, state.left_out) == (1, 812 * KB, [str(segment)])
        assert _helper_locked(held) == 812, "what no longer fits is let go"


@locks
def test_the_owner_s_sqlite_locks_are_untouched(tmp_path: Path) -> None:
    """Closing any descriptor of a file drops every POSIX lock the process holds on it,
    SQLite's included: the helper, not the owner, opens the database."""
    db = tmp_path / "paperwire.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    conn.execute("SELECT x FROM t").fetchall()
    pid = f" {os.getpid()} "

    def mine() -> list[str]:
        # each lock without its place in the list (other processes' locks move it)
        lines = Path("/proc/locks").read_text().splitlines()
        return sorted(line.split(":", 1)[1] for line in lines if pid in line)

    before = mine()
    assert before, "SQLite holds a lock on its open WAL database"
    with ResidentFiles(lambda: [db], 2**20, every=3600) as held:
        assert held.state.files == 1 and held.state.locked
        assert mine() == before
    assert mine() == before
    conn.close()


@locks
def test_the_background_pass_holds_first_then_picks_up_a_new_file(tmp_path: Path) -> None:
    """``wait=False`` (a server): entering returns before the first pass, which runs in
    the thread and says what it holds."""
    index = tmp_path / "index"
    _file(index / "one.term", 32)
    told: list[ResidentState] = []
    first = threading.Event()

    def on_held(state: ResidentState) -> None:
        told.append(state)
        first.set()

    release = threading.Event()

    def files() -> list[Path]:
        assert release.wait(30)
        return [index]

    with ResidentFiles(files, limit_bytes=2**20, every=0.05, wait=False, on_change=on_held) as held:
        assert not first.is_set() and held.state.files == 0, "entering did not wait"
        release.set()
        assert first.wait(30), "the first pass ran in the background"
        assert (told[0].files, told[0].bytes, told[0].locked) == (1, 32 * KB, True)
        _file(index / "two.term", 32)
        deadline = time.monotonic() + 10
        while len(told) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (told[1].files, told[1].bytes) == (2, 64 * KB), "a new shape is told"
        assert len(told) == 2, "passes that change nothing tell nothing"


@locks
def test_the_helper_ends_with_its_owner(tmp_path: Path) -> None:
    """A killed server leaves no helper holding memory: its pipe reaches end of file."""
    db = _file(tmp_path / "paperwire.db", 64)
    code = (
        "import sys, time; from pathlib import Path; "
        "from paperwire.store.resident import ResidentFiles; "
        "r = ResidentFiles(lambda: [Path(sys.argv[1])], 1 << 20); r.start(); "
        "print(r._helper.pid, r.state.files, flush=True); time.sleep(600)"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", code, str(db)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None
        helper_pid, files = map(int, owner.stdout.readline().split())
        assert files == 1 and (locked_kb(helper_pid) or 0) == 64
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        if owner.stdout is not None:
            owner.stdout.close()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{helper_pid}").exists() and time.monotonic() < deadline:
        if Path(f"/proc/{helper_pid}/stat").read_text().split()[2] == "Z":
            break  # exited; a zombie until init reaps it
        time.sleep(0.05)
    alive = Path(f"/proc/{helper_pid}/stat")
    assert not alive.exists() or alive.read_text().split()[2] == "Z"


def test_a_refused_lock_is_said_and_the_pages_are_read_back_instead(tmp_path: Path) -> None:
    """Without CAP_IPC_LOCK and with a `ulimit -l` below the files, ``mlock`` fails: the
    files stay mapped, re-read each pass, and the state says why."""
    big = _file(tmp_path / "paperwire.db", 1024)
    wrap = ["prlimit", "--memlock=65536:65536", "--"]
    if _has_ipc_lock():  # root: drop the capability for the child
        wrap += ["setpriv", "--bounding-set", "-ipc_lock", "--"]
    missing = [tool for tool in ("prlimit", "setpriv") if tool in wrap and not shutil.which(tool)]
    if missing:
        pytest.skip(f"util-linux's {missing} not installed")
    code = (
        "import json, sys; from pathlib import Path; "
        "from paperwire.store.resident import ResidentFiles; "
        "from tests.store.test_resident import _has_ipc_lock, locked_kb; "
        "r = ResidentFiles(lambda: [Path(sys.argv[1])], 1 << 30, every=3600); r.start(); "
        "s = r.state; print(json.dumps({'locked': s.locked, 'refused': s.refused, "
        "'files': s.files, 'bytes': s.bytes, 'vmlck': locked_kb(r._helper.pid), "
        "'said': s.describe(), 'cap': _has_ipc_lock()})); r.stop()"
    )
    done = subprocess.run(
        [*wrap, sys.executable, "-c", code, str(big)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout.strip().splitlines()[-1])
    if state["cap"]:
        pytest.skip("setpriv could not drop CAP_IPC_LOCK here (no CAP_SETPCAP)")
    assert state["locked"] is False and state["vmlck"] == 0
    assert state["refused"].startswith("mlock refused: ") and "CAP_IPC_LOCK" in state["refused"]
    assert (state["files"], state["bytes"]) == (1, 1024 * KB)
    assert state["said"].startswith("1 MB in 1 files re-read every pass (mlock refused")


@locks
def test_the_setting_holds_the_database_then_the_files_the_index_reads(make_app) -> None:  # type: ignore[no-untyped-def]
    off = make_app(semantic=False)
    with off.kept_resident() as held:
        assert held is None  # 0, the default: the OS cache decides
    pw = make_app(semantic=False, resident_mb=64)
    records = [
        PaperRecord(
            arxiv_id=f"2401.{n:05d}",
            source="hf-daily",
            title=f"Paper {n} on graph neural networks",
            abstract="Message passing over sparse graphs, measured at scale. " * 20,
        )
        for n in range(40)
    ]
    ingest_records(pw, records, "hf-daily")
    legacy = pw.settings.index_dir / "keyword"  # left from an older layout: not read
    _file(legacy / "old.term", 4)
    reads = pw.index.data_files()
    with pw.kept_resident() as held:
        if pw.db.file is None and not reads:  # PostgreSQL and a Milvus server
            assert held is None
            return
        assert held is not None and held.state.locked, held.state.describe()
        files = held.files()
        assert not any(legacy in (f, *f.parents) for f in files)
        on_disk = [p for f in files for p in ([f] if f.is_file() else f.rglob("*")) if p.is_file()]
        expected = sum(p.stat().st_size for p in on_disk)
        assert expected > 0 and held.state.bytes == expected
        assert _helper_locked(held) * KB >= expected, "every byte held is locked"
        if pw.db.file is not None:
            assert files[:2] == [pw.db.file, Path(f"{pw.db.file}-wal")]  # the database first


@locks
def test_a_failing_listing_is_an_error_in_the_state_and_the_thread_goes_on(tmp_path: Path) -> None:
    one = _file(tmp_path / "one.term", 16)
    calls = {"n": 0}

    def files() -> list[Path]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the index is being rebuilt")
        return [one]

    with ResidentFiles(files, 2**20, every=0.05) as held:
        assert held.state.error == "RuntimeError: the index is being rebuilt"
        assert held.state.describe().startswith("nothing held (RuntimeError")
        deadline = time.monotonic() + 10
        while held.state.files != 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert held.state.files == 1 and held.state.locked and not held.state.error
        calls["n"] = 0  # fails again: what is held stays held, and the state says so
        deadline = time.monotonic() + 10
        while not held.state.error and time.monotonic() < deadline:
            time.sleep(0.02)
        assert held.state.files == 1 and held.state.locked and _helper_locked(held) == 16
        assert held.state.describe() == (
            "0 MB in 1 files locked in memory; the last pass failed, what was held stays "
            "held (RuntimeError: the index is being rebuilt)"
        )


@locks
def test_a_killed_helper_is_an_error_then_started_again(tmp_path: Path) -> None:
    """The OOM killer picks the largest process: the helper. Its death is said, and a
    later pass starts another, after a wait that doubles while they keep failing."""
    one = _file(tmp_path / "one.term", 16)
    with ResidentFiles(lambda: [one], 2**20, every=3600) as held:
        assert held._helper is not None
        first = held._helper.pid
        os.kill(first, signal.SIGKILL)
        state = held.sync()
        assert state.error.startswith("OSError: the resident-files helper exited")
        assert state.describe().startswith("nothing held (OSError")
        assert held.sync() is state, "no new helper before the wait is over"
        held._next_try = 0.0  # the wait (an hour here) is over
        state = held.sync()
        assert held._helper is not None and held._helper.pid != first
        assert state.locked and state.files == 1 and _helper_locked(held) == 16
