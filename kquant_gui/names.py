"""How file names are shown to people: escaped, never raw; Qt-free.

A file name is bytes on Linux: it may be no valid UTF-8 (Python then carries the odd bytes as
lone surrogates, which no stream can print) and may hold characters a terminal acts on (escape
sequences, carriage returns, newlines, bidi overrides). Shown raw, such a name crashes the
printing, repaints the terminal or splits a one-line message. :func:`printable` turns any text
holding names into plain, single-line, valid Unicode that still says which file it is.
"""

from __future__ import annotations

import os
from typing import TextIO

__all__ = ["printable", "printable_name", "say"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` with undecodable bytes as ``\\xNN`` and non-printable characters escaped.

    Parameters
    ----------
    text : str
        A message or a name, possibly holding lone surrogates from ``os.fsdecode``.

    Returns
    -------
    str
        Valid Unicode with no control, format or separator characters (other than the space):
        a newline shows as ``\\n``, ESC as ``\\x1b``, U+202E as ``\\u202e``, a byte 0xE9 that was
        not UTF-8 as ``\\xe9``. Ordinary text, accents and CJK included, is unchanged.
    """
    if text.isprintable():
        return text
    try:
        # Surrogates U+DC80..U+DCFF are the bytes os.fsdecode could not decode: back to bytes.
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # other lone surrogates: no byte behind them
        raw = text.encode("utf-8", "backslashreplace")
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(c: str) -> str:
    if c in _NAMED:
        return _NAMED[c]
    code = ord(c)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable_name(path: os.PathLike[str] | str | bytes) -> str:
    """A path as :func:`printable` text (bytes paths are decoded as the file system does)."""
    return printable(os.fsdecode(path))


def say(stream: TextIO, text: str) -> None:
    """Write ``text`` as one line on ``stream``, escaped with :func:`printable`.

    A stream whose encoding cannot hold some character (a Latin-1 terminal showing a CJK name)
    gets it as a ``\\u`` escape rather than an error.
    """
    line = printable(text) + "\n"
    try:
        stream.write(line)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(line.encode(encoding, "backslashreplace").decode(encoding))
