"""The Jinja environment (autoescaped) and the helper every page renders through."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.responses import HTMLResponse

import paperwire
from paperwire.web import formatting
from paperwire.web.formatting import FILTERS

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
# KaTeX, copied here by `make install` (npm); pages load it only when it is there, so an
# install without npm serves no broken links (math then shows as its TeX source).
KATEX_DIR = STATIC_DIR / "vendor" / "katex"


class KeptCards:
    """Rendered card bodies (``card_rest`` in ``_card.html``: all of a card but the
    viewer's upvote button), kept by what they show, ``size`` of them (~1.5 KB each).

    A vote re-renders every page listing the paper's days (the home feed, the week's),
    hundreds of cards of which one changed; a search answered from a kept ranking
    renders the same 30 cards again. The key is the card itself (by identity: a stored
    paper's card is one immutable object while it is kept, ``store.convert.card_from``;
    the entry holds it, so the identity cannot be reused), the day (a card's date leaves
    out the current year), the hit's highlighted parts and match reasons, the heading
    level, the shared terms and the submitter."""

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self._kept: OrderedDict[tuple[Any, ...], tuple[object, Markup]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(
        self,
        macro: Callable[..., Markup],  # a macro of an autoescaped template
        p: Any,
        hit: Any,
        level: int,
        shares: Sequence[str] | None,
        submitter: str | None,
    ) -> Markup:
        key = (
            id(p),
            formatting.today_utc(),  # a card's date shows its year unless it is this year's
            level,
            submitter,
            tuple(shares) if shares else None,
            (
                tuple((x.text, x.hit) for x in hit.title_parts),
                tuple((x.text, x.hit) for x in hit.snippet),
                tuple(hit.matched_by),
                tuple(hit.matched_terms),
            )
            if hit is not None
            else None,
        )
        with self._lock:
            found = self._kept.get(key)
            if found is not None and found[0] is p:
                self._kept.move_to_end(key)
                return found[1]
        html = macro(p, hit, level, shares, submitter)
        with self._lock:
            self._kept[key] = (p, html)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return html


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every template is HTML; never turn this off
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        # Templates ship inside the package: checking each one's mtime on every render
        # was ~5% of a loaded server's time (a stat per template, issue 16).
        auto_reload=False,
    )
    env.filters.update(FILTERS)
    env.globals["katex"] = (KATEX_DIR / "katex.min.js").is_file()
    env.globals["kept_card"] = KeptCards()
    return env


templates = Jinja2Templates(env=_environment())


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    json_href: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``name`` with the context every page needs (site name, nav, JSON twin)."""
    pw = getattr(request.app.state, "pw", None)
    site_name = pw.settings.site_name if pw is not None else "paperwire"
    base: dict[str, Any] = {
        "site_name": site_name,
        "version": paperwire.__version__,
        "json_href": json_href,
        "nav": None,
        "header_q": "",
        "refresh_seconds": None,
        "page_title": None,
    }
    base.update(context)
    response = templates.TemplateResponse(
        request, name, base, status_code=status_code, headers=headers
    )
    return response
