"""Open the index backend named by ``Settings.index``."""

from __future__ import annotations

from collections.abc import Callable

from paperwire.config import Settings
from paperwire.index.base import SearchIndex

__all__ = ["INDEX_BACKENDS", "open_index"]


def _embedded(settings: Settings) -> SearchIndex:
    from paperwire.index.embedded import EmbeddedIndex

    return EmbeddedIndex(settings.index_dir)


INDEX_BACKENDS: dict[str, Callable[[Settings], SearchIndex]] = {"embedded": _embedded}


def open_index(settings: Settings) -> SearchIndex:
    """The configured ``SearchIndex`` (its directory is created when missing)."""
    backend = INDEX_BACKENDS.get(settings.index)
    if backend is None:
        known = ", ".join(sorted(INDEX_BACKENDS))
        raise ValueError(
            f"unknown index backend {settings.index!r} (PAPERWIRE_INDEX); known: {known}"
        )
    return backend(settings)
