"""A real Chromium walks a discussion, with JavaScript on and off: a comment with Markdown,
math and an XSS payload (inert), a reply with an @mention → a notification on the site and
a mail in the SMTP sink, a report → an admin hides the comment. With JavaScript the math
(in the comment and in a paper title) is rendered by the bundled KaTeX; without it the
TeX source shows and everything else works the same."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from paperwire.models.community import UserCreate
from paperwire.models.discussions import CommentCreate
from paperwire.models.papers import PaperRecord
from paperwire.services.discussions import discussions_of
from paperwire.services.ingest import ingest_records
from paperwire.web.templating import KATEX_DIR
from tests.browser import BROWSER_MARKS, open_page
from tests.community.conftest import PASSWORD, Env, LiveServer, make_env
from tests.conftest import AppFactory, SmtpSink

pytestmark = [
    *BROWSER_MARKS,
    pytest.mark.skipif(
        not (KATEX_DIR / "katex.min.js").is_file(), reason="KaTeX missing: run make install"
    ),
]
MATH_PAPER = "2511.00042"
PAYLOAD = (
    "**Bold claim**: the loss is $\\mathcal{L} = x^{2}$. "
    '<img src=x onerror="window.pwned=1"> <script>window.pwned=2</script> '
    "[evil](javascript:window.pwned=3)"
)


@pytest.fixture
def live(make_app: AppFactory, smtp_server: SmtpSink) -> Iterator[tuple[Env, str, SmtpSink]]:
    env = make_env(make_app, smtp_port=smtp_server.port)
    record = PaperRecord(
        arxiv_id=MATH_PAPER,
        source="hf-daily",
        title="$X^{2}$-Gaussian: splatting with squared kernels",
        abstract="We fit $\\sigma^2$ per kernel.",
        authors=["Ada Lovelace"],
        featured_on=dt.datetime.now(dt.UTC).date(),
        upvotes=3,
    )
    assert ingest_records(env.pw, [record], "hf-daily").added == 1
    for email, name, admin in [
        ("bob@example.org", "Bob", False),
        ("ada@example.org", "Ada", True),
        ("troll@example.org", "Troll", False),
    ]:
        env.comm.signup(
            UserCreate(email=email, display_name=name, password=PASSWORD), is_admin=admin
        )
    with LiveServer(env.app) as server:
        yield env, server.url, smtp_server


class Visitor:
    def __init__(self, browser: Any, url: str, js: bool) -> None:
        self.url = url
        self.page = open_page(browser, js=js)
        self.errors: list[str] = self.page.console_errors
        self.dialogs: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def login(self, email: str) -> None:
        self.page.goto(self.url + "/login")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_url(self.url + "/")

    def open_paper(self) -> Any:
        self.page.goto(f"{self.url}/papers/{MATH_PAPER}")
        return self.page

    def close(self) -> None:
        self.page.context.close()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_discussion_walk(live: tuple[Env, str, SmtpSink], browser: Any, js: bool) -> None:
    env, url, smtp = live
    bob, ada = Visitor(browser, url, js), Visitor(browser, url, js)
    try:
        bob.login("bob@example.org")
        page = bob.open_paper()
        title = page.locator("h1.paper-title")
        if js:  # the title's TeX is rendered by KaTeX; without JS it shows as written
            title.locator(".katex").first.wait_for()
        else:
            assert "$X^{2}$-Gaussian" in title.inner_text()
        page.get_by_label("Add a comment").fill(PAYLOAD)
        page.get_by_role("button", name="Comment", exact=True).click()
        page.wait_for_load_state()
        body = page.locator(".comment-body").first
        assert body.locator("strong").inner_text() == "Bold claim"
        assert body.locator("img").count() == 0 and body.locator("script").count() == 0
        assert "window.pwned=2" in body.inner_text()  # shown as text, never run
        assert body.locator("a").count() == 0  # the javascript: link is not a link
        if js:
            body.locator(".katex").first.wait_for()
            assert page.evaluate("window.pwned === undefined")
        else:
            assert body.locator(".math").inner_text() == "$\\mathcal{L} = x^{2}$"
        assert not bob.dialogs

        # Ada replies and mentions Bob (one notification: the reply), from the reply page
        ada.login("ada@example.org")
        page = ada.open_paper()
        page.get_by_role("link", name="Reply").first.click()
        page.get_by_label("Your reply").fill("Agreed, @bob: $E = mc^2$")
        page.get_by_role("button", name="Reply").click()
        page.wait_for_url(f"**/papers/{MATH_PAPER}#comment-*")
        reply = page.locator("li.comment.depth-1 .comment-body")
        assert page.locator("li.comment.depth-1 a.mention").inner_text() == "@bob"
        if js:
            reply.locator(".katex").first.wait_for()

        # Bob: the notification on the site, and the mail in the SMTP sink
        env.app.state.account_mailer.wait_idle()
        assert [m["To"] for m in smtp.messages] == ["bob@example.org"]
        assert "Ada replied to your comment" in smtp.messages[0]["Subject"]
        page = bob.page
        page.goto(url + "/")
        page.locator("nav[aria-label='Account']").get_by_role("link", name="Notifications").click()
        page.get_by_role("link", name="Ada replied to your comment").click()
        page.wait_for_url(f"**/papers/{MATH_PAPER}#comment-*")

        # the troll posts; Bob reports; the admin (Ada) hides it from /admin
        troll = env.comm.users.by_email("troll@example.org")
        assert troll is not None
        spam = discussions_of(env.pw).post(troll, MATH_PAPER, CommentCreate(body="BUY NOW"))
        page = bob.open_paper()
        item = page.locator(f"#comment-{spam.id}")
        item.locator("summary", has_text="Report").click()
        item.get_by_label("Reason").fill("spam")
        item.get_by_role("button", name="Send report").click()
        page.wait_for_load_state()
        assert page.locator(f"#comment-{spam.id}").get_by_text("Reported. Thank you.").is_visible()
        page = ada.page
        page.goto(url + "/admin")
        row = page.locator("tr", has_text="BUY NOW")
        row.get_by_role("button", name=f"Hide comment {spam.id}").click()
        page.wait_for_url("**/admin?done=*")
        assert "1 comment(s) changed" in page.inner_text("main")
        page = bob.open_paper()
        assert page.locator(f"#comment-{spam.id}").count() == 0
        assert "BUY NOW" not in page.inner_text("main")
    finally:
        bob.close()
        ada.close()
    assert not bob.errors and not ada.errors, (bob.errors, ada.errors)
