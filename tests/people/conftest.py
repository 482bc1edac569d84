"""People tests: the community tests' app and crafted corpus (``tests.community``), on
both stores (``database_url``: SQLite and PostgreSQL), since follows, claims and profiles
are queries whose SQL differs between them (JSON text, ``NULLS LAST``)."""

from __future__ import annotations

import contextlib

import pytest

from tests.community.conftest import Env, make_env
from tests.conftest import AppFactory

# the app under uvicorn (`live`) and Chromium (`browser`), as in the community browser test
# (that module skips itself without Playwright: so do the browser tests here)
with contextlib.suppress(pytest.skip.Exception):
    from tests.community.test_browser import browser, live  # noqa: F401


@pytest.fixture
def env(make_app: AppFactory, database_url: str) -> Env:
    return make_env(make_app, database_url=database_url)
