"""Documents made from public models: pure functions, no I/O.

``feeds`` — Atom and RSS for lists of papers; ``export`` — BibTeX and JSONL for
collections. The web app serves them, the CLI writes them, services use their helpers
(``feeds.safe_url`` in digest emails).
"""
