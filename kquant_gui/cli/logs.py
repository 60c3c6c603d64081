"""The ``kquant`` command line's log: ``KQUANT_LOG=debug`` (or ``--debug``) for maintainers.

The command configures the ``kquant_gui`` logger only (never the root logger) and only while
it runs, so that calling :func:`kquant_gui.cli.main` from Python leaves logging as it was.
Worker processes install the same handler through :func:`configure_worker`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from .args import PROG

#: The environment variable that sets the log level: debug, info, warning (default), error.
LOG_ENV = "KQUANT_LOG"
LOGGER = "kquant_gui"


def level_from_env(debug: bool = False) -> int:
    """The level ``KQUANT_LOG`` asks for (DEBUG with ``--debug``); WARNING if unset or unknown."""
    if debug:
        return logging.DEBUG
    name = os.environ.get(LOG_ENV, "").strip().upper()
    level = logging.getLevelName(name) if name else logging.WARNING
    return level if isinstance(level, int) else logging.WARNING


def _install(level: int) -> tuple[logging.Logger, logging.Handler, int, bool]:
    logger = logging.getLogger(LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s: %(name)s: %(message)s"))
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(level)
    # Our handler prints the records; an application's root handler would print them twice.
    logger.propagate = False
    return logger, handler, *saved


@contextmanager
def logging_to_stderr(level: int) -> Iterator[None]:
    """Print the package's log records of ``level`` and above on stderr within the block."""
    logger, handler, old_level, old_propagate = _install(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate


def configure_worker(level: int) -> None:
    """Logging of a worker process, which lives only as long as the command's pool."""
    logger = logging.getLogger(LOGGER)
    for inherited in list(logger.handlers):  # a forked worker holds a copy of the parent's
        logger.removeHandler(inherited)
    _install(level)
