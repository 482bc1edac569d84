"""Importing a reference library (BibTeX, RIS, CSL-JSON as Zotero writes them) as a
collection: matched by arXiv id, arXiv DOI or title; the rest listed with reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paperwire.cli import app
from paperwire.core import Paperwire
from paperwire.formats.export import bibtex
from paperwire.formats.references import csl_json, read_references, ris
from paperwire.models.community import CollectionCreate, UserCreate
from paperwire.services.community import community_of
from paperwire.services.library import import_library
from tests.conftest import backend_env
from tests.data.test_takeout import FAST, ids


@pytest.fixture
def site(make_app, shared_data):  # type: ignore[no-untyped-def]
    from tests.data.conftest import fill

    pw = make_app(**FAST)
    fill(pw, listing_rows=60)
    return pw


def _user(pw: Paperwire, email: str = "reader@example.org") -> int:
    return (
        community_of(pw)
        .signup(
            UserCreate(email=email, password="a long password", display_name=email.split("@")[0])
        )
        .id
    )


def _collection_rows(pw: Paperwire, user: int, aids: list[str]):  # type: ignore[no-untyped-def]
    comm = community_of(pw)
    c = comm.collections.create(user, CollectionCreate(name="source"))
    for aid in aids:
        comm.collections.add(c.id, user, aid)
    return comm.collections.export_rows(c.id, user)


@pytest.mark.parametrize(
    ("writer", "filename"),
    [(bibtex, "library.bib"), (ris, "library.ris"), (csl_json, "library.json")],
)
def test_our_own_exports_import_back_whole(site: Paperwire, writer, filename) -> None:  # type: ignore[no-untyped-def]
    user = _user(site)
    aids = ids(site, 250)[::25]  # hf-daily and listing papers, titles with LaTeX and accents
    text = writer(_collection_rows(site, user, aids))
    report = import_library(site, user, text, filename)
    assert report.unmatched == [] and report.added == len(aids) == report.entries
    view = community_of(site).collections.view(report.collection_id, user)
    assert view is not None and {p.arxiv_id for p in view.papers} == set(aids)


def test_zotero_style_entries_match_by_url_doi_or_title(site: Paperwire) -> None:
    user = _user(site)
    a, b, c = (site.store.get(x) for x in ids(site, 3))
    assert a and b and c
    end = ""  # Zotero ends each entry with "ER  - " (the trailing space is the format's)
    zotero_ris = f"""TY  - PREPRINT
TI  - Something Zotero abbreviated
AU  - Doe, Jane
UR  - http://arxiv.org/abs/{a.arxiv_id}v2
ER  - {end}

TY  - JOUR
TI  - Another
DO  - 10.48550/ARXIV.{b.arxiv_id}
ER  - {end}

TY  - JOUR
TI  - {c.title.upper()}
ER  - {end}

TY  - JOUR
TI  - A title nobody wrote
DO  - 10.1000/not-arxiv
ER  - {end}

TY  - JOUR
TI  - never ended
"""
    report = import_library(site, user, zotero_ris, "My Library.ris", name="Zotero")
    assert report.matched == {"arXiv id": 1, "DOI": 1, "title": 1}
    reasons = {u.location: u.reason for u in report.unmatched}
    assert reasons == {
        "My Library.ris: entry 4 (line 16)": "no paper here has this title",
        "My Library.ris: entry 5 (line 21)": "unreadable RIS: no `ER  -` line ends the entry",
    }
    csl = json.dumps([{"id": "x", "title": "Nothing", "DOI": f"10.48550/arXiv.{'2901.99999'}"}, 7])
    report = import_library(site, user, csl, "items.json")
    assert [u.reason for u in report.unmatched] == [
        "DOI 2901.99999 is not on this site; no paper here has this title",
        "expected an object, got int",
    ]
    refs, problems = read_references("{not json", "bad.json")
    assert refs == [] and problems[0].location == "bad.json: line 1"


def test_cli_import_collection_lists_unmatched(site: Paperwire, tmp_path: Path) -> None:
    _user(site)
    aid = ids(site, 1)[0]
    path = tmp_path / "zotero.bib"
    path.write_text(
        f"@misc{{one, title={{x}}, eprint={{{aid}}}}}\n@misc{{two, title={{Unheard of}}}}\n"
    )
    env = {**backend_env(site.settings), "PAPERWIRE_HOME": str(site.settings.home)}
    result = CliRunner().invoke(
        app, ["import", "collection", str(path), "--user", "reader@example.org"], env=env
    )
    assert result.exit_code == 2, result.output  # something was not matched
    assert "1 papers added of 2 entries" in result.output
    assert "zotero.bib: entry two (line 2)" in result.output
    missing = CliRunner().invoke(
        app, ["import", "collection", str(path), "--user", "nobody@example.org"], env=env
    )
    assert missing.exit_code == 1 and "no account" in missing.output


def test_cli_takeout_import_and_delete(site: Paperwire, make_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    user = _user(site)
    rows = _collection_rows(site, user, ids(site, 4))
    assert len(rows) == 4
    env = {**backend_env(site.settings), "PAPERWIRE_HOME": str(site.settings.home)}
    archive = tmp_path / "me.zip"
    out = CliRunner().invoke(
        app, ["export", "takeout", "reader@example.org", "-o", str(archive)], env=env
    )
    assert out.exit_code == 0, out.output
    assert "1 collections" in out.output

    target = make_app(**FAST)
    from tests.data.conftest import fill

    fill(target, listing_rows=60)
    _user(target)
    env2 = {**backend_env(target.settings), "PAPERWIRE_HOME": str(target.settings.home)}
    out = CliRunner().invoke(
        app, ["import", "takeout", str(archive), "--user", "reader@example.org"], env=env2
    )
    assert out.exit_code == 0, out.output
    assert "1 collections" in out.output
    moved = community_of(target).users.by_email("reader@example.org")
    assert moved is not None
    [summary] = community_of(target).collections.list_for(moved.id)
    assert (summary.name, summary.paper_count) == ("source", 4)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    out = CliRunner().invoke(
        app, ["import", "takeout", str(bad), "--user", "reader@example.org"], env=env2
    )
    assert out.exit_code == 1 and "not a zip archive" in out.output

    out = CliRunner().invoke(app, ["users", "delete", "reader@example.org", "--yes"], env=env)
    assert out.exit_code == 0, out.output
    assert "collections removed" in out.output and "submissions anonymised" in out.output
    assert community_of(site).users.by_email("reader@example.org") is None
