"""Query understanding, rank fusion and the whole search.

``query.parse_query`` turns what a reader typed into keyword/semantic parts, arXiv ids
and inline filters; ``fusion`` and ``weighted`` merge the ``Ranked`` lists that index
backends return; ``service.SearchService`` runs a search end to end (cards from the store,
snippets from ``paperwire.text.snippets``).
"""
