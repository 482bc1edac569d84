"""Account mail off the request path: a reset request only hands the address over.

``AccountMailer.submit`` puts the address on a queue and returns, so the answer to
``POST /reset`` takes the same time and says the same thing whether or not the address
has an account, and whether or not the SMTP server is up. A background thread (one per
app) looks the address up, queues the reset link in the outbox the digests use
(``Community.queue_reset_email``) and sends the queued account mail
(``jobs.digest.send_queued``). When the SMTP server is down the mail stays queued: the
thread retries after ``RETRY_SECONDS`` (doubling, at most ``RETRY_MAX_SECONDS``), and
the worker's ``outbox`` job sends it too. The thread stops when the app's ``Paperwire``
closes (``close``): a retry after the database went away only logged errors.
"""

from __future__ import annotations

import logging
import queue
import threading

from paperwire.core import Paperwire
from paperwire.jobs.digest import send_queued
from paperwire.services.community import community_of
from paperwire.services.mail import MailError
from paperwire.store.subscriptions import OUTBOX_ACCOUNT

log = logging.getLogger(__name__)
RETRY_SECONDS = 30.0
RETRY_MAX_SECONDS = 600.0


class AccountMailer:
    def __init__(self, pw: Paperwire) -> None:
        self.pw = pw
        self._queue: queue.Queue[str | None] = queue.Queue()  # None: stop
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        pw.on_close(self.close)

    def submit(self, email: str) -> None:
        """Ask for a reset link to ``email`` (nothing is sent when it has no account;
        an empty ``email`` only sends what is queued)."""
        self._queue.put(email)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mailer", daemon=True)
                self._thread.start()

    def flush(self) -> None:
        """Send the queued account mail now (e.g. notifications a request queued)."""
        self.submit("")

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread (after the address it is handling); what is still queued in
        the outbox stays there for the worker's ``outbox`` job."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)

    def wait_idle(self) -> None:
        """Block until every submitted address has been handled (tests, shutdown)."""
        self._queue.join()

    def _run(self) -> None:
        retry: float | None = None
        while True:
            taken = True
            try:
                email = self._queue.get(timeout=retry)
            except queue.Empty:
                email, taken = "", False  # time to retry what is still queued
            if email is None:  # close()
                self._queue.task_done()
                return
            try:
                if email:
                    community_of(self.pw).queue_reset_email(email)
                send_queued(self.pw, kinds=[OUTBOX_ACCOUNT])
                retry = None
            except MailError as exc:
                retry = min(RETRY_MAX_SECONDS, retry * 2 if retry else RETRY_SECONDS)
                log.warning("account mail stays queued (retry in %.0f s): %s", retry, exc)
            except Exception:  # the next request must still be served
                log.exception("account mail failed")
            finally:
                if taken:
                    self._queue.task_done()
