"""EXIF carried from an input to its output: only real EXIF, in a form each writer accepts.

Pillow's ``getexif()`` of a TIFF is the TIFF's whole first directory, structural tags included
(ImageWidth, BitsPerSample, StripOffsets, PhotometricInterpretation, ...): copied into a new
file they describe the old pixels, not the new ones, and make it unreadable. :func:`portable_exif`
keeps the descriptive tags of the first directory and the Exif and GPS sub-directories, nothing
else. TIFF's own writer (libtiff) cannot take sub-directories: :func:`exif_for` leaves them out
for TIFF, and says so.
"""

from __future__ import annotations

import logging

from PIL import Image

__all__ = ["exif_for", "portable_exif"]

_log = logging.getLogger(__name__)

ORIENTATION = 0x0112
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
#: First-directory tags that describe the picture, its maker and its rights: all EXIF carries.
DESCRIPTIVE = frozenset({
    0x010E,  # ImageDescription
    0x010F,  # Make
    0x0110,  # Model
    ORIENTATION,
    0x011A, 0x011B, 0x0128,  # X/YResolution, ResolutionUnit
    0x0131,  # Software
    0x0132,  # DateTime
    0x013B,  # Artist
    0x4746, 0x4749,  # Rating, RatingPercent
    0x8298,  # Copyright
    0x9C9B, 0x9C9C, 0x9C9D, 0x9C9E, 0x9C9F,  # Windows title, comment, author, keywords, subject
})  # fmt: skip
TIFF_NOTE = "TIFF keeps no EXIF details (camera settings, GPS): save as PNG, WebP or JPEG for them"


def portable_exif(im: Image.Image) -> bytes | None:
    """The EXIF of ``im`` worth carrying over, orientation reset to 1; None when there is none.

    Call after the orientation was applied to the pixels. Unreadable EXIF gives None (logged):
    metadata is never a reason to lose the picture.
    """
    try:
        found = im.getexif()
        kept = Image.Exif()
        for tag in DESCRIPTIVE & set(found):
            kept[tag] = found[tag]
        for tag in (EXIF_IFD, GPS_IFD):
            sub = found.get_ifd(tag) if tag in found else {}
            if sub:
                kept[tag] = dict(sub)
        if not kept:
            return None
        if ORIENTATION in kept:
            kept[ORIENTATION] = 1
        return kept.tobytes()
    except Exception as exc:  # broken EXIF must not stop the image from loading
        _log.debug("EXIF of %s not carried over: %r", getattr(im, "filename", "?"), exc)
        return None


def exif_for(fmt: str, exif: bytes) -> tuple[bytes | None, str | None]:
    """``exif`` as the writer of ``fmt`` takes it, and a note when part of it must stay behind.

    Parameters
    ----------
    fmt : str
        Pillow's format name of the output.
    exif : bytes
        From :func:`portable_exif`.
    """
    if fmt != "TIFF":
        return exif, None
    parsed = Image.Exif()
    parsed.load(exif)
    had_details = any(tag in parsed for tag in (EXIF_IFD, GPS_IFD))
    flat = Image.Exif()
    for tag in DESCRIPTIVE & set(parsed):
        flat[tag] = parsed[tag]
    return (flat.tobytes() if flat else None), (TIFF_NOTE if had_details else None)
