"""Keep the files a search reads in memory (``ResidentFiles``), so that a search never
waits on the disk after the OS dropped them from its cache.

A search reads the cards and texts of its page from the database by id, rows spread
over the papers table, and the keyword index's postings and the stored vectors from
files the index maps. Each is a few hundred 4 KB pages, cheap while they are in the OS
page cache and a disk read each when they are not. The OS keeps them only while nothing
else wants the memory, and some hosts take idle page cache back within minutes: on the
benchmark VM the 74.7k database fell from 223 to 158 MB cached in 2.5 idle minutes, and
a keyword search's cards took 3.9 ms at the median where they take 1.6 with the file
cached (issue 16).

The files are mapped read-only and their pages locked (``mlock``) by a **helper
process** that opens no database. Locked pages are the page cache's own, shared by
every process reading the file, so the helper holds them for the server and all its
workers. It must be another process: SQLite locks its file with POSIX record locks,
and closing *any* descriptor of a file drops every such lock the process holds on it,
so a mapping opened and closed beside a live SQLite connection would silently unlock
the database under it (https://www.sqlite.org/howtocorrupt.html, 2.2) and a writer in
another process could then delete the WAL it still uses.

Files change under it: the database grows, the index writes new segments and deletes
merged ones. The owner sends the files to hold every ``every`` seconds (the database,
then the files the index reads now, ``SearchIndex.data_files``); the helper maps what
is new or changed afresh, releases what is gone, locks every mapping again (a no-op for
pages still locked; a page rewritten in place is locked again), and keeps the total
within ``limit_bytes``, files taken in the order given: what does not fit is released
and named in ``state.left_out``. Where locking is refused (no ``CAP_IPC_LOCK`` and a
``ulimit -l`` below the files) the helper asks the kernel to read those pages back on
each pass instead (``MADV_WILLNEED``) and the state says why. The helper exits when its
owner closes the pipe or dies (end of file on its input).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
import mmap
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["ResidentFiles", "ResidentState", "locked_kb"]


@dataclass
class ResidentState:
    """What one pass holds: files and bytes, how many of those bytes are locked, why
    the rest is not (then it is re-read each pass), and what did not fit."""

    files: int = 0
    bytes: int = 0
    locked_bytes: int = 0
    refused: str = ""
    left_out: list[str] = field(default_factory=list)
    error: str = ""  # the helper could not be run or stopped answering

    @property
    def locked(self) -> bool:
        return not self.error and self.locked_bytes == self.bytes

    def describe(self) -> str:
        if self.error:
            return f"nothing held ({self.error})"
        held = f"{self.bytes / 2**20:,.0f} MB in {self.files} files"
        if self.locked:
            how = "locked in memory"
        elif self.locked_bytes:
            how = (
                f"{self.locked_bytes / 2**20:,.0f} MB of them locked, the rest re-read "
                f"every pass ({self.refused})"
            )
        else:
            how = f"re-read every pass ({self.refused})"
        more = f"; {len(self.left_out)} over the limit" if self.left_out else ""
        return f"{held} {how}{more}"

    def _shape(self) -> tuple[object, ...]:
        """What an operator is told again when it changes (not the byte counts of a
        growing database)."""
        return (self.files, self.locked, self.refused, len(self.left_out), self.error)


class ResidentFiles:
    """Holds the files ``files()`` names (files, or folders whose files all count) in
    memory through a helper process, within ``limit_bytes``; a pass every ``every``
    seconds follows their changes (see the module doc). Use as a context manager, or
    ``start`` and ``stop``. ``wait``: the first pass runs before ``start`` returns
    (a benchmark); else first thing in the background (a server starts at once: 4.0 s
    for 4.4 GB at 1M papers from a cold disk). ``on_held`` hears the first pass's
    state."""

    def __init__(
        self,
        files: Callable[[], Sequence[Path]],
        limit_bytes: int,
        every: float = 30.0,
        *,
        wait: bool = True,
        on_held: Callable[[ResidentState], None] | None = None,
    ) -> None:
        self.files = files
        self.limit_bytes = limit_bytes
        self.every = every
        self.wait = wait
        self.on_held = on_held
        self.state = ResidentState()
        self._helper: subprocess.Popen[str] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ResidentFiles:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if self.wait:
            self._first_pass()
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
            self._thread.join(timeout=10)
            self._thread = None
        if self._helper is not None:  # started by a pass that began before the stop
            _end(self._helper)
            self._helper = None
        self.state = ResidentState()

    def sync(self) -> ResidentState:
        """One pass now (what the background thread runs every ``every`` seconds)."""
        if self._stop.is_set():
            return self.state
        before = self.state
        try:
            paths = [str(p) for p in self.files()]
            self.state = self._ask({"paths": paths, "limit": self.limit_bytes})
        except (OSError, ValueError) as exc:  # the helper died or could not start
            if self._stop.is_set():
                return self.state
            self.state = ResidentState(error=f"{type(exc).__name__}: {exc}")
            if self._helper is not None:
                _end(self._helper)
                self._helper = None  # the next pass starts another
        if self.state._shape() != before._shape():
            level = logging.WARNING if (self.state.refused or self.state.error) else logging.INFO
            log.log(level, "resident files: %s", self.state.describe())
        return self.state

    def _ask(self, request: dict[str, object]) -> ResidentState:
        helper = self._helper
        if helper is None or helper.poll() is not None:
            helper = self._helper = subprocess.Popen(
                [sys.executable, "-m", "paperwire.store.resident"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                # its own session: a terminal's Ctrl-C goes to the server, which then
                # closes the pipe; the helper never prints a KeyboardInterrupt
                start_new_session=True,
            )
        assert helper.stdin is not None and helper.stdout is not None
        helper.stdin.write(json.dumps(request) + "\n")
        helper.stdin.flush()
        line = helper.stdout.readline()
        if not line:
            raise OSError(f"the resident-files helper exited ({helper.poll()})")
        answer = json.loads(line)
        return ResidentState(**answer)

    def _first_pass(self) -> None:
        state = self.sync()
        if self.on_held is not None and not self._stop.is_set():
            self.on_held(state)

    def _follow(self, first: bool) -> None:
        if first:
            self._first_pass()
        while not self._stop.wait(self.every):
            self.sync()


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


# --------------------------------------------------------------------------- the helper


@dataclass
class _Mapped:
    """One file's mapping as of its last pass: remapped whole when the file's identity
    or size changes (one descriptor and one mapping per file, however it grows)."""

    inode: tuple[int, int]
    size: int
    mapping: mmap.mmap
    locked: bool = False


def _libc_mlock() -> Callable[..., int] | None:
    """libc's ``mlock`` (the process's own C library first: ``find_library`` needs
    ldconfig or a compiler, which slim images lack); None where there is none."""
    candidates: list[str | None] = [None, ctypes.util.find_library("c")]
    for name in candidates:
        try:
            func = ctypes.CDLL(name, use_errno=True).mlock
        except (OSError, AttributeError, TypeError):
            continue
        func.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        func.restype = ctypes.c_int
        mlock: Callable[..., int] = func
        return mlock
    return None


class _Holder:
    """The helper's mappings (it runs one pass per request, see the module doc)."""

    def __init__(self) -> None:
        self._mapped: dict[str, _Mapped] = {}
        self._mlock = _libc_mlock()

    def sync(self, paths: Sequence[str], limit: int) -> ResidentState:
        state = ResidentState()
        wanted = list(dict.fromkeys(_expanded(paths)))
        for gone in set(self._mapped) - set(wanted):
            self._release(gone)
        for path in wanted:
            try:
                self._hold(path, limit, state)
            except (OSError, ValueError) as exc:  # gone or shrunk meanwhile, no fds left
                self._release(path)
                state.refused = state.refused or f"{path}: {exc}"
        for mapped in self._mapped.values():
            self._lock(mapped, state)
        return state

    def _hold(self, path: str, limit: int, state: ResidentState) -> None:
        st = os.stat(path)
        mapped = self._mapped.get(path)
        if st.st_size == 0 or state.bytes + st.st_size > limit:
            self._release(path)
            if st.st_size:
                state.left_out.append(path)
            return
        if mapped is None or mapped.inode != (st.st_dev, st.st_ino) or mapped.size != st.st_size:
            with open(path, "rb") as f:
                now = os.fstat(f.fileno())
                if now.st_size == 0 or state.bytes + now.st_size > limit:
                    self._release(path)
                    if now.st_size:
                        state.left_out.append(path)
                    return
                fresh = mmap.mmap(f.fileno(), now.st_size, access=mmap.ACCESS_READ)
            self._release(path)  # after the new mapping exists: its pages stay cached
            mapped = self._mapped[path] = _Mapped((now.st_dev, now.st_ino), now.st_size, fresh)
        state.files += 1
        state.bytes += mapped.size

    def _lock(self, mapped: _Mapped, state: ResidentState) -> None:
        """Lock the mapping again (cheap for pages still locked; a page rewritten in
        place lost its lock) or, refused, ask for its pages to be read back."""
        if self._mlock is None:
            state.refused = "no mlock in this C library"
        else:
            view = np.frombuffer(mapped.mapping, dtype=np.uint8)  # its address, no copy
            address = view.ctypes.data
            del view  # an exported buffer would keep the mapping from closing
            if self._mlock(ctypes.c_void_p(address), ctypes.c_size_t(mapped.size)) == 0:
                mapped.locked = True
                state.locked_bytes += mapped.size
                return
            err = ctypes.get_errno()
            state.refused = (
                f"mlock refused: {os.strerror(err)}; it needs CAP_IPC_LOCK or a "
                "`ulimit -l` above the files"
            )
        mapped.locked = False
        if hasattr(mmap, "MADV_WILLNEED"):
            mapped.mapping.madvise(mmap.MADV_WILLNEED)

    def _release(self, path: str) -> None:
        mapped = self._mapped.pop(path, None)
        if mapped is not None:
            mapped.mapping.close()  # unmapping unlocks

    def close(self) -> None:
        for path in list(self._mapped):
            self._release(path)


