"""Pure text utilities any layer may use (no I/O, nothing from the layers above).

``tokens`` — what a word is (``tokenize``, the word patterns); ``snippets`` — teasers,
highlighted titles and query-biased snippets for result cards (``highlight``,
``best_snippet``, ``teaser``). The store builds card teasers and search builds snippets
with the same functions.
"""
