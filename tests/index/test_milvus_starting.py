"""A Milvus Lite server that is still starting refuses a first ``create_collection``
("Mmap manager has not been init"): the index tries again instead of failing."""

from __future__ import annotations

import pytest

from paperwire.index.milvus import MilvusIndex

STARTING = 'Assert "init_flag_ == true"  => Mmap manager has not been init.'


def test_a_starting_server_is_asked_again() -> None:
    calls: list[int] = []

    def create() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError(STARTING)
        return "created"

    assert MilvusIndex._while_starting(create, seconds=10) == "created"
    assert len(calls) == 3


def test_other_errors_and_a_server_that_never_starts_are_raised() -> None:
    def broken() -> None:
        raise RuntimeError("field type ARRAY does not support scalar index")

    with pytest.raises(RuntimeError, match="ARRAY"):
        MilvusIndex._while_starting(broken, seconds=10)

    def never() -> None:
        raise RuntimeError(STARTING)

    with pytest.raises(RuntimeError, match="has not been init"):
        MilvusIndex._while_starting(never, seconds=0.6)
