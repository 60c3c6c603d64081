"""Fixtures for the hardening tests: the corpus folders, plus the window fixtures.

The window fixtures (``window``, ``messages``, ``open_and_wait``…) are the ones of the window
tests, defined once in ``tests/qt_support.py`` (a plugin of the root conftest). Qt is imported
inside them only, so the engine, loader and command-line tests here build no widget.
"""

from __future__ import annotations

import pytest
from _corpus import Case, bad_files, good_odd_files


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    """Every bad file of the corpus, in a fresh folder of its own."""
    return bad_files(tmp_path_factory.mktemp("bad"))


@pytest.fixture(scope="module")
def good_odd(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    """Every unusual but valid file of the corpus."""
    return good_odd_files(tmp_path_factory.mktemp("odd"))
