"""``python -m paperwire`` runs the CLI."""

from paperwire.cli import app

app()
