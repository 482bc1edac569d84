"""What a word is: the one definition query parsing, snippets and teasers share.

Words are NFKC-normalised, lowercased runs of letters, digits and combining marks (so
``pre-training`` → ``pre``, ``training`` and ``$\\alpha$-divergence`` → ``alpha``,
``divergence``). ``tokenize`` drops one-character tokens unless they are a digit
(``GPT 4``) or a CJK/kana/hangul character: single Latin letters are mostly noise (the
``s`` of ``model's``, the ``x`` of a formula). The query syntax built on top of these
words is ``paperwire.search.query``.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["tokenize", "word_or_mark_pattern", "word_pattern", "words"]


def _mark_class() -> str:
    """A regex character class body holding the combining marks of the BMP.

    Python's ``\\w`` excludes marks, which would split words in Devanagari, Thai or
    decomposed Latin text; ~40 ms once at import.
    """
    ranges: list[str] = []
    start: int | None = None
    for cp in range(0x10000):
        is_mark = unicodedata.category(chr(cp)).startswith("M")
        if is_mark and start is None:
            start = cp
        elif not is_mark and start is not None:
            ranges.append(f"\\u{start:04x}-\\u{cp - 1:04x}")
            start = None
    return "".join(ranges)


_MARKS = _mark_class()
_WORD = re.compile(r"[^\W_](?:[^\W_]|[" + _MARKS + r"])*")
_WORD_OR_MARK = re.compile(r"[^\W_]|[" + _MARKS + r"]")


# ASCII text (most abstracts): a word is a run of ASCII letters and digits, so mapping
# every other byte to a space and splitting finds the same words as ``_WORD`` at C speed
# (the regex engine costs ~70 ns a character with its combining-mark class).
_ASCII_SPLIT = bytes(b if chr(b).isascii() and chr(b).isalnum() else 0x20 for b in range(256))


def words(text: str) -> list[str]:
    """Every word of ``text`` as written, in order: ``word_pattern().findall(text)``."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_SPLIT).decode("ascii").split()
    return _WORD.findall(text)


def word_pattern() -> re.Pattern[str]:
    """The pattern of one word (letters/digits/combining marks) shared with snippets."""
    return _WORD


def word_or_mark_pattern() -> re.Pattern[str]:
    """One character that can continue a word: a letter, a digit or a combining mark."""
    return _WORD_OR_MARK


def _keep_token(token: str) -> bool:
    if len(token) > 1:
        return True
    return token.isdigit() or ord(token) >= 0x2E80  # CJK, kana, hangul, …


def tokenize(text: str, *, keep_short: bool = False) -> list[str]:
    """Split text into lowercase word tokens (see the module docstring for the rules).

    ``keep_short`` keeps one-character tokens too.
    """
    norm = unicodedata.normalize("NFKC", text).lower()
    tokens = words(norm)
    if keep_short:
        return tokens
    return [t for t in tokens if _keep_token(t)]
