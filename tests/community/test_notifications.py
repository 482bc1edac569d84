"""Notifications (replies, @mentions) on /notifications and by email through the outbox,
per-user settings, and a kind registered by other code; comment reports → /admin, where
moderators hide comments or users, with audit entries (issue 14)."""

from __future__ import annotations

from paperwire.jobs.digest import send_queued
from paperwire.services.notifications import KINDS, NotificationKind, notifier_of, register
from paperwire.store.comments import CommentStore
from paperwire.store.subscriptions import SubscriptionStore
from tests.community.conftest import HOT, Env, html, make_env, text_of
from tests.community.test_auth import mail_done
from tests.community.test_discussions import comment, thread
from tests.conftest import AppFactory, SmtpSink


def test_reply_and_mention_notify_on_site_and_by_email(
    make_app: AppFactory, smtp_server: SmtpSink
) -> None:
    env = make_env(make_app, smtp_port=smtp_server.port, base_url="http://paperwire.test")
    ada = env.account("ada@example.org", "Ada Lovelace")
    bob = env.account("bob@example.org", "Bob")
    cat = env.account("cat@example.org", "Cat")
    first = comment(ada, HOT, "What about $O(n^2)$?")
    comment(bob, HOT, "Agreed, and cc @cat and @nobody-here (and `@ada-lovelace` in code)", first)
    mail_done(env)
    by_to = {m["To"]: m for m in smtp_server.messages}
    assert set(by_to) == {"ada@example.org", "cat@example.org"}  # not Bob, not "nobody"
    reply_mail = by_to["ada@example.org"]
    assert "Bob replied to your comment" in reply_mail["Subject"]
    text = reply_mail.get_body(("plain",)).get_content()
    assert f"http://paperwire.test/papers/{HOT}#comment-" in text
    assert "> Agreed, and cc @cat" in text and "/notifications/settings" in text
    assert "Bob mentioned you" in by_to["cat@example.org"]["Subject"]
    cat_sees = cat.c.get("/api/notifications").json()["notifications"]
    assert [n["kind"] for n in cat_sees] == ["comment_mention"]

    page = ada.c.get("/notifications")
    assert page.status_code == 200
    assert "Bob replied to your comment on “Hot takes on sparse attention”" in text_of(
        html(page.text)
    )
    data = ada.c.get("/api/notifications").json()
    assert data["unread"] == 1 and data["notifications"][0]["kind"] == "comment_reply"
    assert data["notifications"][0]["url"].startswith(f"/papers/{HOT}#comment-")
    assert "Notifications 1" in text_of(html(ada.c.get("/").text))  # the nav's badge
    assert ada.post("/notifications/read", {}, token_from="/notifications").status_code == 303
    assert ada.c.get("/api/notifications").json()["unread"] == 0
    # the mention links to the profile of the user it names
    reply_html = thread(ada, HOT)["comments"][1]["html"]
    assert (
        '<a class="mention" href="/users/cat"' in reply_html and "/users/nobody" not in reply_html
    )


def test_settings_turn_email_and_list_off(make_app: AppFactory, smtp_server: SmtpSink) -> None:
    env = make_env(make_app, smtp_port=smtp_server.port)
    ada = env.account("ada@example.org", "Ada")
    bob = env.account("bob@example.org", "Bob")
    page = ada.c.get("/notifications/settings")
    assert page.status_code == 200 and "Replies to your comments" in page.text
    # the form: an unticked box is off — keep replies on the site, email nothing
    r = ada.post(
        "/notifications/settings", {"web:comment_reply": "on"}, token_from="/notifications/settings"
    )
    assert r.status_code == 303
    settings = {s["kind"]: s for s in ada.c.get("/api/notifications/settings").json()}
    assert (settings["comment_reply"]["web"], settings["comment_reply"]["email"]) == (True, False)
    assert (settings["comment_mention"]["web"], settings["comment_mention"]["email"]) == (
        False,
        False,
    )
    first = comment(ada, HOT, "hello")
    comment(bob, HOT, "hi @ada", first)
    mail_done(env)
    assert smtp_server.messages == []
    kinds = [n["kind"] for n in ada.c.get("/api/notifications").json()["notifications"]]
    assert kinds == ["comment_reply"]
    r = ada.api("PUT", "/api/notifications/settings", json={"settings": [
        {"kind": "no_such_kind", "web": True, "email": True}]})  # fmt: skip
    assert r.status_code == 422


