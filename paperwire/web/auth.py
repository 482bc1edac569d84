"""Who is asking: sessions, CSRF, and the ``current_user`` dependency.

Sessions are server-side (``user_sessions`` holds the SHA-256 of a random token); the
``pw_session`` cookie is HttpOnly, SameSite=Lax, and Secure when ``base_url`` is https.

CSRF: every state-changing request must carry a token, as the ``csrf_token`` form field
(HTML forms) or the ``X-CSRF-Token`` header (JSON API). The token is an HMAC, keyed by
``settings.secret_key``, of the session cookie, or for signed-out visitors of a random
``pw_anon`` cookie set by the pages with forms. A request that carries no cookie at all
cannot act as anyone, so API calls without cookies pass unless their content type is one
a cross-site form can send (a form post without cookies is refused).
Requests whose ``Origin`` names another site are refused too.

``CommunityMiddleware`` puts a lazy ``Viewer`` on every request (``request.state.viewer``
and a context variable the templates read through the ``viewer()`` global).
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import hmac
import secrets
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request
from starlette.requests import cookie_parser
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperwire.core import Paperwire
from paperwire.models.community import CollectionSummary, UserAccount
from paperwire.services.community import Community, community_of
from paperwire.store.ratelimits import RateLimitStore
from paperwire.store.users import Account
from paperwire.web.mailer import AccountMailer

SESSION_COOKIE = "pw_session"
ANON_COOKIE = "pw_anon"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# What a cross-site <form> (or a no-cors fetch) can send without a CORS preflight.
SIMPLE_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_FAILED = (
    "This form has expired or was sent from another site (missing or wrong CSRF token). "
    "Go back, reload the page and try again."
)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go back to; anything else (other sites, ``//host``) → ``default``."""
    if not value:
        return default
    value = value.strip()
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in value):
        return default  # browsers drop tabs/newlines: "/\t/evil.example" would go off-site
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def _secure(pw: Paperwire) -> bool:
    return pw.settings.base_url.lower().startswith("https://")


def _csrf_for(secret: str, binding: str) -> str:
    digest = hmac.new(secret.encode(), b"csrf:" + binding.encode(), hashlib.sha256)
    return digest.hexdigest()[:40]


def csrf_for_session(pw: Paperwire, session_token: str) -> str:
    """The CSRF token that goes with a session cookie (returned by the login API)."""
    return _csrf_for(pw.settings.secret_key, "s:" + session_token)


class Viewer:
    """The person behind one request, resolved lazily (no query until asked)."""

    def __init__(self, community: Community, cookies: dict[str, str], path: str) -> None:
        self.community = community
        self.cookies = cookies
        self.path = path
        self.new_anon: str | None = None
        self._account: Account | None = None
        self._resolved = False
        self._voted: set[str] | None = None
        self._submitters: dict[str, str] | None = None
        self._user: UserAccount | None = None
        self._csrf: str | None = None
        # A page that handed out a CSRF token is this visitor's own (the token is bound
        # to their cookie): the page cache must not serve it to anyone else.
        self.personal = False

    # -- identity -------------------------------------------------------------------------

    @property
    def session_token(self) -> str | None:
        return self.cookies.get(SESSION_COOKIE) or None

    @property
    def account(self) -> Account | None:
        if not self._resolved:
            token = self.session_token
            self._account = self.community.session_account(token) if token else None
            self._resolved = True
        return self._account

    @property
    def user(self) -> UserAccount | None:
        # Asked by every card's upvote button: built once per request, not per card.
        if self._user is None and self.account is not None:
            self._user = self.account.private()
        return self._user

    @property
    def is_admin(self) -> bool:
        return bool(self.account and self.account.is_admin)

    # -- CSRF -----------------------------------------------------------------------------

    def _binding(self, create: bool) -> str | None:
        token = self.session_token
        if token:
            return "s:" + token
        anon = self.cookies.get(ANON_COOKIE) or self.new_anon
        if anon is None and create:
            anon = self.new_anon = secrets.token_urlsafe(24)
        return "a:" + anon if anon else None

    @property
    def csrf_token(self) -> str:
        """The token forms must send back (sets the ``pw_anon`` cookie when needed)."""
        self.personal = True
        if self._csrf is None:  # one per request (every card's upvote form asks)
            binding = self._binding(create=True)
            assert binding is not None
            self._csrf = _csrf_for(self.community.pw.settings.secret_key, binding)
        return self._csrf

    @property
    def has_cookies(self) -> bool:
        return self._binding(create=False) is not None

    def check_csrf(self, token: str | None) -> bool:
        binding = self._binding(create=False)
        if not token or binding is None:
            return False
        expected = _csrf_for(self.community.pw.settings.secret_key, binding)
        return hmac.compare_digest(token.encode(), expected.encode())

    # -- per-card facts (one query per page, not per card) --------------------------------

    def voted(self, arxiv_id: str) -> bool:
        account = self.account
        if account is None:
            return False
        if self._voted is None:
            self._voted = self.community.votes.voted_ids(account.id)
        return arxiv_id in self._voted

    def submitted_by(self, arxiv_id: str) -> str | None:
        if self._submitters is None:
            self._submitters = self.community.submissions.current_submitters()
        return self._submitters.get(arxiv_id)

    def also_submitted_by(self, arxiv_id: str) -> list[str]:
        """Who submitted the paper when it was already here (paper pages only: a query)."""
        credited = self.submitted_by(arxiv_id)
        names = self.community.submissions.also_submitted_by(arxiv_id)
        return [n for n in names if n != credited]

    def collections_for(self, arxiv_id: str) -> list[tuple[CollectionSummary, bool]]:
        """The viewer's collections, each with whether it holds the paper."""
        account = self.account
        if account is None:
            return []
        mine = self.community.collections.list_for(account.id)
        holding = self.community.collections.containing(account.id, arxiv_id) if mine else set()
        return [(c, c.id in holding) for c in mine]

    @functools.cached_property
    def login_url(self) -> str:
        # once per request: every signed-out card's upvote link asks
        return "/login?next=" + quote(self.path, safe="/")


