"""Typed models shared by every layer (sources, store, search, services, web, CLI), one
module per area: ``papers``, ``search``, ``status``, ``community``, ``subscriptions``,
and ``common`` (the JSON error body, the email rule).

Import from the area's module (``from paperwire.models.papers import PaperCard``): this
package re-exports nothing, so each name has one home.
"""
