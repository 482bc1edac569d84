"""The ``paperwire`` console script and ``python -m paperwire``: the CLI, loaded inside
a guard.

Why a guard: loading the CLI's modules (typer, pydantic, the database and index code)
takes about a second, and a Ctrl-C in that second used to print a ``KeyboardInterrupt``
traceback of the imports (a new user's first ``make up``, stopped at once). It now stops
as a command stopped by Ctrl-C does: a line on stderr and exit status 130.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130
"""The shell's status for a process stopped by SIGINT (128 + 2), as every command uses."""


def main() -> None:
    """Load the CLI, then run it (``paperwire.cli.app``)."""
    try:
        from paperwire.cli import app
    except KeyboardInterrupt:
        print("interrupted while starting", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    app()


if __name__ == "__main__":
    main()
