"""The tables, one module per area: ``papers``, ``community``, ``subscriptions``,
``ratelimits``, ``alerts``, ``discussions``, ``people``, ``recommend``, ``versions``.

Importing this package registers every table on ``Base.metadata`` (what Alembic's
``env.py`` and ``paperwire migrate`` compare against). Changes need an Alembic revision
in ``store/migrations/versions``.
"""

from paperwire.store.schema import (
    alerts,
    community,
    discussions,
    papers,
    people,
    ratelimits,
    recommend,
    subscriptions,
    versions,
)
from paperwire.store.schema.base import Base

__all__ = [
    "Base",
    "alerts",
    "community",
    "discussions",
    "papers",
    "people",
    "ratelimits",
    "recommend",
    "subscriptions",
    "versions",
]
