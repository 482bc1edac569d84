"""The docs stay true: every setting they name exists, every `paperwire` command they
show exists, and every relative link points at a file (and heading) that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paperwire.cli import app
from paperwire.config import Settings
from tests.conftest import REPO

DOCS = [REPO / "README.md", REPO / "DEVELOPERS.md", *sorted((REPO / "docs").glob("*.md"))]
FIELDS = {name.upper() for name in Settings.model_fields}
# Documented environment variables that are not Settings fields.
NOT_SETTINGS = {
    "PAPERWIRE_TEST_BACKEND",
    "PAPERWIRE_TEST_POSTGRES_URL",
    "PAPERWIRE_TEST_MILVUS_URI",
}


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_settings_named_in_docs_exist(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    unknown = []
    for name in set(re.findall(r"PAPERWIRE_[A-Z0-9_]*[A-Z0-9]", text)):
        if name in NOT_SETTINGS:
            continue
        field = name.removeprefix("PAPERWIRE_")
        # `PAPERWIRE_SMTP_*`, `PAPERWIRE_ARGON2_…` name a family of settings.
        if field not in FIELDS and not any(f.startswith(field + "_") for f in FIELDS):
            unknown.append(name)
    assert not unknown, f"{doc.name} names settings that do not exist: {sorted(unknown)}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_paperwire_commands_in_docs_exist(doc: Path) -> None:
    runner = CliRunner()
    text = doc.read_text(encoding="utf-8")
    seen: set[tuple[str, ...]] = set()
    inline = r"`(?:[^`]*/)?paperwire ([a-z][a-z-]*(?: [a-z][a-z-]*)?)"
    in_blocks = r"(?m)^\s*(?:\$ )?(?:[^\s`]*/)?paperwire ([a-z][a-z-]*(?: [a-z][a-z-]*)?)"
    for match in [*re.finditer(inline, text), *re.finditer(in_blocks, text)]:
        words = tuple(match.group(1).split())
        if words in seen:
            continue
        seen.add(words)
        result = runner.invoke(app, [*words, "--help"])
        if result.exit_code != 0 and len(words) == 2:  # `paperwire up --x`: one word
            result = runner.invoke(app, [words[0], "--help"])
        assert result.exit_code == 0, f"{doc.name}: `paperwire {' '.join(words)}` does not exist"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        dest = (doc.parent / path).resolve() if path else doc
        assert dest.exists(), f"{doc.name}: link to missing {target}"
        if anchor and dest.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", dest.read_text(encoding="utf-8"), re.M)
            assert anchor in {_slug(h) for h in headings}, f"{doc.name}: no heading #{anchor}"


def test_readme_names_every_mail_setting_and_table_column() -> None:
    """A newcomer found only `PAPERWIRE_SMTP_*` and no list of the columns `paperwire
    ingest table` reads: each mail setting and each column name is spelled out."""
    from paperwire.sources.table import ALIASES
    from paperwire.sources.table import FIELDS as TABLE_FIELDS

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    mail = sorted(f for f in FIELDS if f.startswith(("SMTP_", "MAIL_FROM")))
    assert len(mail) >= 6
    missing = [f"PAPERWIRE_{f}" for f in mail if f"PAPERWIRE_{f}" not in readme]
    assert not missing, f"README does not name {missing}"
    assert "python -m aiosmtpd -n -l 127.0.0.1:8025" in readme  # a local sink to try it
    columns = {*TABLE_FIELDS, *(a for names in ALIASES.values() for a in names)}
    unlisted = sorted(c for c in columns if f"`{c}`" not in readme)
    assert not unlisted, f"README does not list the table columns {unlisted}"
    assert "--map FIELD=COLUMN" in readme
