"""The ``kquant`` command line (placeholder until the I/O issue lands)."""

from __future__ import annotations

import sys

from ._version import __version__


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``kquant``."""
    print(f"kquant {__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
