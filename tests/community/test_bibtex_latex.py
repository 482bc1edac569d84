"""The BibTeX export compiles: every title (and author) of the shared HF corpus goes
through a real ``pdflatex`` + ``bibtex`` run, and no field can start another entry.

Debian's ``texlive-latex-base`` provides both programs (``make test`` installs it, as
``make latex``); without them the compile test is skipped and says so.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from paperwire.formats.export import bibtex
from paperwire.models.community import CollectionExportRow
from paperwire.models.papers import Links
from tests.conftest import HF_DAILY

LATEX = [shutil.which("pdflatex"), shutil.which("bibtex")]
needs_latex = pytest.mark.skipif(
    None in LATEX,
    reason="pdflatex/bibtex missing (install Debian's texlive-latex-base: make latex)",
)
DOCUMENT = r"""\documentclass{article}
\usepackage[T1]{fontenc}
\begin{document}
\nocite{*}
\bibliographystyle{plain}
\bibliography{refs}
\end{document}
"""


def row(
    aid: str, title: str, authors: list[str], categories: tuple[str, ...] = ()
) -> CollectionExportRow:
    return CollectionExportRow(
        arxiv_id=aid,
        title=title,
        authors=authors,
        abstract="",
        categories=list(categories),
        published_at=dt.datetime(2025, 1, 2, tzinfo=dt.UTC),
        upvotes=0,
        links=Links(arxiv=f"https://arxiv.org/abs/{aid}", pdf="x", page="y"),
        added_at=dt.datetime(2025, 1, 3, tzinfo=dt.UTC),
    )


HOSTILE = [
    row("2501.00001", "Q&A at 100% with $O(n_1)$ {unbalanced ~ ^ # \\ } } {", ["A. Smith"]),
    row(
        "2501.00002",
        "Injected",
        ["B. Smith"],
        ("cs.AI}}@misc{injected, title = {pwned}}",),
    ),
    row("2501.00003", "Tom}, author = {Mallory", ["Tom and Jerry Lab", "C. D'Arc"]),
]


def corpus_rows() -> list[CollectionExportRow]:
    """Every paper of the shared HF corpus once (title and authors as the feed has them)."""
    seen: dict[str, CollectionExportRow] = {}
    for path in sorted(HF_DAILY.glob("*.json")):
        for entry in json.loads(path.read_bytes()):
            paper = entry["paper"]
            names = [a["name"] for a in paper.get("authors", []) if a.get("name")]
            seen.setdefault(paper["id"], row(paper["id"], paper["title"], names))
    return list(seen.values())


def compile_bib(tmp_path: Path, text: str) -> tuple[str, str]:
    """Run pdflatex, bibtex, pdflatex; fail on any error. Returns (.bbl, .blg)."""
    (tmp_path / "refs.bib").write_text(text, encoding="utf-8")
    (tmp_path / "doc.tex").write_text(DOCUMENT)
    latex = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"]
    for cmd in (latex, ["bibtex", "doc"], latex):
        done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, errors="replace")
        log = done.stdout[-3000:]
        assert done.returncode == 0, f"{cmd[0]} failed ({done.returncode}):\n{log}"
        assert "Missing $ inserted" not in done.stdout, log
    return (tmp_path / "doc.bbl").read_text(errors="replace"), (tmp_path / "doc.blg").read_text()


def test_fields_are_escaped_and_cannot_open_an_entry() -> None:
    out = bibtex(HOSTILE)
    assert [line for line in out.splitlines() if line.startswith("@")] == [
        "@misc{smith2025qa,",
        "@misc{smith2025injected,",
        "@misc{lab2025tom,",
    ]
    # the specials are escaped, the title brace-protected
    assert (
        r"title = {{Q{\&}A at 100{\%} with {\$}O(n{\_}1){\$} {\textbraceleft}unbalanced "
        r"{\textasciitilde} {\textasciicircum} {\#} {\textbackslash} {\textbraceright} "
        r"{\textbraceright} {\textbraceleft}}},"
    ) in out
    assert (
        r"primaryClass = {cs.AI{\textbraceright}{\textbraceright}@misc{\textbraceleft}"
        r"injected, title = {\textbraceleft}pwned{\textbraceright}{\textbraceright}},"
    ) in out
    assert r"author = {{Tom and Jerry Lab} and C. D'Arc}," in out
    # braces balance as BibTeX counts them (backslashes do not escape a brace for it)
    for entry in out.split("\n\n"):
        depth = 0
        for ch in entry:
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth >= 0, entry
        assert depth == 0, entry


@pytest.mark.slow
@needs_latex
def test_every_corpus_title_compiles_with_pdflatex_and_bibtex(tmp_path: Path) -> None:
    rows = [*corpus_rows(), *HOSTILE]
    assert len(rows) > 10_000
    bbl, blg = compile_bib(tmp_path, bibtex(rows))
    assert "error message" not in blg, blg[-2000:]
    assert bbl.count(r"\bibitem") == len(rows)  # nothing injected, nothing lost
    # brace-protected titles keep their capitals in the plain style
    assert "SWE-Lancer: Can Frontier LLMs Earn" in bbl
    assert r"{Tom{\textbraceright}, author = {\textbraceleft}Mallory}" in bbl  # one title
