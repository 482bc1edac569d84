"""Import a reference library (a Zotero/Mendeley/JabRef export: BibTeX, RIS, CSL-JSON) as a
collection.

Each entry is matched to a paper on this site by, in order: an arXiv id anywhere it is
usually written (``eprint``, an arxiv.org URL, ``arXiv:…`` in a journal or note field),
arXiv's DOI (``10.48550/arXiv.…``), then the title (the same title, ignoring case,
punctuation and spacing, among the keyword search's best hits). Entries that match no
paper are listed in the report with where they were and why, never silently dropped;
entries the parser could not read are listed the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from paperwire.core import Paperwire
from paperwire.formats.references import (
    MAX_ENTRIES,
    Reference,
    ReferenceFormat,
    read_references,
)
from paperwire.models.community import CollectionCreate
from paperwire.models.data import LibraryImport, UnmatchedEntry
from paperwire.models.search import SearchMode, SearchRequest
from paperwire.sources.normalize import InvalidArxivId, normalize_arxiv_id
from paperwire.store.collections import CollectionStore

# Candidates for an arXiv id inside free text (validated by ``normalize_arxiv_id``).
_ID_IN_TEXT = re.compile(
    r"(?<![\w.])(\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)(?![\w])"
)
_ARXIV_DOI = re.compile(r"10\.48550/arxiv\.(.+)$", re.IGNORECASE)
_NON_WORD = re.compile(r"[\W_]+")


def title_key(title: str) -> str:
    """A title as compared: case, accents' case, punctuation and spacing ignored."""
    return _NON_WORD.sub(" ", title.casefold()).strip()


def _arxiv_id_in(texts: Iterable[str]) -> str | None:
    for text in texts:
        for candidate in _ID_IN_TEXT.findall(text):
            try:
                return normalize_arxiv_id(candidate)
            except InvalidArxivId:
                continue
    return None


def _by_doi(doi: str | None) -> str | None:
    if not doi:
        return None
    m = _ARXIV_DOI.search(doi.strip())
    if m is None:
        return None
    try:
        return normalize_arxiv_id(m.group(1))
    except InvalidArxivId:
        return None


class LibraryMatcher:
    """Finds the site's paper for each reference."""

    def __init__(self, pw: Paperwire) -> None:
        self.pw = pw

    def _known(self, arxiv_id: str) -> bool:
        return bool(self.pw.store.cards([arxiv_id]))

    def by_title(self, title: str) -> str | None:
        key = title_key(title)
        if not key:
            return None
        res = self.pw.search.search(
            SearchRequest(q=title[:500], mode=SearchMode.keyword, as_text=True, limit=10)
        )
        for hit in res.hits:
            if title_key(hit.paper.title) == key:
                return hit.paper.arxiv_id
        return None

    def match(self, ref: Reference) -> tuple[str | None, str]:
        """(arXiv id on this site, how it matched) or (None, why not)."""
        tried = []
        for how, found in (
            ("arXiv id", _arxiv_id_in(ref.hints)),
            ("DOI", _by_doi(ref.doi)),
        ):
            if found is None:
                continue
            if self._known(found):
                return found, how
            tried.append(f"{how} {found} is not on this site")
        if ref.title:
            found = self.by_title(ref.title)
            if found is not None:
                return found, "title"
            tried.append("no paper here has this title")
        elif not tried:
            tried.append("the entry has no arXiv id, arXiv DOI or title")
        return None, "; ".join(tried)


def import_library(
    pw: Paperwire,
    owner_id: int,
    text: str,
    filename: str,
    *,
    name: str | None = None,
    fmt: ReferenceFormat | None = None,
    public: bool = False,
) -> LibraryImport:
    """Create a collection from a library file; the report lists every entry it could
    not match or read."""
    refs, problems = read_references(text, filename, fmt)
    if len(refs) > MAX_ENTRIES:
        raise ValueError(f"{filename}: {len(refs)} entries; at most {MAX_ENTRIES} per import")
    matcher = LibraryMatcher(pw)
    collections = CollectionStore(pw.db)
    title = " ".join((name or filename.rsplit("/", 1)[-1]).split())[:120] or "Imported"
    created = collections.create(
        owner_id,
        CollectionCreate(name=title, description=f"Imported from {filename}"[:2000], public=public),
    )
    report = LibraryImport(
        collection_id=created.id, collection=created.name, entries=len(refs) + len(problems)
    )
    for ref in refs:
        found, how = matcher.match(ref)
        if found is None:
            report.unmatched.append(
                UnmatchedEntry(location=ref.location, title=ref.title, reason=how)
            )
            continue
        report.matched[how] = report.matched.get(how, 0) + 1
        if not collections.add(created.id, owner_id, found):
            report.duplicates += 1
    report.unmatched += [UnmatchedEntry(location=p.location, reason=p.reason) for p in problems]
    return report
