"""Webhook delivery: the URL check (SSRF guard), the signature, one POST.

* **Where**: only ``http``/``https`` URLs without credentials. The host is resolved and
  every address must be public (no loopback, private, link-local, multicast, reserved or
  unspecified address) unless ``allow_private`` (the ``webhook_allow_private`` setting,
  for receivers on the same network; tests turn it on for their loopback receiver). The
  connection goes to the address that was checked (no second lookup a DNS rebinding
  could answer differently); TLS still verifies the certificate for the host name.
* **Signature**: ``X-Paperwire-Signature: sha256=HEX``, the HMAC-SHA256 with the alert's
  secret of ``"{X-Paperwire-Timestamp}.{body}"``; receivers recompute it, compare in
  constant time and refuse old timestamps (replays).
* **One POST**: a timeout, redirects not followed (a 3xx is a failure), at most
  ``RESPONSE_LIMIT`` bytes of the answer read. 2xx is delivered; anything else is retried
  by the caller (``jobs.webhooks``) with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import paperwire
from paperwire.store.alerts import AttemptResult

RESPONSE_LIMIT = 64 * 1024
SIGNATURE_HEADER = "X-Paperwire-Signature"
TIMESTAMP_HEADER = "X-Paperwire-Timestamp"
DELIVERY_HEADER = "X-Paperwire-Delivery"
EVENT_HEADER = "X-Paperwire-Event"
EVENT = "alert.papers"


class WebhookUrlError(ValueError):
    """A webhook URL paperwire will not send to; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked IP address the connection goes to


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Paperwire-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def check_url(url: str) -> str:
    """``url`` when its form is acceptable (http/https, a host, no credentials)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise WebhookUrlError(f"webhook_url: not a URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise WebhookUrlError("webhook_url: only http:// and https:// URLs")
    if not parts.hostname:
        raise WebhookUrlError("webhook_url: the URL has no host")
    if parts.username or parts.password:
        raise WebhookUrlError("webhook_url: no user or password in the URL (use the secret)")
    if port == 0:
        raise WebhookUrlError("webhook_url: port 0")
    return url.strip()


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def resolve(url: str, *, allow_private: bool) -> Target:
    """Where ``url`` goes: its host resolved to an address that may be used."""
    check_url(url)
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise WebhookUrlError(f"webhook_url: cannot resolve {host} ({exc})") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise WebhookUrlError(f"webhook_url: {host} has no address")
    if not allow_private:
        blocked = [a for a in addresses if not _public(a)]
        if blocked:
            raise WebhookUrlError(
                f"webhook_url: {host} resolves to a private, loopback or link-local "
                f"address ({blocked[0]}); paperwire only calls public addresses"
            )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, addresses[0])


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self.address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def deliver(
    url: str,
    secret: str,
    body: bytes,
    delivery_id: int,
    *,
    timeout: float,
    allow_private: bool,
) -> AttemptResult:
    """POST ``body`` (JSON) signed with ``secret``; what happened, never an exception."""
    t0 = time.perf_counter()

    def result(ok: bool, status: int | None, error: str | None) -> AttemptResult:
        return AttemptResult(ok, status, error, int((time.perf_counter() - t0) * 1000))

    try:
        target = resolve(url, allow_private=allow_private)
    except WebhookUrlError as exc:
        return result(False, None, str(exc))
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"paperwire-webhook/{paperwire.__version__}",
        EVENT_HEADER: EVENT,
        DELIVERY_HEADER: str(delivery_id),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    conn: http.client.HTTPConnection = (
        _PinnedHTTPS(target, timeout) if target.scheme == "https" else _PinnedHTTP(target, timeout)
    )
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        answer = response.read(RESPONSE_LIMIT)
    except (OSError, http.client.HTTPException) as exc:
        return result(False, None, f"{target.host}:{target.port}: {exc or type(exc).__name__}")
    finally:
        conn.close()
    if 200 <= response.status < 300:
        return result(True, response.status, None)
    text = answer[:300].decode("utf-8", errors="replace").strip()
    why = f"HTTP {response.status} {response.reason}" + (f": {text}" if text else "")
    if 300 <= response.status < 400:
        why += " (redirects are not followed)"
    return result(False, response.status, why)
