"""The app of one worker process of ``paperwire serve --workers N``.

uvicorn starts each worker in a fresh interpreter and calls ``worker_app()`` there; the
worker reads its settings from the environment that ``serve`` prepared (the home, and
the secret key, so that a CSRF token made by one worker is good at every other). Workers
only serve: ``serve`` itself migrated the database and runs the one ``IndexFollower``
(the index journal's applier); each worker sees the index's commits within
``SearchService.refresh_interval`` and everything else through the shared database.
"""

from __future__ import annotations

from fastapi import FastAPI

from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.web.app import create_app
from paperwire.web.heap import tuned_for_serving


def worker_app() -> FastAPI:
    """``create_app`` over this worker's own ``Paperwire`` (no migration: done once),
    with the collector tuned for serving (``web.heap``)."""
    return tuned_for_serving(create_app(Paperwire(Settings(), migrate=False)))
