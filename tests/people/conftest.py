"""People tests: the community tests' app and crafted corpus (``tests.community``)."""

from __future__ import annotations

import pytest

from tests.community.conftest import Env, make_env
from tests.conftest import AppFactory


@pytest.fixture
def env(make_app: AppFactory) -> Env:
    return make_env(make_app)
