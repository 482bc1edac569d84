"""The services the web app, the CLI and the jobs all call: what is not a query.

``papers`` (the feed, a paper with its similar papers, trending), ``community``
(accounts, sessions, votes, submissions, collections, moderation), ``subscriptions``
(double opt-in, saved searches, composing and rendering digests), and what they need to
reach the outside: ``mail`` (SMTP) and ``signing`` (expiring signed links). Each service
is one object per ``Paperwire`` (``community_of(pw)``, ``subscriptions_of(pw)``).
"""
