"""Collection exports: BibTeX (for reference managers) and JSONL (one paper per line).

BibTeX entries follow arXiv's own ``@misc`` form (``eprint``, ``archivePrefix``,
``primaryClass``). Every field is text, never LaTeX: ``pylatexenc`` (a maintained
Unicode-to-LaTeX encoder) escapes the specials ``$ ^ & % # _ { } ~ \\`` (braces as
``\\textbraceleft``/``right``, since BibTeX counts ``\\{`` as a brace) and turns
non-ASCII letters into LaTeX macros (``é`` → ``{\\'e}``, ``α`` → ``\\ensuremath{\\alpha}``),
so a title cannot break ``pdflatex`` or close its field and start another entry. A title
written as ``$O(n)$`` is shown as those characters, not typeset as math. Titles are
brace-protected (``{{…}}``) so bibliography styles keep their capitals. Tested by
compiling the export of every title in the shared corpus with ``pdflatex`` + ``bibtex``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from pylatexenc.latexencode import (
    RULE_DICT,
    UnicodeToLatexConversionRule,
    UnicodeToLatexEncoder,
)

from paperwire.models.community import CollectionExportRow

_STOP = {"a", "an", "the", "on", "of", "for", "in", "to", "and", "with", "via", "towards"}
# BibTeX counts braces without looking at backslashes, so ``\\{`` would unbalance a field:
# literal braces become the text commands instead.
_BRACES = UnicodeToLatexConversionRule(
    RULE_DICT, {ord("{"): r"\textbraceleft", ord("}"): r"\textbraceright"}
)
_ENCODER = UnicodeToLatexEncoder(
    conversion_rules=[_BRACES, "defaults"],
    non_ascii_only=False,
    replacement_latex_protection="braces-all",
    unknown_char_policy=lambda ch: rf"\texttt{{U+{ord(ch):04X}}}",
    unknown_char_warning=False,
)
_AND = re.compile(r"\band\b", re.IGNORECASE)
_URL_UNSAFE = re.compile(r"[\s{}\\%#]")


def latex_text(text: str) -> str:
    """Plain text as LaTeX that typesets the same characters (whitespace collapsed)."""
    return str(_ENCODER.unicode_to_latex(" ".join(text.split())))


def _name(name: str) -> str:
    """One author; a name holding the word "and" is braced so BibTeX keeps it whole."""
    escaped = latex_text(name)
    return f"{{{escaped}}}" if _AND.search(name) else escaped


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def citation_key(row: CollectionExportRow) -> str:
    """``lastname2025firstword`` (arXiv id when there are no authors)."""
    last = _ascii_word(row.authors[0].split()[-1]) if row.authors and row.authors[0].split() else ""
    year = str(row.published_at.year) if row.published_at else ""
    words = [_ascii_word(w) for w in row.title.split()]
    first = next((w for w in words if w and w not in _STOP), "")
    key = f"{last}{year}{first}"
    return key or "arxiv" + _ascii_word(row.arxiv_id)


def bibtex(rows: Sequence[CollectionExportRow]) -> str:
    """The rows as ``@misc`` entries with unique citation keys."""
    seen: dict[str, int] = {}
    entries = []
    for row in rows:
        key = citation_key(row)
        n = seen.get(key, 0)
        seen[key] = n + 1
        if n:
            key += chr(ord("a") + n - 1) if n <= 26 else str(n)
        fields = [
            ("title", f"{{{latex_text(row.title)}}}"),
            ("author", " and ".join(_name(a) for a in row.authors) or "Unknown"),
        ]
        if row.published_at:
            fields.append(("year", str(row.published_at.year)))
        fields += [("eprint", latex_text(row.arxiv_id)), ("archivePrefix", "arXiv")]
        if row.categories:
            fields.append(("primaryClass", latex_text(row.categories[0])))
        fields.append(("url", _URL_UNSAFE.sub("", row.links.arxiv)))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        entries.append(f"@misc{{{key},\n{body}\n}}\n")
    return "\n".join(entries)


def jsonl(rows: Sequence[CollectionExportRow]) -> str:
    return "".join(row.model_dump_json() + "\n" for row in rows)
