from collections.abc import Callable
from typing import Any, TypeVar

_H = TypeVar("_H", bound=tuple[int, int, int])

def word_hits(
    text: str,
    prefixes: tuple[str, ...],
    memo: dict[str, int],
    look_up: Callable[[str], int],
    hit: type[_H],
    /,
) -> list[_H]: ...
def sentence_starts(text: str, /) -> list[int]: ...
def best_window(
    text: str, hits: list[_H], max_chars: int, /
) -> tuple[int, int, str, str, bool] | None: ...
def spaced(text: str, /) -> bool: ...
def parts(
    text: str,
    start: int,
    end: int,
    hits: list[_H],
    prefix: str,
    suffix: str,
    make: Callable[..., Any],
    hit_part: Callable[[str], Any],
    /,
) -> list[Any]: ...
