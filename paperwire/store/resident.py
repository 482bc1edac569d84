"""Keep the files a search reads in memory (``ResidentFiles``), so that a search never
waits on the disk after the OS dropped them from its cache.

A search reads the cards and texts of its page from the database by id, rows spread
over the papers table, and the keyword index's postings and the stored vectors from
files the index maps. Each is a few hundred 4 KB pages, cheap while they are in the OS
page cache and a disk read each when they are not. The OS keeps them only while nothing
else wants the memory, and some hosts take idle page cache back within minutes: on the
benchmark VM the 74.7k database fell from 223 to 158 MB cached in 2.75 idle minutes, and
a keyword search's cards took 3.9 ms at the median where they take 1.6 with the file
cached (issue 16).

The files are mapped read-only and their pages locked (``mlock``) by a **helper
process** (``store.holder``, standard library only) that opens no database. Locked
pages are the page cache's own, shared by every process reading the file, so the helper
holds them for the server and all its workers. It must be another process: SQLite locks
its file with POSIX record locks, and closing *any* descriptor of a file drops every
such lock the process holds on it, so a mapping opened and closed beside a live SQLite
connection would silently unlock the database under it
(https://www.sqlite.org/howtocorrupt.html, 2.2) and a writer in another process could
then delete the WAL it still uses.

Files change under it: the database grows, the index writes new segments and deletes
merged ones. The owner sends the files to hold every ``every`` seconds (the database and
its WAL, then the files the index reads now, ``SearchIndex.data_files``); the helper
maps what is new or changed afresh, releases what is gone, locks every mapping again (a
no-op for pages still locked; pages of a file truncated and written again are locked
anew), and keeps the total within ``limit_bytes``, files taken in the order given: a
file that does not fit whole is released and named in ``state.left_out``. Where locking
is refused (no ``CAP_IPC_LOCK`` and a ``ulimit -l`` below the files) the helper asks the
kernel to read those pages back on each pass instead (``MADV_WILLNEED``) and the state
says why. The helper exits when its owner closes the pipe or dies (end of file on its
input).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["ResidentFiles", "ResidentState"]


@dataclass
class ResidentState:
    """What one pass holds: files and bytes, how many of those bytes are locked, why
    the rest is not (then it is re-read each pass), what did not fit whole, what could
    not be mapped, and whether the helper ran at all."""

    files: int = 0
    bytes: int = 0
    locked_bytes: int = 0
    refused: str = ""
    left_out: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def locked(self) -> bool:
        return self.locked_bytes == self.bytes and not (self.error and not self.files)

    def describe(self) -> str:
        if self.error and not self.files:
            return f"nothing held ({self.error})"
        held = f"{self.bytes / 2**20:,.0f} MB in {self.files} files"
        if self.locked:
            text = f"{held} locked in memory"
        elif self.locked_bytes:
            text = (
                f"{held}, {self.locked_bytes / 2**20:,.0f} MB of them locked, the rest "
                f"re-read every pass ({self.refused})"
            )
        else:
            text = f"{held} re-read every pass ({self.refused})"
        if self.left_out:
            text += f"; {len(self.left_out)} over the limit"
        if self.skipped:
            text += f"; {len(self.skipped)} could not be mapped"
        if self.error:
            text += f"; the last pass failed, what was held stays held ({self.error})"
        return text

    def shape(self) -> tuple[object, ...]:
        """What an operator is told again when it changes (not the byte counts of a
        growing database)."""
        return (
            self.files,
            self.locked,
            self.refused,
            len(self.left_out),
            len(self.skipped),
            self.error,
        )


_HELPER = Path(__file__).with_name("holder.py")
_MAX_BACKOFF = 600.0


class ResidentFiles:
    """Holds the files ``files()`` names (files, or folders whose files all count) in
    memory through a helper process, within ``limit_bytes``; a pass every ``every``
    seconds follows their changes (see the module doc). Use as a context manager, or
    ``start`` and ``stop``. ``wait``: the first pass runs before ``start`` returns
    (a benchmark); else first thing in the background (a server starts at once: 4.2 s
    for 4.4 GB at 1M papers from a cold disk). ``on_change`` hears the first pass's
    state and every later one whose shape changed (``ResidentState.shape``)."""

    def __init__(
        self,
        files: Callable[[], Sequence[Path]],
        limit_bytes: int,
        every: float = 30.0,
        *,
        wait: bool = True,
        on_change: Callable[[ResidentState], None] | None = None,
    ) -> None:
        self.files = files
        self.limit_bytes = limit_bytes
        self.every = every
        self.wait = wait
        self.on_change = on_change
        self.state = ResidentState()
        self._helper: subprocess.Popen[str] | None = None
        self._passes = threading.Lock()  # one pass at a time on the helper's pipe
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0  # consecutive failed passes (a dead helper, a failed listing)
        self._next_try = 0.0
        self._told: tuple[object, ...] | None = None

    def __enter__(self) -> ResidentFiles:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if self.wait:
            self._step()
        self._thread = threading.Thread(
            target=self._follow, args=(not self.wait,), name="resident-files", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop following; the helper exits and the kernel releases its locks."""
        self._stop.set()
        helper, self._helper = self._helper, None
        if helper is not None:
            _end(helper)  # ends a pass in progress too: the thread's read returns
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
        with self._passes:  # a pass that started a helper before the stop has ended
            if self._helper is not None:
                _end(self._helper)
                self._helper = None
        self.state = ResidentState()

    def sync(self) -> ResidentState:
        """One pass now (what the background thread runs every ``every`` seconds).
        Never raises: what went wrong is ``state.error``, and a helper that keeps dying
        is started again after a growing wait (up to 10 minutes), not every pass."""
        with self._passes:
            if self._stop.is_set() or time.monotonic() < self._next_try:
                return self.state
            try:
                paths = [str(p) for p in self.files()]
            except Exception as exc:  # the index could not list its files: keep what is held
                self.state = replace(self.state, error=f"{type(exc).__name__}: {exc}")
                self._back_off()
                return self.state
            try:
                self.state = self._ask({"paths": paths, "limit": self.limit_bytes})
                self._failures = 0
            except Exception as exc:  # the helper died, could not start, or answered nonsense
                if self._stop.is_set():
                    return self.state
                self.state = ResidentState(error=f"{type(exc).__name__}: {exc}")
                helper, self._helper = self._helper, None
                if helper is not None:
                    _end(helper)
                self._back_off()
            return self.state

    def _back_off(self) -> None:
        """No new pass for a while after a failed one, doubling while they fail."""
        self._failures += 1
        wait = min(self.every * 2 ** (self._failures - 1), _MAX_BACKOFF)
        self._next_try = time.monotonic() + wait

    def _ask(self, request: dict[str, object]) -> ResidentState:
        helper = self._helper
        if helper is not None and helper.poll() is not None:  # killed between passes
            raise OSError(f"the resident-files helper exited ({helper.returncode})")
        if helper is None:
            helper = self._helper = subprocess.Popen(
                # by path, isolated (-I): the standard library only, never a package
                # found in the working directory
                [sys.executable, "-I", str(_HELPER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                # its own session: a terminal's Ctrl-C goes to the server, which then
                # closes the pipe
                start_new_session=True,
            )
        assert helper.stdin is not None and helper.stdout is not None
        helper.stdin.write(json.dumps(request) + "\n")
        helper.stdin.flush()
        line = helper.stdout.readline()
        if not line:
            raise OSError(f"the resident-files helper exited ({helper.poll()})")
        return ResidentState(**json.loads(line))

    def _step(self) -> None:
        """A pass, told (logged, and ``on_change``) when its shape is new."""
        state = self.sync()
        if self._stop.is_set() or state.shape() == self._told:
            return
        self._told = state.shape()
        log.info("resident files: %s", state.describe())
        if self.on_change is not None:
            self.on_change(state)

    def _follow(self, first: bool) -> None:
        if first:
            self._guarded()
        while not self._stop.wait(self.every):
            self._guarded()

    def _guarded(self) -> None:
        """A pass whose telling fails (``on_change`` printing to a closed console) is
        logged; the thread goes on."""
        try:
            self._step()
        except Exception:
            log.exception("resident files: a pass failed")


def _end(helper: subprocess.Popen[str]) -> None:
    """Close the helper's input (it exits at end of file); kill it if a pass keeps it."""
    try:
        if helper.stdin is not None:
            helper.stdin.close()
    except OSError:
        pass
    try:
        helper.wait(timeout=2)
    except subprocess.TimeoutExpired:
        helper.kill()
        helper.wait()
    if helper.stdout is not None:
        helper.stdout.close()