def _expanded(paths: Sequence[str]) -> Iterator[str]:
    """Files as given, and every file under a folder (sorted): a file or folder that
    vanishes during the walk is skipped, not an error."""
    for path in paths:
        if os.path.isfile(path):
            yield path
        elif os.path.isdir(path):
            found: list[str] = []
            for root, _dirs, names in os.walk(path, onerror=lambda _exc: None):
                found.extend(os.path.join(root, n) for n in names)
            yield from (p for p in sorted(found) if os.path.isfile(p))


def _serve(requests: IO[str], answers: IO[str]) -> None:
    """The helper's loop: one JSON request per line (``{"paths": [...], "limit": N}``),
    one state per line back; ends at end of file."""
    holder = _Holder()
    try:
        for line in requests:
            request = json.loads(line)
            state = holder.sync(request["paths"], int(request["limit"]))
            answers.write(json.dumps(asdict(state)) + "\n")
            answers.flush()
    finally:
        holder.close()


def locked_kb(pid: int | None = None) -> int | None:
    """A process's locked memory (``VmLck``, kB), where the OS reports it."""
    if not sys.platform.startswith("linux"):
        return None
    status = Path(f"/proc/{pid or 'self'}/status")
    for line in status.read_text().splitlines():
        if line.startswith("VmLck:"):
            return int(line.split()[1])
    return None


if __name__ == "__main__":
    _serve(sys.stdin, sys.stdout)