_current: contextvars.ContextVar[Viewer | None] = contextvars.ContextVar(
    "paperwire_viewer", default=None
)


class _Nobody:
    """What templates see outside a request (e.g. a 500 page): signed out, no forms."""

    account = None
    user = None
    is_admin = False
    csrf_token = ""
    path = "/"
    login_url = "/login"

    def voted(self, arxiv_id: str) -> bool:
        return False

    def submitted_by(self, arxiv_id: str) -> str | None:
        return None

    def also_submitted_by(self, arxiv_id: str) -> list[str]:
        return []

    def collections_for(self, arxiv_id: str) -> list[tuple[CollectionSummary, bool]]:
        return []


NOBODY = _Nobody()


def viewer() -> Viewer | _Nobody:
    """Template global: the current request's ``Viewer``."""
    return _current.get() or NOBODY


def _cookies(scope: Scope) -> dict[str, str]:
    # Starlette's lenient parser: one malformed third-party cookie must not hide ours.
    cookies: dict[str, str] = {}
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            cookies.update(cookie_parser(value.decode("latin-1")))
    return cookies


def cookie_header(name: str, value: str, *, max_age: int, secure: bool) -> bytes:
    parts = [f"{name}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts).encode("latin-1")


class CommunityMiddleware:
    """Attaches the ``Viewer`` and sets the anonymous CSRF cookie when a page made one."""

    def __init__(self, app: ASGIApp, pw: Paperwire) -> None:
        self.app = app
        self.pw = pw

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        raw = scope.get("raw_path")
        # the path as sent (still percent-encoded), so it can go back into a URL as is
        base = raw.decode("latin-1") if raw else quote(scope.get("path", "/"), safe="/")
        path = base + (f"?{query}" if query else "")
        v = Viewer(community_of(self.pw), _cookies(scope), path)
        scope.setdefault("state", {})["viewer"] = v
        reset = _current.set(v)
        secure = _secure(self.pw)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and v.new_anon:
                headers = list(message.get("headers", []))
                headers.append(
                    (
                        b"set-cookie",
                        cookie_header(ANON_COOKIE, v.new_anon, max_age=86400 * 30, secure=secure),
                    )
                )
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_cookie)
        finally:
            _current.reset(reset)


# -- dependencies ---------------------------------------------------------------------------


def viewer_of(request: Request) -> Viewer:
    found = request.scope.get("state", {}).get("viewer")
    if isinstance(found, Viewer):
        return found
    v = Viewer(community_of(request.app.state.pw), dict(request.cookies), request.url.path)
    request.scope.setdefault("state", {})["viewer"] = v
    return v


