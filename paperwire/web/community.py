"""Plugs the community features into the app: routers, the viewer middleware, the rate
limiter and the template globals (``viewer()``, ``org_url()``, ``author_url()``).

``create_app`` calls ``install(app)`` once; nothing else in the web layer needs to know
about accounts.
"""

from __future__ import annotations

from fastapi import FastAPI

from paperwire.store.ratelimits import RateLimitStore
from paperwire.web.auth import CommunityMiddleware, viewer
from paperwire.web.mailer import AccountMailer
from paperwire.web.routes import (
    admin,
    auth,
    collections,
    data,
    people,
    submit,
    trending,
    votes,
)
from paperwire.web.routes.people import author_url, org_url
from paperwire.web.templating import templates

templates.env.globals.update(viewer=viewer, org_url=org_url, author_url=author_url)


def install(app: FastAPI) -> None:
    for module in (auth, votes, submit, collections, trending, people, admin, data):
        app.include_router(module.router)
    app.state.rate_limiter = RateLimitStore(app.state.pw.db)
    app.state.account_mailer = AccountMailer(app.state.pw)
    app.add_middleware(CommunityMiddleware, pw=app.state.pw)
