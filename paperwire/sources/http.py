"""One polite HTTP client for every live source.

arXiv and Hugging Face ask clients to identify themselves and to back off when told to
(429/503 with ``Retry-After``); doing that in one place keeps every fetcher well-behaved.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable, Collection, Mapping

import httpx

from paperwire import __version__

USER_AGENT = f"paperwire/{__version__} (+https://github.com/paperwire)"
MAX_WAIT = 300.0  # never sleep longer than this, whatever Retry-After says

Sleep = Callable[[float], None]
Params = Mapping[str, str | int]


class SourceError(RuntimeError):
    """A source could not be read (network, HTTP status, or an error the API reported)."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None):
        super().__init__(message)
        self.url = url
        self.status = status


def make_client(timeout: float) -> httpx.Client:
    return httpx.Client(
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
    )


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait (``Retry-After`` as seconds or HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _retryable(status: int) -> bool:
    return status == 429 or 500 <= status <= 599


def get_with_retries(
    client: httpx.Client,
    url: str,
    params: Params | None = None,
    retries: int = 3,
    backoff: float = 1.0,
    *,
    accept: Collection[int] = (),
    sleep: Sleep = time.sleep,
) -> httpx.Response:
    """GET ``url``, retrying connect errors, timeouts, 429 and 5xx with exponential backoff.

    ``retries`` counts the extra tries after the first. A ``Retry-After`` header replaces
    the computed backoff. Statuses in ``accept`` (e.g. 404) are returned to the caller;
    any other failure raises ``SourceError`` with the URL and the last problem seen.
    """
    problem = "no attempt made"
    status: int | None = None
    for attempt in range(retries + 1):
        wait = backoff * 2**attempt
        try:
            response = client.get(url, params=params)
        except httpx.TransportError as exc:  # connect errors, timeouts, dropped connections
            problem = f"{type(exc).__name__}: {exc}".rstrip(": ")
            status = None
        else:
            status = response.status_code
            if response.is_success or status in accept:
                return response
            problem = f"HTTP {status} {response.reason_phrase}".strip()
            if not _retryable(status):
                raise SourceError(f"GET {response.url} failed: {problem}", url=url, status=status)
            asked = retry_after(response)
            if asked is not None:
                wait = asked
        if attempt < retries:
            sleep(min(wait, MAX_WAIT))
    tries = "try" if retries == 0 else "tries"
    raise SourceError(
        f"GET {url} failed after {retries + 1} {tries}: {problem}", url=url, status=status
    )