def test_other_code_registers_a_kind(env: Env) -> None:
    """A new kind (as ``people`` adds for followed authors) needs only ``register``."""
    kind = register(NotificationKind("test_new_paper", "New papers by authors you follow"))
    try:
        _notify_new_kind(env, kind.name)
    finally:
        KINDS.pop(kind.name)


def _notify_new_kind(env: Env, kind: str) -> None:
    ada = env.account("ada@example.org", "Ada")
    account = env.comm.users.by_email("ada@example.org")
    assert account is not None
    notifier_of(env.pw).notify(account, kind, "Grace Hopper has a new paper", f"/papers/{HOT}")
    kinds = [s["kind"] for s in ada.c.get("/api/notifications/settings").json()]
    assert "test_new_paper" in kinds
    assert ada.c.get("/api/notifications").json()["notifications"][0]["text"] == (
        "Grace Hopper has a new paper"
    )


def test_report_then_admin_hides_comment_and_user(env: Env) -> None:
    admin = env.account("root@example.org", "Root", admin=True)
    ada = env.account("ada@example.org", "Ada")
    troll = env.account("troll@example.org", "Troll")
    first = comment(ada, HOT, "A fair point")
    bad = comment(troll, HOT, "spam spam", first)
    other = comment(troll, HOT, "more spam")
    r = ada.post(f"/comments/{bad}/report", {"reason": "spam"}, token_from=f"/papers/{HOT}")
    assert r.status_code == 303 and "Reported. Thank you." in ada.c.get(r.headers["location"]).text
    assert ada.api("POST", f"/api/comments/{bad}/report", json={}).status_code == 204  # again
    assert troll.c.get("/admin").status_code == 403
    reports = admin.c.get("/api/admin/comment-reports").json()
    assert [(r["comment"]["id"], r["reporter"], r["reason"]) for r in reports] == [
        (bad, "Ada", "spam")
    ]
    assert "spam spam" in admin.c.get("/admin").text
    r = admin.post(f"/admin/comments/{bad}/hide", {"reason": "spam"}, token_from="/admin")
    assert r.status_code == 303
    assert admin.c.get("/api/admin/comment-reports").json() == []
    shown = [(c["id"], c["state"]) for c in thread(ada, HOT)["comments"]]
    assert shown == [(first, "shown"), (other, "shown")]  # the hidden leaf is gone

    # hide the user: every comment, and no more commenting
    troll_id = reports[0]["author_id"]
    r = admin.post(f"/admin/users/{troll_id}/hide-comments", {}, token_from="/admin")
    assert r.status_code == 303
    assert [c["id"] for c in thread(ada, HOT)["comments"]] == [first]
    r = troll.api("POST", f"/api/papers/{HOT}/comments", json={"body": "I am back"})
    assert r.status_code == 403
    assert CommentStore(env.pw.db).counts_agree(HOT) == (1, 1)
    actions = [e["action"] for e in admin.c.get("/api/admin/audit").json()]
    assert actions[:2] == ["user.hide_comments", "comment.hide"]
    admin_page = html(admin.c.get("/admin").text)
    assert admin_page.xpath(f"//form[@action='/admin/users/{troll_id}/unhide-comments']")
    assert "comments hidden" in text_of(admin_page)
    # and back
    r = admin.api("POST", f"/api/admin/users/{troll_id}/unhide-comments")
    assert r.status_code == 200 and r.json()["comments"] == [other]
    assert CommentStore(env.pw.db).counts_agree(HOT) == (2, 2)


def test_notification_mail_waits_in_the_outbox_while_smtp_is_down(make_app: AppFactory) -> None:
    sink = SmtpSink()  # not started yet: the mail server is down
    env = make_env(make_app, smtp_port=sink.port, smtp_timeout=2)
    ada = env.account("ada@example.org", "Ada")
    bob = env.account("bob@example.org", "Bob")
    r = bob.post(f"/papers/{HOT}/comments", {"body": "hi @ada"}, token_from=f"/papers/{HOT}")
    assert r.status_code == 303  # the comment does not wait for the mail
    mail_done(env)
    queued = [row for row in SubscriptionStore(env.pw.db).outbox() if row.sent_at is None]
    assert [row.recipient for row in queued] == ["ada@example.org"]
    assert ada.c.get("/api/notifications").json()["unread"] == 1
    sink.start()  # back: the worker's outbox job delivers what waited
    try:
        assert send_queued(env.pw).sent == 1
    finally:
        sink.stop()
    assert [m["To"] for m in sink.messages] == ["ada@example.org"]
    assert "Bob mentioned you" in sink.messages[0]["Subject"]
