"""Atom (RFC 4287) and RSS 2.0 documents for lists of papers.

Entry ids are the papers' permanent page URLs (the same paper keeps its id in every feed
and across updates); dates are RFC 3339 in Atom and RFC 822 in RSS, always UTC. Text is
escaped and stripped of characters XML 1.0 cannot carry, so any abstract makes a
well-formed document.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from email.utils import format_datetime
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

from paperwire.models.papers import PaperCard

ATOM_TYPE = "application/atom+xml; charset=utf-8"
RSS_TYPE = "application/rss+xml; charset=utf-8"
_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def safe_url(value: str | None) -> str:
    """``value`` when it is an http(s) URL, else ``""``: a stored ``javascript:`` or
    ``data:`` link must never become a link in a feed or an email."""
    text = (value or "").strip()
    scheme, sep, rest = text.partition("://")
    if sep and scheme.lower() in ("http", "https") and rest and not any(c.isspace() for c in text):
        return text
    return ""


def clean(text: str | None) -> str:
    return _INVALID_XML.sub("", text or "")


def _t(text: str | None) -> str:
    return escape(clean(text))


def _a(text: str | None) -> str:
    return quoteattr(clean(text))


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def rfc3339(value: dt.datetime) -> str:
    return _utc(value).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def rfc822(value: dt.datetime) -> str:
    return format_datetime(_utc(value).replace(microsecond=0), usegmt=True)


@dataclass
class FeedEntry:
    id: str
    title: str
    link: str
    updated: dt.datetime
    published: dt.datetime | None = None
    summary: str = ""
    content_html: str = ""
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    related: list[tuple[str, str]] = field(default_factory=list)  # (title, url)


@dataclass
class Feed:
    title: str
    subtitle: str
    self_url: str
    page_url: str
    site_name: str
    site_url: str
    generator_version: str
    entries: list[FeedEntry]
    updated: dt.datetime | None = None

    def last_updated(self) -> dt.datetime:
        if self.updated is not None:
            return self.updated
        dates = [e.updated for e in self.entries]
        return max(dates) if dates else dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

    def unique_entries(self) -> list[FeedEntry]:
        seen: set[str] = set()
        out = []
        for e in self.entries:
            if e.id not in seen:
                seen.add(e.id)
                out.append(e)
        return out


def paper_entry(card: PaperCard, base_url: str, when: dt.datetime | None = None) -> FeedEntry:
    """A paper as a feed entry; ``when`` (else its featured day, else its publication)
    is the entry's date."""
    base = base_url.rstrip("/")
    page = base + card.links.page
    featured = (
        dt.datetime.combine(card.featured_on, dt.time(), tzinfo=dt.UTC)
        if card.featured_on
        else None
    )
    updated = when or featured or card.published_at or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    related = [("arXiv", card.links.arxiv), ("PDF", card.links.pdf)]
    if safe_url(card.links.github):
        related.append(("Code", safe_url(card.links.github)))
    if safe_url(card.links.project_page):
        related.append(("Project page", safe_url(card.links.project_page)))
    meta = [f"▲ {card.upvotes} upvote{'' if card.upvotes == 1 else 's'}"]
    if card.organization:
        meta.append(card.organization)
    if card.first_authors:
        more = " et al." if card.author_count > len(card.first_authors) else ""
        meta.append(", ".join(card.first_authors) + more)
    links = Markup(" · ").join(
        Markup('<a href="{}">{}</a>').format(url, title)
        for title, url in [("Paper page", page), *related]
    )
    content = str(
        Markup("<p>{}</p><p>{}</p><p>{}</p>").format(
            clean(card.teaser), clean(" · ".join(meta)), links
        )
    )
    return FeedEntry(
        id=page,
        title=card.title,
        link=page,
        updated=updated,
        published=card.published_at or featured,
        summary=card.teaser,
        content_html=content,
        authors=list(card.first_authors),
        categories=list(card.categories),
        related=related,
    )


def atom(feed: Feed) -> bytes:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">',
        f"<id>{_t(feed.self_url)}</id>",
        f"<title>{_t(feed.title)}</title>",
        f"<subtitle>{_t(feed.subtitle)}</subtitle>",
        f"<updated>{rfc3339(feed.last_updated())}</updated>",
        f'<link rel="self" type="application/atom+xml" href={_a(feed.self_url)}/>',
        f'<link rel="alternate" type="text/html" href={_a(feed.page_url)}/>',
        f"<author><name>{_t(feed.site_name)}</name><uri>{_t(feed.site_url)}</uri></author>",
        f"<generator uri={_a(feed.site_url)} version={_a(feed.generator_version)}>"
        "paperwire</generator>",
    ]
    for e in feed.unique_entries():
        out.append("<entry>")
        out.append(f"<id>{_t(e.id)}</id>")
        out.append(f"<title>{_t(e.title)}</title>")
        out.append(f'<link rel="alternate" type="text/html" href={_a(e.link)}/>')
        for title, url in e.related:
            out.append(f'<link rel="related" title={_a(title)} href={_a(url)}/>')
        if e.published is not None:
            out.append(f"<published>{rfc3339(e.published)}</published>")
        out.append(f"<updated>{rfc3339(e.updated)}</updated>")
        for name in e.authors:
            out.append(f"<author><name>{_t(name)}</name></author>")
        for cat in e.categories:
            out.append(f"<category term={_a(cat)}/>")
        out.append(f'<summary type="text">{_t(e.summary)}</summary>')
        if e.content_html:
            out.append(f'<content type="html">{_t(e.content_html)}</content>')
        out.append("</entry>")
    out.append("</feed>")
    return ("\n".join(out) + "\n").encode("utf-8")


def rss(feed: Feed) -> bytes:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">',
        "<channel>",
        f"<title>{_t(feed.title)}</title>",
        f"<link>{_t(feed.page_url)}</link>",
        f"<description>{_t(feed.subtitle)}</description>",
        "<language>en</language>",
        f"<lastBuildDate>{rfc822(feed.last_updated())}</lastBuildDate>",
        f'<atom:link href={_a(feed.self_url)} rel="self" type="application/rss+xml"/>',
        f"<generator>paperwire {_t(feed.generator_version)}</generator>",
        "<docs>https://www.rssboard.org/rss-specification</docs>",
        "<ttl>60</ttl>",
    ]
    for e in feed.unique_entries():
        out.append("<item>")
        out.append(f"<title>{_t(e.title)}</title>")
        out.append(f"<link>{_t(e.link)}</link>")
        out.append(f'<guid isPermaLink="true">{_t(e.id)}</guid>')
        out.append(f"<pubDate>{rfc822(e.updated)}</pubDate>")
        if e.authors:
            out.append(f"<dc:creator>{_t(', '.join(e.authors))}</dc:creator>")
        for cat in e.categories:
            out.append(f"<category>{_t(cat)}</category>")
        out.append(f"<description>{_t(e.content_html or e.summary)}</description>")
        out.append("</item>")
    out.append("</channel>")
    out.append("</rss>")
    return ("\n".join(out) + "\n").encode("utf-8")
