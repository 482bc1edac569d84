"""Look-alike names: a skeleton in the sense of Unicode TR39 (§4, "confusable detection").

Two display names whose skeletons are equal look the same to a reader (``аdmin`` with a
Cyrillic ``а`` and ``admin``; ``AIice`` and ``Alice``), so sign-up refuses the second.
The confusable pairs come from Unicode's ``confusables.txt`` as packaged by
``confusable-homoglyphs`` (its ``confusables.json``: each source character lists its
prototype; each prototype lists its sources). The skeleton maps every character to its
prototype after NFKC, and compares case-insensitively (the mapping is applied again after
case folding, so ``I``/``l``/``1`` and their lower cases all meet).
"""

from __future__ import annotations

import json
import unicodedata
from functools import cache
from importlib import resources


@cache
def _prototypes() -> dict[str, str]:
    """Character → its TR39 prototype (only characters that have another one)."""
    data = json.loads(
        resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    )
    pairs: dict[str, list[str]] = {
        key: [h["c"].strip("\u200e") for h in value] for key, value in data.items()
    }
    out: dict[str, str] = {}
    for char, glyphs in pairs.items():
        if len(char) != 1 or len(glyphs) != 1:
            continue  # a prototype lists many sources; a source lists one prototype
        target = glyphs[0]
        back = pairs.get(target, [])
        if back == [char]:  # a pair that lists only each other: one must be the prototype
            target = min(char, target, key=lambda c: (not c.isascii(), c))
        if target != char:
            out[char] = target
    return out


def _map(text: str) -> str:
    table = _prototypes()
    return unicodedata.normalize("NFD", "".join(table.get(c, c) for c in text))


def skeleton(name: str) -> str:
    """What ``name`` looks like: equal skeletons are confusable names."""
    text = unicodedata.normalize("NFKC", name)
    return _map(_map(text).casefold())
