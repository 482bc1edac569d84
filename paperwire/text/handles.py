"""Handles: the short, unique, URL- and mention-safe name of an account (``@ada-lovelace``).

A handle is derived once from the display name at sign-up (``slug``) and made unique by
the store (``candidates``: ``ada``, ``ada-2``, ``ada-3``, …). It is lower-case ASCII
letters, digits and single hyphens, so it can sit in a URL (``/users/{handle}``) and after
an ``@`` in a comment without escaping. Uniqueness is checked on its TR39 skeleton
(``handle_key``) as well, so ``bob1`` cannot be taken once ``bobl`` exists.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from paperwire.text.confusables import skeleton

HANDLE_MIN = 2
HANDLE_MAX = 30
HANDLE_RE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){1,29}$")
# An @mention inside text: not preceded by a word character or another @ (emails, @@).
MENTION_RE = re.compile(r"(?<![\w@/])@([A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){1,29})")
FALLBACK = "user"


def slug(display_name: str) -> str:
    """The handle a display name suggests: accents dropped, other characters as hyphens.

    ``Zoë O'Brien`` → ``zoe-o-brien``; a name with no ASCII letters or digits
    (``李雷``) gives ``user`` (the store numbers it)."""
    ascii_text = (
        unicodedata.normalize("NFKD", display_name).encode("ascii", "ignore").decode("ascii")
    )
    text = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    text = text[:HANDLE_MAX].rstrip("-")
    return text if len(text) >= HANDLE_MIN else FALLBACK


def handle_key(handle: str) -> str:
    """What a handle looks like (equal keys: confusable handles)."""
    return skeleton(handle.lower())


def candidates(base: str) -> Iterator[str]:
    """``base``, ``base-2``, ``base-3``, … each at most ``HANDLE_MAX`` characters."""
    yield base
    n = 2
    while True:
        suffix = f"-{n}"
        yield base[: HANDLE_MAX - len(suffix)].rstrip("-") + suffix
        n += 1


def check_handle(value: str) -> str:
    """A handle as typed by its owner, lower-cased; ``ValueError`` names the rule."""
    handle = value.strip().lower()
    if not HANDLE_RE.match(handle):
        raise ValueError(
            f"use {HANDLE_MIN}–{HANDLE_MAX} lower-case letters, digits or single hyphens "
            "(not at the start or end)"
        )
    return handle
