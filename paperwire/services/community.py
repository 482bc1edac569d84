"""``Community``: accounts, votes, submissions, collections and moderation over one
``Paperwire``.

The stores in ``paperwire.store`` own every query; this module adds what is not a query:
password hashing (argon2id), session tokens, signed password-reset links
(itsdangerous, keyed by ``settings.secret_key``), fetching submitted papers from the
arXiv API, and keeping the search index in step when moderators hide papers.
``community_of(pw)`` returns the one instance per ``Paperwire`` that the web app and
the CLI share.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import threading
from dataclasses import dataclass
from email.utils import make_msgid
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from paperwire.core import Paperwire
from paperwire.models.common import normalize_email
from paperwire.models.community import (
    ModerationResult,
    SubmissionPublic,
    SubmissionStatus,
    UserCreate,
)
from paperwire.models.papers import PaperCard, PaperRecord, Rejection
from paperwire.services.clock import day_label
from paperwire.services.indexer import drain
from paperwire.services.signing import link_serializer
from paperwire.services.waiting import waiting_elsewhere
from paperwire.sources.normalize import InvalidArxivId, normalize_arxiv_id
from paperwire.store.audit import AuditStore
from paperwire.store.collections import CollectionStore
from paperwire.store.people import PeopleStore
from paperwire.store.submissions import SOURCE as SUBMISSION_SOURCE
from paperwire.store.submissions import SubmissionStore
from paperwire.store.subscriptions import OUTBOX_ACCOUNT, SubscriptionStore
from paperwire.store.users import Account, UserStore, utcnow
from paperwire.store.votes import VoteStore

log = logging.getLogger(__name__)

RESET_SALT = "paperwire.password-reset"
SUBMIT_TIMEOUT = 20.0  # seconds; a web request should not hang on arXiv
# Seconds a moderation or submission request waits for another process that is applying
# index changes; after that the change is that process's (or the server's follower's).
MODERATION_INDEX_WAIT = 5.0


def token_hash(token: str) -> str:
    """What the session table stores for a cookie token."""
    return hashlib.sha256(token.encode()).hexdigest()


class ResetTokenError(ValueError):
    """A password-reset link that cannot be used; ``reason``: expired, invalid or used."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class SubmissionError(Exception):
    """A submission that did not go through; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Community:
    pw: Paperwire

    def __post_init__(self) -> None:
        db = self.pw.db
        s = self.pw.settings
        self.users = UserStore(db)
        self.votes = VoteStore(db)
        self.collections = CollectionStore(db)
        self.submissions = SubmissionStore(db)
        self.audit = AuditStore(db)
        self.people = PeopleStore(db)
        self.hasher = PasswordHasher(
            time_cost=s.argon2_time_cost,
            memory_cost=s.argon2_memory_kib,
            parallelism=s.argon2_parallelism,
        )
        self._dummy_hash: str | None = None

    # -- passwords and accounts -----------------------------------------------------------

    def hash_password(self, password: str) -> str:
        return self.hasher.hash(password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def signup(self, data: UserCreate, *, is_admin: bool = False) -> Account:
        """Create an account (``AccountExists`` when the email or name is taken)."""
        account = self.users.create(
            data.email, data.display_name, self.hash_password(data.password), is_admin=is_admin
        )
        self.audit.log(account, "user.signup", "user", str(account.id))
        return account

    def authenticate(self, email: str, password: str) -> Account | None:
        """The account when the password matches; the same work is done either way so
        response times do not reveal which emails have accounts."""
        try:
            account = self.users.by_email(normalize_email(email))
        except ValueError:
            account = None
        if account is None:
            if self._dummy_hash is None:
                self._dummy_hash = self.hash_password(secrets.token_urlsafe(16))
            self._verify(self._dummy_hash, password)
            return None
        if not self._verify(account.password_hash, password):
            return None
        if self.hasher.check_needs_rehash(account.password_hash):
            self.users.set_password_hash(account.id, self.hash_password(password), logout=False)
        return account

    # -- sessions -------------------------------------------------------------------------

    def start_session(self, account: Account) -> str:
        """A new session; returns the cookie token (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        expires = utcnow() + dt.timedelta(days=self.pw.settings.session_days)
        self.users.create_session(account.id, token_hash(token), expires)
        return token

    def session_account(self, token: str) -> Account | None:
        if not token or len(token) > 200:
            return None
        return self.users.session_account(token_hash(token))

    def end_session(self, token: str) -> None:
        self.users.delete_session(token_hash(token))

    # -- password reset -------------------------------------------------------------------

    def _serializer(self, issued_at: float | None = None) -> URLSafeTimedSerializer:
        return link_serializer(self.pw.settings.secret_key, RESET_SALT, issued_at)

    @staticmethod
    def _fingerprint(account: Account) -> str:
        # Changes with the password: a used link stops working.
        return hashlib.sha256(account.password_hash.encode()).hexdigest()[:16]

    def reset_token(self, account: Account, issued_at: float | None = None) -> str:
        payload = {"u": account.id, "f": self._fingerprint(account)}
        return str(self._serializer(issued_at).dumps(payload))

    def reset_link(self, account: Account) -> str:
        return f"{self.pw.settings.base_url.rstrip('/')}/reset/{self.reset_token(account)}"

    def account_for_reset(self, token: str) -> Account:
        """The account a reset link is for; ``ResetTokenError`` when it cannot be used."""
        max_age = self.pw.settings.password_reset_max_age
        try:
            data = self._serializer().loads(token, max_age=max_age)
        except SignatureExpired:
            raise ResetTokenError(
                "expired", "This reset link has expired. Ask for a new one below."
            ) from None
        except BadData:
            raise ResetTokenError(
                "invalid", "This reset link is not valid. Ask for a new one below."
            ) from None
        account = self.users.get(int(data.get("u", 0))) if isinstance(data, dict) else None
        if account is None or data.get("f") != self._fingerprint(account):
            raise ResetTokenError("used", "This reset link was already used. Ask for a new one.")
        return account

    def reset_password(self, token: str, password: str) -> Account:
        account = self.account_for_reset(token)
        self.users.set_password_hash(account.id, self.hash_password(password), logout=True)
        self.audit.log(account, "user.password_reset", "user", str(account.id))
        return account

    def queue_reset_email(self, email: str) -> bool:
        """Queue a reset link in the outbox when ``email`` has an account (False when it
        has none). Runs off the request path (``web.mailer``), so answering a reset
        request takes the same time whether or not the address is known."""
        try:
            account = self.users.by_email(normalize_email(email))
        except ValueError:
            return False
        if account is None:
            return False
        s = self.pw.settings
        minutes = max(1, s.password_reset_max_age // 60)
        text = (
            f"Hello {account.display_name},\n\n"
            f"someone (hopefully you) asked to reset the password of your {s.site_name} "
            f"account. Open this link within {minutes} minutes to choose a new one:\n\n"
            f"{self.reset_link(account)}\n\n"
            "If you did not ask for this, ignore this email: your password stays as it is.\n"
        )
        host = urlsplit(s.base_url).hostname or "paperwire"
        SubscriptionStore(self.pw.db).enqueue_mail(
            account.email,
            f"Reset your {s.site_name} password",
            text,
            make_msgid(idstring="reset", domain=host),
            OUTBOX_ACCOUNT,
        )
        return True

    # -- submissions ----------------------------------------------------------------------

    def _fetch(self, arxiv_id: str) -> PaperRecord:
        from paperwire.sources.arxiv_api import fetch_arxiv_ids
        from paperwire.sources.http import SourceError, make_client

        s = self.pw.settings
        try:
            with waiting_elsewhere(), make_client(min(s.http_timeout, SUBMIT_TIMEOUT)) as client:
                items = list(
                    fetch_arxiv_ids(
                        client, s.arxiv_api_url, [arxiv_id], retries=min(s.http_retries, 1), delay=0
                    )
                )
        except SourceError as exc:
            if exc.status == 400:
                raise SubmissionError(422, f"arXiv does not accept {arxiv_id!r}: {exc}") from None
            if exc.status is None:
                raise SubmissionError(
                    503,
                    "arXiv could not be reached, so the paper's details cannot be fetched "
                    "right now. Please try again later.",
                ) from None
            raise SubmissionError(
                502, f"arXiv answered with an error (HTTP {exc.status}); please try again later."
            ) from None
        for item in items:
            if isinstance(item, PaperRecord) and item.arxiv_id == arxiv_id:
                return item
        reasons = [i.reason for i in items if isinstance(i, Rejection) and i.record == arxiv_id]
        if not reasons or "not on arXiv" in reasons:
            raise SubmissionError(404, f"arXiv has no paper with the id {arxiv_id}.")
        raise SubmissionError(502, f"arXiv's record for {arxiv_id} is unusable: {reasons[0]}")

    def _card(self, arxiv_id: str) -> PaperCard:
        card = self.pw.store.cards([arxiv_id]).get(arxiv_id)
        if card is None:  # hidden between the steps
            raise SubmissionError(409, f"Paper {arxiv_id} is not available on this site.")
        return card

    def _ingest(self, record: PaperRecord) -> int:
        from paperwire.services.ingest import ingest_records

        summary = ingest_records(
            self.pw, [record], SUBMISSION_SOURCE, index_wait=MODERATION_INDEX_WAIT
        )
        if summary.rejected:
            raise SubmissionError(502, f"could not store the paper: {summary.rejections[0]}")
        return summary.added

    def _duplicate(
        self, account: Account, arxiv_id: str, today: dt.date, *, retry: bool = True
    ) -> SubmissionPublic:
        """A paper that is already here.

        Featured before (by the daily feed or an earlier submission): the submission is
        the submitter's upvote plus an "also submitted by" credit on the paper page. It
        never features the paper again (on a quiet day today's feed would show that one
        paper and ``daily.atom`` would shrink to it) nor takes over the credit of who
        submitted it first. Known but never featured (e.g. from an arXiv listing): it is
        featured today and credited, as a new paper would be."""
        card = self._card(arxiv_id)
        if card.featured_on is not None:
            self.votes.vote(account.id, arxiv_id)
            credited = not self.submissions.has_submitted(account.id, arxiv_id)
            if credited:
                self.submissions.record(account.id, arxiv_id, created_paper=False, featured_on=None)
            also = " and lists you as also submitting it" if credited else ""
            return SubmissionPublic(
                status=SubmissionStatus.duplicate,
                arxiv_id=arxiv_id,
                message=f"Paper {arxiv_id} is already here, featured on "
                f"{day_label(card.featured_on)}: your submission counts as your upvote{also}.",
                paper=self._card(arxiv_id),
            )
        record = PaperRecord(
            arxiv_id=arxiv_id,
            source=SUBMISSION_SOURCE,
            featured_on=today,
            submitted_by=account.display_name,
        )
        try:
            self._ingest(record)
        except IntegrityError:  # featured today by a concurrent submission of the same paper
            if not retry:
                raise SubmissionError(
                    409, f"Paper {arxiv_id} changed meanwhile; try again."
                ) from None
            return self._duplicate(account, arxiv_id, today, retry=False)
        self.submissions.record(account.id, arxiv_id, created_paper=False, featured_on=today)
        return SubmissionPublic(
            status=SubmissionStatus.duplicate,
            arxiv_id=arxiv_id,
            featured_on=today,
            submitted_by=account.display_name,
            message=f"Paper {arxiv_id} was already here but never featured; "
            "it is now featured today.",
            paper=self._card(arxiv_id),
        )

    def submit(self, account: Account, raw: str, today: dt.date | None = None) -> SubmissionPublic:
        """Add a paper by arXiv id or URL, featured today and credited to ``account``.

        Known papers are not fetched again (see ``_duplicate``: a featured one gets the
        submitter's upvote and an "also submitted by" credit, a never-featured one is
        featured today);
        ``SubmissionError`` carries the HTTP status for malformed ids (422), ids arXiv
        does not know (404), removed papers (409) and an unreachable arXiv (502/503).
        """
        try:
            arxiv_id = normalize_arxiv_id(raw)
        except InvalidArxivId:
            shown = raw.strip()[:80]
            raise SubmissionError(
                422,
                f"{shown!r} is not an arXiv id or URL "
                "(expected e.g. 2506.00637, arXiv:2506.00637v2 or "
                "https://arxiv.org/abs/2506.00637)",
            ) from None
        day = today or dt.datetime.now(dt.UTC).date()
        hidden = self.submissions.is_hidden(arxiv_id)
        if hidden:
            raise SubmissionError(
                409, f"Paper {arxiv_id} was removed by the moderators and cannot be resubmitted."
            )
        if hidden is False:
            return self._duplicate(account, arxiv_id, day)
        fetched = self._fetch(arxiv_id)
        record = fetched.model_copy(
            update={
                "source": SUBMISSION_SOURCE,
                "featured_on": day,
                "submitted_by": account.display_name,
            }
        )
        try:
            added = self._ingest(record)
        except IntegrityError:  # someone submitted the same paper at the same moment
            return self._duplicate(account, arxiv_id, day)
        self.submissions.record(account.id, arxiv_id, created_paper=added > 0, featured_on=day)
        return SubmissionPublic(
            status=SubmissionStatus.created if added else SubmissionStatus.duplicate,
            arxiv_id=arxiv_id,
            featured_on=day,
            submitted_by=account.display_name,
            message=f"Thanks! {fetched.title or arxiv_id} is now featured today.",
            paper=self._card(arxiv_id),
        )

    # -- moderation -----------------------------------------------------------------------

    def _follow_in_index(self, arxiv_ids: list[str]) -> None:
        """Apply the moderation to the index now (the store queued it in the same
        transaction); if another process is applying, it applies this too."""
        if arxiv_ids:
            drain(self.pw, MODERATION_INDEX_WAIT)

    def hide_papers(
        self, actor: Account, arxiv_ids: list[str], reason: str = ""
    ) -> ModerationResult:
        """Hide papers everywhere: feeds, pages and search (removed from the index)."""
        hidden = self.audit.set_hidden(actor, arxiv_ids, True, reason)
        self._follow_in_index(hidden)
        return ModerationResult(hidden=hidden)

    def unhide_papers(self, actor: Account, arxiv_ids: list[str]) -> ModerationResult:
        shown = self.audit.set_hidden(actor, arxiv_ids, False)
        self._follow_in_index(shown)
        return ModerationResult(unhidden=shown)

    def hide_submissions_of(
        self, actor: Account, user_id: int, reason: str = ""
    ) -> ModerationResult:
        result = self.audit.hide_submissions_of(actor, user_id, reason)
        self._follow_in_index(result.hidden)
        return result


_lock = threading.Lock()


def community_of(pw: Paperwire) -> Community:
    """The ``Community`` of this ``Paperwire`` (created once, then shared)."""
    found: Community | None = getattr(pw, "_community", None)
    if found is not None:
        return found
    with _lock:
        found = getattr(pw, "_community", None)
        if found is None:
            found = Community(pw)
            setattr(pw, "_community", found)  # noqa: B010 - Paperwire has no slot for it
        return found
