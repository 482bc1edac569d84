"""Keep the files a search reads in memory (``ResidentFiles``), so that a search never
waits on the disk after the OS dropped them from its cache.

A search reads the cards and texts of its page from the database by id, rows spread
over the papers table, and the keyword index's postings and the stored vectors from
files the index maps. Each is a few hundred 4 KB pages, cheap while they are in the OS
page cache and 50–100 µs each when they are not. The OS keeps them only while nothing
else wants the memory, and some hosts take idle page cache back within minutes: on the
benchmark VM the 74.7k database fell from 223 to 158 MB resident in 2.5 idle minutes,
and a keyword search's cards took 3.9 ms at the median where they take 1.6 with the
file resident (issue 16).

``ResidentFiles`` maps the files read-only and locks the mapped pages (``mlock``): the
kernel then keeps those pages of the page cache, which every process reading the file
shares, so one process (``paperwire serve``'s, which also runs the index follower)
holds them for all its workers. Where locking is refused (no ``CAP_IPC_LOCK`` and a low
``ulimit -l``) it asks the kernel to read the mapped pages back on each pass instead
(``MADV_WILLNEED``), which keeps most of them.

Files change under it: the database grows, the index writes new segments and deletes
merged ones. A pass every ``every`` seconds maps what grew (only the new tail), maps new
files, and releases deleted or replaced ones. The total stays within ``limit_bytes``,
files taken in the order given (the database first); what does not fit is named in
``state``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import mmap
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["ResidentFiles", "ResidentState"]

_GRANULE = mmap.ALLOCATIONGRANULARITY


@dataclass
class ResidentState:
    """What one pass left in memory: files and bytes held, whether their pages are
    locked, and what did not fit within the limit."""

    files: int = 0
    bytes: int = 0
    locked: bool = False
    refused: str = ""  # why locking was refused (then the pages are re-read each pass)
    left_out: list[str] = field(default_factory=list)

    def describe(self) -> str:
        held = f"{self.bytes / 2**20:,.0f} MB in {self.files} files"
        how = "locked in memory" if self.locked else f"re-read each pass ({self.refused})"
        more = f"; {len(self.left_out)} over the limit" if self.left_out else ""
        return f"{held} {how}{more}"


@dataclass
class _Mapped:
    """One file's mappings: the first covers it as it was first seen, each later one a
    tail it grew by."""

    inode: tuple[int, int]
    size: int
    maps: list[mmap.mmap]

    def close(self) -> None:
        for m in self.maps:
            m.close()  # unmapping unlocks
        self.maps.clear()


def _libc_mlock() -> Callable[..., int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        func = ctypes.CDLL(name, use_errno=True).mlock
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    func.restype = ctypes.c_int
    mlock: Callable[..., int] = func
    return mlock


class ResidentFiles:
    """Holds ``paths`` (files, or folders whose files are all held) in memory, within
    ``limit_bytes``; a pass every ``every`` seconds follows their changes (see the module
    doc). Use as a context manager, or ``start`` and ``stop``."""

    def __init__(
        self,
        paths: Sequence[Path],
        limit_bytes: int,
        every: float = 30.0,
        *,
        wait: bool = True,
        on_held: Callable[[ResidentState], None] | None = None,
    ) -> None:
        self.paths = list(paths)
        self.limit_bytes = limit_bytes
        self.every = every
        self.wait = wait  # entering runs the first pass (else the thread does: a server
        # starts at once, not after reading gigabytes; 4.0 s for 4.6 GB at 1M papers)
        self.on_held = on_held  # told what the first pass holds
        self.state = ResidentState()
        self._mapped: dict[Path, _Mapped] = {}
        self._mlock = _libc_mlock()
        self._refused = "" if self._mlock is not None else "no mlock in this C library"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> ResidentFiles:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Hold the files (before this returns when ``wait``, else first thing in the
        background thread), then follow them in that thread."""
        if self.wait:
            self._first_pass()
        self._thread = threading.Thread(
            target=self._follow, args=(not self.wait,), name="resident-files", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop following and release every mapping (and so every lock)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self._lock:
            for mapped in self._mapped.values():
                mapped.close()
            self._mapped.clear()
            self.state = ResidentState()

    def _first_pass(self) -> None:
        state = self.sync()
        log.info("resident files: %s", state.describe())
        if self.on_held is not None:
            self.on_held(state)

    def _follow(self, first: bool) -> None:
        if first:
            self._guarded(self._first_pass)
        while not self._stop.wait(self.every):
            self._guarded(self.sync)

    def _guarded(self, step: Callable[[], object]) -> None:
        try:
            step()
        except Exception:  # a pass must not end the thread: the next one retries
            log.exception("resident files: a pass failed")

    def _files(self) -> list[Path]:
        files: list[Path] = []
        for path in self.paths:
            if path.is_dir():
                files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
            elif path.is_file():
                files.append(path)
        return files

    def sync(self) -> ResidentState:
        """One pass: release what is gone or replaced, hold what is new or grew, within
        the limit; returns (and keeps as ``state``) what is held now."""
        with self._lock:
            if self._stop.is_set():
                return self.state
            wanted = self._files()
            for path in set(self._mapped) - set(wanted):
                self._mapped.pop(path).close()
            total = 0
            left_out: list[str] = []
            for path in wanted:
                try:
                    total = self._hold(path, total, left_out)
                except OSError as exc:  # deleted between the listing and the open
                    log.debug("resident files: %s: %s", path, exc)
                    gone = self._mapped.pop(path, None)
                    if gone is not None:
                        gone.close()
            if self._refused:
                self._reread()
            self.state = ResidentState(
                files=len(self._mapped),
                bytes=total,
                locked=not self._refused,
                refused=self._refused,
                left_out=left_out,
            )
            return self.state

    def _hold(self, path: Path, total: int, left_out: list[str]) -> int:
        """Hold ``path`` if it fits beside ``total`` bytes; returns the new total."""
        st = path.stat()
        inode = (st.st_dev, st.st_ino)
        mapped = self._mapped.get(path)
        if mapped is not None and (mapped.inode != inode or st.st_size < mapped.size):
            mapped.close()  # replaced or truncated: map it afresh
            del self._mapped[path]
            mapped = None
        held = mapped.size if mapped is not None else 0
        size = st.st_size
        if size == 0 or total + size > self.limit_bytes:
            if size > held and size > 0:
                left_out.append(str(path))
            return total + held  # what was held stays held (the limit bounds growth)
        if size == held:
            return total + size
        with open(path, "rb") as f:
            start = (held // _GRANULE) * _GRANULE
            m = mmap.mmap(f.fileno(), size - start, access=mmap.ACCESS_READ, offset=start)
        if mapped is None:
            mapped = self._mapped[path] = _Mapped(inode, size, [])
        mapped.maps.append(m)
        mapped.size = size
        self._lock_pages(m)
        return total + size

    def _lock_pages(self, m: mmap.mmap) -> None:
        if self._refused or self._mlock is None:
            return
        view = np.frombuffer(m, dtype=np.uint8)  # the mapping's address, without a copy
        address = view.ctypes.data
        del view  # an exported buffer would stop the mapping from closing
        if self._mlock(ctypes.c_void_p(address), ctypes.c_size_t(len(m))) != 0:
            err = ctypes.get_errno()
            self._refused = f"mlock refused: {os.strerror(err)}"
            log.warning(
                "resident files: %s (run with CAP_IPC_LOCK or raise `ulimit -l`); "
                "re-reading the pages every %.0f s instead",
                self._refused,
                self.every,
            )

    def _reread(self) -> None:
        if not hasattr(mmap, "MADV_WILLNEED"):
            return
        for mapped in self._mapped.values():
            for m in mapped.maps:
                m.madvise(mmap.MADV_WILLNEED)


def locked_kb() -> int | None:
    """This process's locked memory (``VmLck``, kB), where the OS reports it."""
    if not sys.platform.startswith("linux"):
        return None
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmLck:"):
            return int(line.split()[1])
    return None
