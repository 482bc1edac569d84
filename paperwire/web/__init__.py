"""The web layer: server-rendered pages and their JSON twins (``create_app``)."""

from paperwire.web.app import create_app

__all__ = ["create_app"]
