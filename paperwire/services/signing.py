"""Signed, expiring tokens for links in emails (password reset, subscriptions).

One serializer factory for every kind of link: the ``salt`` keeps the kinds apart,
``issued_at`` lets tests (and callers) mint a token as of another time.
"""

from __future__ import annotations

import time
from typing import Any

from itsdangerous import TimestampSigner, URLSafeTimedSerializer


class _Signer(TimestampSigner):
    """A timestamp signer whose clock can be set (``issued_at``), for expiring links."""

    def __init__(self, *args: Any, issued_at: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._issued_at = issued_at

    def get_timestamp(self) -> int:
        return int(self._issued_at) if self._issued_at is not None else int(time.time())


def link_serializer(
    secret_key: str, salt: str, issued_at: float | None = None
) -> URLSafeTimedSerializer:
    """A URL-safe, timestamped serializer for links of one kind (``salt``)."""
    return URLSafeTimedSerializer(
        secret_key, salt=salt, signer=_Signer, signer_kwargs={"issued_at": issued_at}
    )
