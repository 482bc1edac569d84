"""Names of the importers, importable without pulling in any of them (CLI help, config)."""

from __future__ import annotations

SOURCE_NAMES = ("hf-daily", "arxiv-listings", "arxiv", "table")
