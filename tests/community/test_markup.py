"""Comment Markdown (``text.markup``): math kept as TeX, code and links left alone by
mentions, an allow-list after rendering (no raw HTML, no other schemes)."""

from __future__ import annotations

import pytest

from paperwire.text.markup import mentioned, render


def html_of(source: str, known: set[str] | frozenset[str] = frozenset({"ada"})) -> str:
    return render(source, lambda handles: set(handles) & set(known)).html.strip()


def test_math_is_escaped_tex_and_prices_are_not_math() -> None:
    assert html_of("a_b_c $a_b * c_d < e$ end") == (
        '<p>a_b_c <span class="math">$a_b * c_d &lt; e$</span> end</p>'
    )
    assert html_of("costs $5 and $6 today") == "<p>costs $5 and $6 today</p>"
    assert (
        html_of("$$\n\\frac{1}{2}\n$$") == '<div class="math math-display">$$\\frac{1}{2}$$</div>'
    )


def test_mentions_only_outside_code_and_links_and_only_known() -> None:
    out = html_of("`@ada` [@ada](https://x.org) @ada @bob")
    assert out.count('class="mention"') == 1 and "/users/bob" not in out
    assert mentioned("`@ada` [@ada](https://x.org) @Ada and @ada, mail x@ada.org") == ["ada"]


@pytest.mark.parametrize(
    ("source", "absent"),
    [
        ('<a href="/x" onclick="y">z</a>', "<a"),
        ("[x](javascript:alert(1))", "href"),
        ("[x](data:text/html,hi)", "href"),
        ("[x](ftp://example.org)", "href"),
        ("![img](https://example.org/x.png)", "<img"),
        ("<iframe src=x></iframe>", "<iframe"),
    ],
)
def test_allow_list(source: str, absent: str) -> None:
    assert absent not in html_of(source)


def test_links_and_headings() -> None:
    out = html_of("# Title\n\n[m](mailto:a@b.org) [p](/papers/2506.08007)")
    assert out.startswith("<h3>Title</h3>")
    assert '<a href="mailto:a@b.org" rel="nofollow ugc noopener">m</a>' in out
    assert '<a href="/papers/2506.08007" rel="nofollow ugc noopener">p</a>' in out
