"""``paperwire bench load --target``: how a target names its code, workers and settings."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from paperwire.bench.load import REPO, _env, parse_target


def test_a_target_names_code_workers_and_its_own_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAPERWIRE_WEB_THREADS", raising=False)
    plain = parse_target("after=.")
    assert (plain.name, plain.code, plain.workers, plain.env) == ("after", REPO, 1, {})
    two = parse_target("t2=.:3+PAPERWIRE_WEB_THREADS=2+PAPERWIRE_PAGE_CACHE_SECONDS=0")
    assert two.workers == 3
    assert two.env == {"PAPERWIRE_WEB_THREADS": "2", "PAPERWIRE_PAGE_CACHE_SECONDS": "0"}
    env = _env(two, tmp_path, "s3cret")
    assert env["PAPERWIRE_WEB_THREADS"] == "2" and env["PAPERWIRE_HOME"] == str(tmp_path)
    assert "PAPERWIRE_WEB_THREADS" not in _env(plain, tmp_path, "s3cret")  # only its own


@pytest.mark.parametrize(
    "spec",
    ["after", "=.", "after=.:0", "after=.:x", "after=.+WEB_THREADS=2", "after=.+PAPERWIRE_X"],
)
def test_a_bad_target_says_what_is_expected(spec: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="--target"):
        parse_target(spec)


def test_a_setting_may_hold_a_plus_but_not_replace_the_copy() -> None:
    t = parse_target("pg=.:2+PAPERWIRE_SEARCH_BACKEND=a+b+PAPERWIRE_WEB_THREADS=4")
    assert t.env == {"PAPERWIRE_SEARCH_BACKEND": "a+b", "PAPERWIRE_WEB_THREADS": "4"}
    for own in ("PAPERWIRE_DATABASE_URL=postgresql+psycopg://x/y", "PAPERWIRE_HOME=/tmp/x"):
        with pytest.raises(argparse.ArgumentTypeError, match="its own copy"):
            parse_target(f"t=.+{own}")
