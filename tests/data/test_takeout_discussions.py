"""Account deletion and takeout of discussions: tombstones keep other people's replies."""

from __future__ import annotations

from sqlalchemy import select

from paperwire.models.discussions import CommentCreate
from paperwire.services.community import community_of
from paperwire.services.discussions import discussions_of
from paperwire.services.takeout import delete_account
from paperwire.store.schema.community import User
from paperwire.store.schema.discussions import Comment
from paperwire.store.takeout import GHOST_HANDLE, TakeoutStore
from tests.conftest import AppFactory
from tests.data.conftest import fill
from tests.data.test_takeout import FAST, account, ids


def test_deleting_an_account_keeps_the_threads_of_others(make_app: AppFactory) -> None:
    pw = make_app(**FAST)
    fill(pw, listing_rows=30)
    paper = ids(pw, 1)[0]
    users = community_of(pw).users
    leaver_id = account(pw, "leaver@example.org", "Leaver")
    stayer_id = account(pw, "stayer@example.org", "Stayer")
    leaver, stayer = users.get(leaver_id), users.get(stayer_id)
    assert leaver is not None and stayer is not None
    talk = discussions_of(pw)
    answered = talk.post(leaver, paper, CommentCreate(body="first, answered"))
    lonely = talk.post(leaver, paper, CommentCreate(body="second, @stayer unanswered"))
    reply = talk.post(stayer, paper, CommentCreate(body="a reply", parent_id=answered.id))
    talk.vote(leaver, reply.id, True)
    talk.vote(stayer, lonely.id, True)
    assert talk.thread(paper, None).local_comments == 3

    exported = TakeoutStore(pw.db).export(leaver_id)
    bodies = [c["body"] for c in exported["comments"]]
    assert bodies == ["first, answered", "second, @stayer unanswered"]
    assert [v["comment_id"] for v in exported["comment_votes"]] == [reply.id]

    done = delete_account(pw, leaver_id)
    assert done.kinds["comments"] == "anonymised" and done.kinds["notifications"] == "removed"

    thread = talk.thread(paper, None)
    assert thread.local_comments == 1  # only the stayer's reply is shown
    by_id = {c.id: c for c in thread.comments}
    assert lonely.id not in by_id  # removed with its vote
    assert answered.id in by_id and reply.id in by_id  # the tombstone keeps the reply's thread
    assert talk.one(reply.id).upvotes == 0  # the leaver's point went with them
    with pw.db.session() as s:
        tomb = s.get(Comment, answered.id)
        assert tomb is not None and tomb.body == "" and tomb.deleted_at is not None
        owner = s.scalar(select(User.handle).where(User.id == tomb.user_id))
    assert owner == GHOST_HANDLE
    assert "first, answered" not in str(talk.thread(paper, None).model_dump())
