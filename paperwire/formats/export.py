"""Collection exports: BibTeX (for reference managers) and JSONL (one paper per line).

BibTeX entries follow arXiv's own ``@misc`` form (``eprint``, ``archivePrefix``,
``primaryClass``). Titles and names keep their LaTeX; characters that would break a
``.bib`` file outside math (unescaped ``& % # _``, unbalanced braces) are escaped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from paperwire.models.community import CollectionExportRow

_SPECIAL = re.compile(r"(?<!\\)([&%#_])")
_MATH = re.compile(r"(\$[^$]*\$)")
_STOP = {"a", "an", "the", "on", "of", "for", "in", "to", "and", "with", "via", "towards"}


def _escape(text: str) -> str:
    """Escape ``& % # _`` outside ``$…$``; drop braces when they do not balance."""
    parts = _MATH.split(" ".join(text.split()))
    out = "".join(
        p if p.startswith("$") and p.endswith("$") else _SPECIAL.sub(r"\\\1", p) for p in parts
    )
    depth = 0
    for ch in out:
        depth += 1 if ch == "{" else -1 if ch == "}" else 0
        if depth < 0:
            break
    if depth != 0:
        out = out.replace("{", "").replace("}", "")
    return out


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
    seen: dict[str, int] = {}
    entries = []
    for row in rows:
        key = citation_key(row)
        n = seen.get(key, 0)
        seen[key] = n + 1
        if n:
            key += chr(ord("a") + n - 1) if n <= 26 else str(n)
        fields = [
            ("title", _escape(row.title)),
            ("author", " and ".join(_escape(a) for a in row.authors) or "Unknown"),
        ]
        if row.published_at:
            fields.append(("year", str(row.published_at.year)))
        fields += [("eprint", row.arxiv_id), ("archivePrefix", "arXiv")]
        if row.categories:
            fields.append(("primaryClass", row.categories[0]))
        fields.append(("url", row.links.arxiv))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        entries.append(f"@misc{{{key},\n{body}\n}}\n")
    return "\n".join(entries)


def jsonl(rows: Sequence[CollectionExportRow]) -> str:
    return "".join(row.model_dump_json() + "\n" for row in rows)
