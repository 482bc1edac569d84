"""Query understanding, rank fusion and snippets: the pure functions behind search.

``query.parse_query`` turns what a reader typed into keyword/semantic parts, arXiv ids
and inline filters; ``fusion`` merges the ``Ranked`` lists that index backends return;
``snippets`` builds highlighted, plain-text ``SnippetPart`` lists for result cards.
Nothing here does I/O.
"""
