"""Work-arounds for known bugs of specific Qt binding releases, each gated on that release."""

from __future__ import annotations

import sys

#: PySide6 releases that drop a reference to ``None`` on every call of a void Qt method
#: (``setObjectName``, ``processEvents``, ``QPainter.drawText``...). On Python < 3.12, where
#: ``None`` is not immortal, a few thousand such calls bring its count to zero and the
#: interpreter aborts with "none_dealloc: deallocating None".
_NONE_LEAKING_PYSIDE = ("6.12.0",)
_done = False


def keep_none_alive() -> None:
    """Make ``None`` effectively immortal when running on a PySide6 release that leaks it.

    Python 3.12 and later make ``None`` immortal themselves; on 3.11 its reference count is
    raised by 2**40 once, which no session can use up. Does nothing on other releases.
    """
    global _done
    if _done or sys.version_info >= (3, 12):
        return
    import PySide6

    _done = True
    if PySide6.__version__ not in _NONE_LEAKING_PYSIDE:
        return
    import ctypes

    # ob_refcnt is the first field of every CPython object (non-debug builds).
    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40
