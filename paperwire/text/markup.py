"""Comments as HTML: Markdown (markdown-it-py) with ``$…$`` math, sanitised by nh3.

Why in this order: the Markdown parser runs with raw HTML off, the math segments are
taken out by ``mdit_py_plugins.dollarmath`` before emphasis or escapes can mangle them,
and the HTML that comes out is then cleaned by nh3 (ammonia) with an allow-list, so a
bug in any earlier step cannot put a script, an event handler or a ``javascript:`` link
on the page. Math is emitted as its escaped TeX source, delimiters included, inside
``<span class="math">`` / ``<div class="math math-display">``: without JavaScript the
reader sees the TeX; ``static/math.js`` renders it with the bundled KaTeX.

``@handle`` mentions outside code become links to ``/users/{handle}`` when ``known``
says the handle exists; ``Rendered.mentions`` lists them (for notifications).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin

from paperwire.text.handles import MENTION_RE

TAGS = frozenset(
    {"p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol",
     "li", "a", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "span",
     "div"}
)  # fmt: skip
CLASSES = frozenset({"math", "math-display", "mention"})
LINK_REL = "nofollow ugc noopener"


@dataclass(frozen=True)
class Rendered:
    html: str
    mentions: tuple[str, ...]  # lower-cased handles that exist, in order of appearance


def _math_inline(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    return f'<span class="math">${html.escape(tokens[idx].content)}$</span>'


def _math_inline_display(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    return f'<span class="math math-display">$${html.escape(tokens[idx].content)}$$</span>'


def _math_block(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    tex = html.escape(tokens[idx].content.strip())
    return f'<div class="math math-display">$${tex}$$</div>\n'


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True)
    md.add_render_rule("math_inline", _math_inline)
    md.add_render_rule("math_inline_double", _math_inline_display)
    md.add_render_rule("math_block", _math_block)
    md.add_render_rule("math_block_label", _math_block)
    return md


def _lower_headings(tokens: list[Token]) -> None:
    """``#`` and ``##`` in a comment become h3 and h4 (h5, h6 below): the page owns h1/h2."""
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 2, 6)}"


def _texts(tokens: Iterable[Token]) -> Iterable[Token]:
    """Every plain-text inline token (code spans, code blocks and math are other types)."""
    for token in tokens:
        if token.type == "inline" and token.children:
            in_link = 0
            for child in token.children:
                if child.type == "link_open":
                    in_link += 1
                elif child.type == "link_close":
                    in_link -= 1
                elif child.type == "text" and not in_link:
                    yield child


def _mention_html(text: str, known: set[str]) -> str:
    out, last = [], 0
    for m in MENTION_RE.finditer(text):
        handle = m.group(1).lower()
        if handle not in known:
            continue
        out.append(html.escape(text[last : m.start()]))
        out.append(f'<a class="mention" href="/users/{handle}">@{html.escape(m.group(1))}</a>')
        last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def _allowed_attribute(tag: str, attr: str, value: str) -> str | None:
    if attr == "class":
        kept = [c for c in value.split() if c in CLASSES]
        return " ".join(kept) or None
    return value


def sanitize(markup: str) -> str:
    """The allow-list: structure, emphasis, code, tables, links (http, https, mailto and
    site-relative only, ``rel="nofollow ugc noopener"``), math spans; nothing else."""
    return nh3.clean(
        markup,
        tags=set(TAGS),
        attributes={"a": {"href", "title", "class"}, "span": {"class"}, "div": {"class"}},
        url_schemes={"http", "https", "mailto"},
        link_rel=LINK_REL,
        attribute_filter=_allowed_attribute,
        strip_comments=True,
    )


def mentioned(source: str) -> list[str]:
    """The ``@handles`` a comment mentions outside code and links, lower-cased, in order."""
    tokens = _parser().parse(source)
    seen: dict[str, None] = {}
    for token in _texts(tokens):
        for m in MENTION_RE.finditer(token.content):
            seen.setdefault(m.group(1).lower())
    return list(seen)


def render(source: str, known: Callable[[list[str]], set[str]] = lambda hs: set()) -> Rendered:
    """``source`` (a comment's Markdown) as safe HTML; ``known(handles)`` says which of
    the mentioned handles exist (they become links)."""
    md = _parser()
    env: dict[str, Any] = {}
    tokens = md.parse(source, env)
    _lower_headings(tokens)
    texts = list(_texts(tokens))
    wanted: dict[str, None] = {}
    for token in texts:
        for m in MENTION_RE.finditer(token.content):
            wanted.setdefault(m.group(1).lower())
    exists = known(list(wanted)) if wanted else set()
    if exists:
        for token in texts:
            if "@" in token.content:
                token.type = "html_inline"
                token.content = _mention_html(token.content, exists)
    markup = md.renderer.render(tokens, md.options, env)
    return Rendered(sanitize(markup), tuple(h for h in wanted if h in exists))
