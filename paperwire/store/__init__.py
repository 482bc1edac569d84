"""Storage: the only package that opens the database.

``Database`` owns the engine and connections (SQLite in WAL mode by default,
PostgreSQL by URL); ``PaperStore`` holds every query the application runs.
"""

from paperwire.store.db import Database
from paperwire.store.papers import PaperStore, UpsertOutcome

__all__ = ["Database", "PaperStore", "UpsertOutcome"]
