"""Recommendations: ``/for-you`` (a signed-in reader's feed, with the reasons for each
paper, "not interested", pause/reset and cold-start topics) and a collection's "more like
this" (``/collections/{id}/recommendations``, its JSON twin, and a private Atom feed whose
link carries a signed token), all from ``services.recommend``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadData, URLSafeSerializer
from pydantic import BaseModel, Field

from paperwire.core import Paperwire
from paperwire.models.common import ErrorPublic
from paperwire.models.recommend import (
    CollectionPicks,
    ForYouPage,
    ForYouSettings,
    ForYouSettingsUpdate,
    NotInterestedResult,
)
from paperwire.services import papers
from paperwire.services.clock import data_clock
from paperwire.services.recommend import (
    liked_count,
    rec_store,
    recommend_for_collection,
    recommend_for_user,
)
from paperwire.store.votes import PaperNotFound
from paperwire.web.auth import CSRF, Comm, RequireAccount, viewer_of
from paperwire.web.dependencies import PW, RowId, arxiv_id_or_error
from paperwire.web.routes.feeds import FEED_RESPONSES, _feed, _respond
from paperwire.web.twin import Api, Call, Errors, FormError, Page, parse_form, twin

router = APIRouter(tags=["recommendations"])
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
FEED_SALT = "paperwire.collection-picks"
NOT_FOUND = "There is no such collection, or it is private."
# Topics a new reader can tick (any arXiv category can be sent through the API).
TOPICS = (
    ("cs.CL", "Computation and language"),
    ("cs.CV", "Computer vision"),
    ("cs.LG", "Machine learning"),
    ("cs.AI", "Artificial intelligence"),
    ("cs.RO", "Robotics"),
    ("cs.IR", "Information retrieval"),
    ("stat.ML", "Statistical machine learning"),
    ("cs.SD", "Sound"),
)

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Most papers to return.")]
_ERRORS: Errors = {
    401: {"model": ErrorPublic, "description": "Not logged in."},
    403: {"model": ErrorPublic, "description": "CSRF token missing or wrong."},
}


class NotInterestedIn(BaseModel):
    arxiv_id: str = Field(max_length=300, description="The paper not to recommend again.")


def _settings_model(pw: Paperwire, user_id: int) -> ForYouSettings:
    s = rec_store(pw).settings(user_id)
    return ForYouSettings(
        paused=s.paused,
        reset_at=s.reset_at.replace(tzinfo=dt.UTC) if s.reset_at else None,
        topics=list(s.topics),
        digest_collections=s.digest_collections,
    )


# -- the feed ---------------------------------------------------------------------------------


def _feed_context(call: Call, page: ForYouPage) -> dict[str, Any]:
    pw = call.args["pw"]
    starters = []
    if page.cold_start and not page.items:
        starters = [card for card, _ in papers.trending_cards(pw, 6, data_clock(pw).now)]
    return {
        "page": page,
        "topics": TOPICS,
        "starters": starters,
        "nav": "for-you",
        "page_title": "For you",
    }


@twin(
    router,
    Api("/api/for-you", ForYouPage, errors={401: _ERRORS[401]}, summary="Your recommendations"),
    Page("/for-you", "for_you.html", context=_feed_context, json_href=lambda c, p: "/api/for-you"),
)
def for_you(pw: PW, account: RequireAccount, limit: Limit = DEFAULT_LIMIT) -> ForYouPage:
    """Papers picked from your upvotes, collections and follows, each with the reasons it
    is here; "not interested" marks steer away. Empty while paused; a reader who liked
    nothing yet gets the newest papers of the topics they picked (``cold_start``)."""
    picks = recommend_for_user(pw, account.id, limit)
    liked = liked_count(pw, account.id)
    return ForYouPage(
        items=picks.items(),
        settings=_settings_model(pw, account.id),
        liked=liked,
        cold_start=liked == 0,
        as_of=data_clock(pw),
    )


def _back(call: Call, _result: Any) -> Response:
    return RedirectResponse("/for-you", status_code=303)


def _not_interested_form(call: Call) -> dict[str, Any]:
    return {"data": parse_form(NotInterestedIn, {"arxiv_id": call.value("arxiv_id")}, {})}


@twin(
    router,
    Api(
        "POST /api/for-you/not-interested",
        NotInterestedResult,
        errors={**_ERRORS, 404: {"model": ErrorPublic, "description": "No such paper."}},
        summary="Never recommend this paper again",
    ),
    Page("POST /for-you/not-interested", form=_not_interested_form, respond=_back),
    CSRF,
)
def not_interested(pw: PW, account: RequireAccount, data: NotInterestedIn) -> NotInterestedResult:
    """The paper leaves your feed for good, and papers like it rank lower."""
    try:
        aid = arxiv_id_or_error(data.arxiv_id)
    except HTTPException as exc:
        raise FormError({"arxiv_id": str(exc.detail)}, exc.status_code) from None
    try:
        changed = rec_store(pw).mark_not_interested(account.id, aid)
    except PaperNotFound:
        raise HTTPException(status_code=404, detail=f"Paper {aid} is not on this site.") from None
    return NotInterestedResult(arxiv_id=aid, changed=changed)


def _settings_form(call: Call) -> dict[str, Any]:
    action = call.value("action")
    data: dict[str, Any] = {}
    if action == "pause":
        data["paused"] = True
    elif action == "resume":
        data["paused"] = False
    elif action == "reset":
        data["reset"] = True
    elif action == "topics":
        # one checkbox per topic: ``topic-cs.CL=on``
        data["topics"] = [k.removeprefix("topic-") for k in call.form if k.startswith("topic-")]
    elif action == "digest":
        data["digest_collections"] = call.value("digest_collections") in {"1", "on", "true"}
    else:
        raise FormError({"action": "Unknown action."})
    return {"data": parse_form(ForYouSettingsUpdate, data, {"topics": "Topics"})}


@twin(
    router,
    Api(
        "PATCH /api/for-you/settings",
        ForYouSettings,
        errors=_ERRORS,
        summary="Pause, resume or reset your feed; pick topics",
    ),
    Page("POST /for-you/settings", form=_settings_form, respond=_back),
    CSRF,
)
def update_settings(pw: PW, account: RequireAccount, data: ForYouSettingsUpdate) -> ForYouSettings:
    """``reset`` starts the feed over: upvotes and collection papers from before now no
    longer count (they stay yours) and the "not interested" marks are cleared."""
    rec_store(pw).update_settings(
        account.id,
        paused=data.paused,
        topics=data.topics,
        digest_collections=data.digest_collections,
        reset=data.reset,
    )
    return _settings_model(pw, account.id)


# -- more like this collection ----------------------------------------------------------------


def feed_token(pw: Paperwire, collection_id: int, owner_id: int) -> str:
    """The private token of a collection's picks feed (signed: collection + owner; no
    timestamp, so the link a feed reader stores stays the same)."""
    return str(_feed_signer(pw).dumps([collection_id, owner_id]))


def _feed_signer(pw: Paperwire) -> URLSafeSerializer:
    return URLSafeSerializer(pw.settings.secret_key, salt=FEED_SALT)


def _picks(
    pw: Paperwire, comm: Any, request: Request, collection_id: int, limit: int
) -> CollectionPicks:
    viewer = viewer_of(request).account
    found = comm.collections.view(collection_id, viewer.id if viewer else None)
    if found is None:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    picks = recommend_for_collection(pw, collection_id, limit)
    owner = viewer is not None and viewer.id == found.owner_id
    url = None
    if owner:
        token = feed_token(pw, collection_id, found.owner_id)
        url = f"/collections/{collection_id}/recommendations.atom?token={token}"
    return CollectionPicks(
        collection_id=collection_id, name=found.name, items=picks.items(), feed_url=url
    )


@twin(
    router,
    Api(
        "/api/collections/{collection_id}/recommendations",
        CollectionPicks,
        errors={404: {"model": ErrorPublic, "description": NOT_FOUND}},
        summary="More like this collection",
    ),
    Page(
        "/collections/{collection_id:int}/recommendations",
        "collection_picks.html",
        context=lambda call, picks: {"page": picks, "page_title": f"More like {picks.name}"},
        json_href=lambda call, p: f"/api/collections/{p.collection_id}/recommendations",
    ),
)
def collection_recommendations(
    request: Request, pw: PW, comm: Comm, collection_id: RowId, limit: Limit = DEFAULT_LIMIT
) -> CollectionPicks:
    """Papers like the collection's (not already in it). Private collections answer 404
    to everyone but their owner, who also gets ``feed_url``: a private Atom feed."""
    return _picks(pw, comm, request, collection_id, limit)


@router.get(
    "/collections/{collection_id}/recommendations.atom",
    summary="More like this collection, as a private Atom feed",
    responses=FEED_RESPONSES,
    tags=["feeds"],
)
def collection_picks_feed(
    request: Request,
    pw: PW,
    comm: Comm,
    collection_id: RowId,
    token: Annotated[str, Query(max_length=500, description="The feed's private token.")],
) -> Response:
    """The token (from ``feed_url``) stands in for the owner's login, so a feed reader
    can poll a private collection's picks; any other token answers 404."""
    try:
        cid, owner_id = _feed_signer(pw).loads(token)
    except (BadData, ValueError, TypeError):
        raise HTTPException(status_code=404, detail=NOT_FOUND) from None
    found = comm.collections.view(collection_id, owner_id)
    if cid != collection_id or found is None or found.owner_id != owner_id:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    picks = recommend_for_collection(pw, collection_id, DEFAULT_LIMIT)
    feed = _feed(
        pw,
        request,
        f"more like “{found.name}”",
        f"Papers like those in {found.name}.",
        f"/collections/{collection_id}/recommendations",
        [item.paper for item in picks.items()],
    )
    return _respond(request, feed, "atom")
