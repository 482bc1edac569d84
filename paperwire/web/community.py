"""Plugs the community features into the app: routers, the viewer middleware, the rate
limiter and the template globals (``viewer()``, ``org_url()``, ``author_url()``).

``create_app`` calls ``install(app)`` once; nothing else in the web layer needs to know
about accounts.
"""

from __future__ import annotations

from fastapi import FastAPI

from paperwire.models.people import FollowKind, FollowState
from paperwire.services.people import avatar_url, page_path, people_of
from paperwire.store.ratelimits import RateLimitStore
from paperwire.web.auth import CommunityMiddleware, Viewer, viewer
from paperwire.web.mailer import AccountMailer
from paperwire.web.routes import (
    account,
    admin,
    auth,
    claims,
    collections,
    data,
    fieldmap,
    follows,
    foryou,
    media,
    notifications,
    people,
    profiles,
    submit,
    trending,
    votes,
)
from paperwire.web.routes.discussions import thread_for
from paperwire.web.routes.notifications import unread_notifications
from paperwire.web.routes.people import author_url, org_url
from paperwire.web.templating import templates


def user_url(name: str) -> str:
    """Template global: a user's profile page."""
    return page_path(FollowKind.user, name)


def user_avatar(name: str, size: int = 64) -> str:
    """Template global: a user's avatar (unversioned: cached for minutes)."""
    return avatar_url(name, None, size)


def follow_state(kind: str, target: str) -> FollowState:
    """Template global: whether the viewer follows something, and how many do."""
    v = viewer()
    me = v.account if isinstance(v, Viewer) else None
    pw = v.community.pw if isinstance(v, Viewer) else None
    if pw is None:
        return FollowState(kind=FollowKind(kind), target=target, following=False, followers=0)
    return people_of(pw).state(me, FollowKind(kind), target)


templates.env.globals.update(
    follow_state=follow_state,
    viewer=viewer,
    org_url=org_url,
    author_url=author_url,
    user_url=user_url,
    user_avatar=user_avatar,
    banner_dismissed=media.banner_dismissed,
    discussion=thread_for,
    unread_notifications=unread_notifications,
)


def install(app: FastAPI) -> None:
    modules = (auth, account, votes, submit, collections, trending, people, admin)
    for module in (
        *modules,
        notifications,
        data,
        follows,
        profiles,
        claims,
        media,
        foryou,
        fieldmap,
    ):
        app.include_router(module.router)
    app.state.rate_limiter = RateLimitStore(app.state.pw.db)
    app.state.account_mailer = AccountMailer(app.state.pw)
    app.add_middleware(CommunityMiddleware, pw=app.state.pw)
