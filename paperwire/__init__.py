"""paperwire: a self-hostable research-paper discovery service.

The package layout is the pipeline: ``sources`` (importers) → ``store`` (the only
code that touches the database) → ``index`` (keyword + vector search behind one
interface) → ``search`` (fusion, filters, snippets) → ``web`` / ``cli`` → ``jobs``.
"""

__version__ = "0.1.0"
