"""The one error every ``kquant`` option check raises for a bad combination of arguments.

It lives apart from the parser so that the modules which add options to the parser
(:mod:`.args`, :mod:`.recipe_args`) can both raise it without importing each other.
"""

from __future__ import annotations

__all__ = ["UsageError"]


class UsageError(Exception):
    """Bad combination of arguments; reported like argparse's own errors, exit status 2."""
