"""Where uploaded and cached images live: a small storage interface.

``MediaStorage`` is what avatars and thumbnails need (put, get, delete bytes by key);
``LocalMediaStorage`` keeps them under ``settings.media_root`` (``home/media``). Object
storage (S3 and the like) fits the same three methods; ``media_of(pw)`` is the one place
that chooses. Keys are relative paths of safe characters (``avatars/12-3-256.png``).
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Protocol

from paperwire.core import Paperwire

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")


class MediaStorage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes | None: ...

    def delete(self, key: str) -> None: ...


def check_key(key: str) -> str:
    """``key`` when it is a safe relative path (no ``..``, no absolute paths)."""
    if len(key) > 200 or not KEY_RE.match(key) or ".." in key:
        raise ValueError(f"bad media key {key!r}")
    return key


class LocalMediaStorage:
    """Files under ``root``; writes go to a temporary file first, then rename, so a
    reader never sees half an image."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, ValueError):
            return None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


_lock = threading.Lock()


def media_of(pw: Paperwire) -> MediaStorage:
    """The media storage of this ``Paperwire`` (created once, then shared)."""
    found: MediaStorage | None = getattr(pw, "_media", None)
    if found is None:
        with _lock:
            found = getattr(pw, "_media", None)
            if found is None:
                found = LocalMediaStorage(pw.settings.media_root)
                setattr(pw, "_media", found)  # noqa: B010 - Paperwire has no slot for it
    return found
