"""People tests: the community tests' app and crafted corpus (``tests.community``), on
both stores (``database_url``: SQLite and PostgreSQL), since follows, claims and profiles
are queries whose SQL differs between them (JSON text, ``NULLS LAST``)."""

from __future__ import annotations

import pytest

from tests.community.conftest import Env, make_env
from tests.community.test_browser import live  # noqa: F401  (the app under uvicorn)
from tests.conftest import AppFactory


@pytest.fixture
def env(make_app: AppFactory, database_url: str) -> Env:
    return make_env(make_app, database_url=database_url)
