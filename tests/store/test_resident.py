"""Files kept in memory (``store.resident``): locked within the limit, the database
first; followed as they grow, appear, disappear and are replaced; released on stop;
where the lock is refused, re-read instead and said so. Locked memory is read from the
kernel (``VmLck``), not from the object's own account."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from paperwire.store.resident import ResidentFiles, ResidentState, locked_kb
from tests.conftest import REPO

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="locked memory is read from /proc (Linux)"
)

KB = 1024


def _file(path: Path, kb: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(kb * KB))
    return path


def _locked() -> int:
    kb = locked_kb()
    assert kb is not None
    return kb


def test_files_are_locked_in_order_within_the_limit_and_released_on_stop(tmp_path: Path) -> None:
    db = _file(tmp_path / "paperwire.db", 512)
    index = tmp_path / "index"
    term = _file(index / "a" / "seg.term", 256)
    pos = _file(index / "b" / "seg.pos", 1024)  # does not fit beside the other two
    idx = _file(index / "c" / "seg.idx", 64)  # a later, smaller file still fits
    before = _locked()
    with ResidentFiles([db, index], limit_bytes=900 * KB, every=3600) as held:
        state = held.state
        assert state.locked, state.refused
        assert (state.files, state.bytes) == (3, (512 + 256 + 64) * KB)
        assert state.left_out == [str(pos)]
        assert _locked() - before == 512 + 256 + 64
        assert "in 3 files locked in memory" in state.describe()
        assert "1 over the limit" in state.describe()
    assert _locked() == before, "stop releases every lock"
    assert term.exists() and idx.exists()  # nothing is written or removed


def test_a_pass_follows_growth_new_deleted_and_replaced_files(tmp_path: Path) -> None:
    db = _file(tmp_path / "paperwire.db", 256)
    index = tmp_path / "index"
    old = _file(index / "old.term", 128)
    swapped = _file(index / "meta.json", 8)
    before = _locked()
    with ResidentFiles([db, index], limit_bytes=10 * 2**20, every=3600) as held:
        assert held.state.bytes == (256 + 128 + 8) * KB
        with db.open("ab") as f:  # the database grows: only the tail is mapped anew
            f.write(os.urandom(300 * KB))
        new = _file(index / "new.term", 96)  # the index writes a segment...
        old.unlink()  # ...and deletes a merged one
        _file(index / "meta.json.tmp", 12).replace(swapped)  # and replaces its manifest
        state = held.sync()
        assert (state.files, state.bytes) == (3, (556 + 96 + 12) * KB)
        # the grown file's tail mapping starts at the page its old end fell in: at most
        # one page is locked twice
        assert 0 <= _locked() - before - (556 + 96 + 12) <= 4
        new.unlink()
        with db.open("r+b") as f:  # truncated (a VACUUM): mapped afresh at its new size
            f.truncate(200 * KB)
        state = held.sync()
        assert (state.files, state.bytes) == (2, (200 + 12) * KB)
        assert _locked() - before == 200 + 12
    assert _locked() == before


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

    with ResidentFiles([index], limit_bytes=2**20, every=0.05, wait=False, on_held=on_held) as held:
        assert first.wait(10), "the first pass ran in the background"
        assert (told[0].files, told[0].bytes, told[0].locked) == (1, 32 * KB, True)
        _file(index / "two.term", 32)
        deadline = time.monotonic() + 10
        while held.state.files != 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (held.state.files, held.state.bytes) == (2, 64 * KB)


def test_a_refused_lock_is_said_and_the_pages_are_read_back_instead(tmp_path: Path) -> None:
    """Without CAP_IPC_LOCK and with a `ulimit -l` below the files, ``mlock`` fails: the
    files stay mapped, re-read each pass, and the state and the log say why."""
    big = _file(tmp_path / "paperwire.db", 1024)
    wrap = ["prlimit", "--memlock=65536:65536", "--"]
    if os.geteuid() == 0:  # root holds CAP_IPC_LOCK: drop it for the child
        wrap += ["setpriv", "--bounding-set", "-ipc_lock", "--"]
    missing = [tool for tool in ("prlimit", "setpriv") if tool in wrap and not shutil.which(tool)]
    if missing:
        pytest.skip(f"util-linux's {missing} not installed")
    code = (
        "import json, sys; from pathlib import Path; "
        "from paperwire.store.resident import ResidentFiles, ResidentState, locked_kb; "
        "r = ResidentFiles([Path(sys.argv[1])], 1 << 30, every=3600); s = r.sync(); "
        "print(json.dumps({'locked': s.locked, 'refused': s.refused, 'files': s.files, "
        "'bytes': s.bytes, 'vmlck': locked_kb(), 'said': s.describe()}))"
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
    assert state["locked"] is False and state["vmlck"] == 0
    assert state["refused"].startswith("mlock refused: ")
    assert (state["files"], state["bytes"]) == (1, 1024 * KB)
    assert "re-read each pass (mlock refused" in state["said"]
    assert "CAP_IPC_LOCK" in done.stderr  # the log says what would let it lock


def test_the_setting_holds_the_database_then_the_index(make_app) -> None:  # type: ignore[no-untyped-def]
    off = make_app(semantic=False)
    with off.kept_resident() as held:
        assert held is None  # 0, the default: the OS cache decides
    pw = make_app(semantic=False, resident_mb=64)
    pw.store.count()
    (pw.settings.index_dir / "segment.term").write_bytes(b"x" * 4096)
    with pw.kept_resident() as held:
        assert held is not None and held.state.locked
        files = held.paths
        expected = [pw.db.file] if pw.db.file is not None else []  # PostgreSQL: no file
        assert files == [*expected, pw.settings.index_dir]
        assert held.state.files >= len(files)
        assert held.state.bytes <= 64 * 2**20
