"""Your data, anywhere: what a library import, a takeout and an account deletion report."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class UnmatchedEntry(BaseModel):
    """An entry of an imported file that became no paper here: where, what, and why."""

    location: str = Field(description="File and entry (key, number or line).")
    title: str | None = None
    reason: str


class LibraryImport(BaseModel):
    """A BibTeX/RIS/CSL-JSON file imported as a collection."""

    collection_id: int
    collection: str = Field(description="The new collection's name.")
    entries: int = Field(description="Entries in the file (read or not).")
    matched: dict[str, int] = Field(
        default_factory=dict, description="Papers added, by how they matched: arXiv id, DOI, title."
    )
    duplicates: int = Field(0, description="Entries naming a paper already added.")
    unmatched: list[UnmatchedEntry] = Field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(self.matched.values()) - self.duplicates


class TakeoutManifest(BaseModel):
    """``manifest.json`` of a takeout archive."""

    format: str = "paperwire-takeout"
    version: int = 1
    generated_at: dt.datetime
    site: str = Field(description="The site's base URL (PAPERWIRE_BASE_URL).")
    kinds: dict[str, int] = Field(description="Rows per kind (one JSONL file each).")
    collections: list[str] = Field(
        default_factory=list, description="Files per collection: BibTeX, CSL-JSON, RIS."
    )


class TakeoutImport(BaseModel):
    """A takeout archive imported into this site for one account."""

    imported: dict[str, int] = Field(description="Rows imported per kind.")
    unmatched: list[str] = Field(
        default_factory=list, description="What named a paper this site does not have."
    )
    skipped: list[str] = Field(
        default_factory=list, description="Kinds in the archive this site does not import."
    )


class AccountDeleted(BaseModel):
    """What deleting an account did, per kind: ``removed`` or ``anonymised``."""

    user_id: int
    kinds: dict[str, str]
