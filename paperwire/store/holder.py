"""The helper process of ``store.resident``: maps files read-only and locks their pages.

Run by path with ``python -I`` (``ResidentFiles`` starts it), so it imports nothing but
the standard library: no package code, no database driver, a small process (its
resident size is the files it holds). It opens no database: see ``store.resident`` for
why the locking cannot happen in the server's own process.

Protocol: one JSON request per line on standard input, ``{"paths": [...], "limit": N}``;
one JSON answer per line on standard output, the pass's state (the fields of
``store.resident.ResidentState``). It exits at end of file (its owner closed the pipe or
died), and the kernel releases every mapping and lock with it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import mmap
import os
import resource
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

_PAGE = mmap.PAGESIZE
_MAP_FAILED = ctypes.c_void_p(-1).value


def _libc() -> Any:
    """The process's own C library first (``find_library`` needs ldconfig or a
    compiler, which slim images lack); None where neither has ``mlock``."""
    for name in (None, ctypes.util.find_library("c")):
        try:
            libc = ctypes.CDLL(name, use_errno=True)
            libc.mlock  # noqa: B018 -- a missing symbol raises here
        except (OSError, AttributeError, TypeError):
            continue
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_long,
        ]
        for call in (libc.munmap, libc.mlock):
            call.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
            call.restype = ctypes.c_int
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        libc.madvise.restype = ctypes.c_int
        return libc
    return None


@dataclass
class _Mapped:
    """One file's mapping as of its last pass: mapped afresh whole when the file's
    identity or size changes (one mapping per file, however it grows). The descriptor
    is closed once mapped; the mapping stays."""

    inode: tuple[int, int]
    size: int
    address: int


class Holder:
    """The helper's mappings; ``sync`` is one pass (see ``store.resident``)."""

    def __init__(self) -> None:
        self._mapped: dict[str, _Mapped] = {}
        self._libc = _libc()

    def sync(self, paths: Sequence[str], limit: int) -> dict[str, Any]:
        state: dict[str, Any] = {
            "files": 0,
            "bytes": 0,
            "locked_bytes": 0,
            "refused": "",
            "left_out": [],
            "skipped": [],
        }
        if self._libc is None:
            state["refused"] = "no mmap/mlock in this C library"
            return state
        wanted = list(dict.fromkeys(_expanded(paths)))
        for gone in set(self._mapped) - set(wanted):
            self._release(gone)
        for path in wanted:
            try:
                self._hold(path, limit, state)
            except FileNotFoundError:  # deleted since the listing: nothing to hold
                self._release(path)
            except OSError as exc:  # no descriptors or mappings left, a permission
                self._release(path)
                state["skipped"].append(f"{path}: {exc}")
        for mapped in self._mapped.values():
            self._lock(mapped, state)
        return state

    def _hold(self, path: str, limit: int, state: dict[str, Any]) -> None:
        mapped = self._mapped.get(path)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            st = os.fstat(fd)
            if st.st_size == 0 or state["bytes"] + st.st_size > limit:
                self._release(path)  # a file that does not fit whole is left out
                if st.st_size:
                    state["left_out"].append(path)
                return
            if (
                mapped is None
                or mapped.inode != (st.st_dev, st.st_ino)
                or mapped.size != st.st_size
            ):
                address = self._libc.mmap(None, st.st_size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
                if address is None or address == _MAP_FAILED:
                    err = ctypes.get_errno()
                    raise OSError(err, os.strerror(err))
                self._release(path)  # after the new mapping exists: its pages stay cached
                mapped = self._mapped[path] = _Mapped((st.st_dev, st.st_ino), st.st_size, address)
        finally:
            os.close(fd)
        state["files"] += 1
        state["bytes"] += mapped.size

    def _lock(self, mapped: _Mapped, state: dict[str, Any]) -> None:
        """Lock the mapping again each pass: a no-op for pages still locked, and pages
        of a file truncated and written again (same size, same inode) are locked anew.
        Refused, the kernel is asked to read its pages back instead."""
        if self._libc.mlock(mapped.address, mapped.size) == 0:
            state["locked_bytes"] += mapped.size
            return
        err = ctypes.get_errno()
        if not state["refused"]:
            state["refused"] = f"mlock refused: {os.strerror(err)}" + _hint(err, state)
        self._libc.madvise(mapped.address, mapped.size, getattr(mmap, "MADV_WILLNEED", 3))

    def _release(self, path: str) -> None:
        mapped = self._mapped.pop(path, None)
        if mapped is not None:
            self._libc.munmap(mapped.address, mapped.size)  # unmapping unlocks

    def close(self) -> None:
        for path in list(self._mapped):
            self._release(path)


def _hint(err: int, state: dict[str, Any]) -> str:
    """What would let the lock through, where the limit explains the refusal."""
    if err == errno.EPERM:
        return "; it needs CAP_IPC_LOCK or a `ulimit -l` above the files"
    soft, _hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if err in (errno.ENOMEM, errno.EAGAIN) and soft != resource.RLIM_INFINITY:
        return f"; `ulimit -l` is {soft // 1024:,} kB: it needs CAP_IPC_LOCK or more"
    return ""


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


def serve(requests: IO[str], answers: IO[str]) -> None:
    """One pass per request line, one state line back; ends at end of file, or quietly
    when the owner is gone mid-answer."""
    holder = Holder()
    try:
        for line in requests:
            request = json.loads(line)
            state = holder.sync(request["paths"], int(request["limit"]))
            answers.write(json.dumps(state) + "\n")
            answers.flush()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        holder.close()


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