async def get_community(request: Request) -> Community:
    # async: no I/O here, so FastAPI need not hop to a worker thread for it
    return community_of(request.app.state.pw)


Comm = Annotated[Community, Depends(get_community)]


def current_user(request: Request) -> UserAccount | None:
    """FastAPI dependency: the signed-in user (``UserAccount``: id, email, display_name,
    is_admin, created_at), or None for visitors.

    Use it in any route, e.g. for saved searches::

        from paperwire.web.auth import CurrentUser, RequireUser, csrf_protect

        @router.post("/api/saved-searches", dependencies=[Depends(csrf_protect)])
        def save(user: RequireUser, ...) -> ...:   # 401 (API) / login redirect (pages)
            ...                                    # user.id, user.email

        @router.get("/saved")
        def page(user: CurrentUser) -> ...:        # None when signed out
            ...

    State-changing routes must also depend on ``csrf_protect`` (forms send the
    ``csrf_token`` field from ``viewer().csrf_token``; API calls the ``X-CSRF-Token``
    header from ``GET /api/me``).
    """
    return viewer_of(request).user


CurrentUser = Annotated[UserAccount | None, Depends(current_user)]


class LoginRequired(HTTPException):
    """401 for the API; a redirect to the login page (303) for HTML pages."""


def _login_needed(request: Request) -> HTTPException:
    if is_api(request):
        return LoginRequired(status_code=401, detail="Log in first (this needs an account).")
    if request.method == "GET":
        back = safe_next(viewer_of(request).path)
    else:  # after logging in, go back to the page the form was on
        referer = urlsplit(request.headers.get("referer", "/"))
        back = safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))
    return LoginRequired(
        status_code=303,
        detail="Log in first.",
        headers={"Location": "/login?next=" + quote(back, safe="/")},
    )


def require_account(request: Request) -> Account:
    """The signed-in account (internal: includes the password hash; never render it)."""
    account = viewer_of(request).account
    if account is None:
        raise _login_needed(request)
    return account


def require_user(request: Request) -> UserAccount:
    """Like ``current_user`` but answers 401 (API) or redirects to /login (pages)."""
    return require_account(request).private()


def require_admin(request: Request) -> Account:
    account = require_account(request)
    if not account.is_admin:
        raise HTTPException(status_code=403, detail="Only administrators can do this.")
    return account


RequireAccount = Annotated[Account, Depends(require_account)]
RequireUser = Annotated[UserAccount, Depends(require_user)]
RequireAdmin = Annotated[Account, Depends(require_admin)]


def _origin_ok(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True
    netloc = urlsplit(origin).netloc
    allowed = {
        request.headers.get("host", ""),
        urlsplit(request.app.state.pw.settings.base_url).netloc,
    }
    return bool(netloc) and netloc in allowed


async def csrf_protect(request: Request) -> None:
    """Dependency for every state-changing route (see the module docstring)."""
    if request.method in SAFE_METHODS:
        return
    if not _origin_ok(request):
        raise HTTPException(status_code=403, detail="Cross-site request refused.")
    v = viewer_of(request)
    token = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if token is None and content_type in SIMPLE_TYPES[:2]:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if v.check_csrf(token):
        return
    if not v.has_cookies and token is None and content_type not in SIMPLE_TYPES:
        return  # no cookie, no ambient authority, and not something a plain form can send
    raise HTTPException(status_code=403, detail=CSRF_FAILED)


CSRF = Depends(csrf_protect)


def set_session_cookie(response: Response, pw: Paperwire, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=pw.settings.session_days * 86400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(pw),
    )


def clear_session_cookie(response: Response, pw: Paperwire) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(pw)
    )


# -- rate limits ------------------------------------------------------------------------------


def mailer_of(request: Request) -> AccountMailer:
    """The app's account mailer (one per app, created by ``install``)."""
    found = getattr(request.app.state, "account_mailer", None)
    if found is None:
        found = request.app.state.account_mailer = AccountMailer(request.app.state.pw)
    assert isinstance(found, AccountMailer)
    return found


def limiter_of(request: Request) -> RateLimitStore:
    """The app's limiter (one per app, created by ``install``; its counts are in the
    database, shared with every other worker)."""
    found = getattr(request.app.state, "rate_limiter", None)
    if found is None:
        found = request.app.state.rate_limiter = RateLimitStore(request.app.state.pw.db)
    assert isinstance(found, RateLimitStore)
    return found
