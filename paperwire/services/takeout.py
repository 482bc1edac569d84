"""Takeout: everything an account owns as one zip archive; importing it into another
paperwire; deleting the account.

The archive holds ``manifest.json`` (``TakeoutManifest``), one ``<kind>.jsonl`` per kind
registered in ``store.takeout`` (profile, votes, collections, subscriptions,
alerts, submissions, audit …), and each collection as BibTeX, CSL-JSON and RIS
under ``collections/`` for reference managers. Papers are named by arXiv id, so the
archive means the same on any install; importing it (``import_takeout``) recreates
collections, alerts (saved searches, follows), votes and what later kinds register, and lists what
named a paper the target does not have. Deleting an account runs every kind's deleter in
one transaction (``store.takeout``); docs/data.md says what is removed and what is
anonymised.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from typing import IO, Any

from paperwire.core import Paperwire
from paperwire.formats.export import bibtex
from paperwire.formats.references import csl_json, ris
from paperwire.models.data import AccountDeleted, TakeoutImport, TakeoutManifest
from paperwire.store.collections import CollectionStore
from paperwire.store.takeout import KINDS, TakeoutStore

MAX_ARCHIVE_BYTES = 64 * 1024 * 1024  # uncompressed, all members together
MAX_MEMBERS = 10_000


class TakeoutError(ValueError):
    """The archive is not a readable paperwire takeout."""


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "collection"


def write_takeout(pw: Paperwire, user_id: int, sink: IO[bytes]) -> TakeoutManifest:
    """Write the account's archive to ``sink`` (a file or a spooled temporary file)."""
    data = TakeoutStore(pw.db).export(user_id)
    collections = CollectionStore(pw.db)
    manifest = TakeoutManifest(
        generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        site=pw.settings.base_url,
        kinds={name: len(rows) for name, rows in data.items()},
    )
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, rows in data.items():
            lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
            archive.writestr(f"{name}.jsonl", lines)
        for c in data.get("collections", []):
            papers = collections.export_rows(int(c["id"]), user_id)
            stem = f"collections/{c['id']}-{_slug(str(c['name']))}"
            for ext, text in (
                ("bib", bibtex(papers)),
                ("csl.json", csl_json(papers)),
                ("ris", ris(papers)),
            ):
                archive.writestr(f"{stem}.{ext}", text)
                manifest.collections.append(f"{stem}.{ext}")
        archive.writestr("manifest.json", manifest.model_dump_json(indent=2) + "\n")
    return manifest


def _read_jsonl(archive: zipfile.ZipFile, member: str) -> list[dict[str, Any]]:
    rows = []
    text = archive.read(member).decode("utf-8")
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TakeoutError(f"{member}:{n}: not valid JSON: {exc.msg}") from None
        if not isinstance(value, dict):
            raise TakeoutError(f"{member}:{n}: expected a JSON object")
        rows.append(value)
    return rows


def read_takeout(source: IO[bytes]) -> dict[str, list[dict[str, Any]]]:
    """The kinds of an archive (checked: a zip with a paperwire manifest, bounded size)."""
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        raise TakeoutError(f"not a zip archive: {exc}") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > MAX_ARCHIVE_BYTES:
            raise TakeoutError("the archive is too large to be a takeout")
        names = {i.filename for i in infos}
        if "manifest.json" not in names:
            raise TakeoutError("no manifest.json: not a paperwire takeout")
        try:
            manifest = TakeoutManifest.model_validate_json(archive.read("manifest.json"))
        except ValueError as exc:
            raise TakeoutError(f"manifest.json: {exc}") from None
        if manifest.format != "paperwire-takeout":
            raise TakeoutError(f"manifest.json: format {manifest.format!r} is not a takeout")
        return {
            kind: _read_jsonl(archive, f"{kind}.jsonl")
            for kind in manifest.kinds
            if f"{kind}.jsonl" in names
        }


def import_takeout(pw: Paperwire, user_id: int, email: str, source: IO[bytes]) -> TakeoutImport:
    """Import an archive into the account ``user_id`` (whose address is ``email``)."""
    data = read_takeout(source)
    counts, unmatched = TakeoutStore(pw.db).import_(user_id, email, data)
    skipped = sorted(k for k in data if k not in counts and data[k])
    return TakeoutImport(imported=counts, unmatched=unmatched, skipped=skipped)


def delete_account(pw: Paperwire, user_id: int) -> AccountDeleted:
    """Remove or anonymise everything the account owns, then the account (one transaction)."""
    from paperwire.services.people import people_of

    people = people_of(pw)
    profile = people.profiles.by_id(user_id)
    TakeoutStore(pw.db).delete_user(user_id)
    if profile is not None and profile.avatar_key:  # the files, once the rows are gone
        people.forget_avatar_files(profile)
    return AccountDeleted(user_id=user_id, kinds={k.name: k.deletion for k in KINDS.values()})
