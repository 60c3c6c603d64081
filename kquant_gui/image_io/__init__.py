"""Image files in and out with Pillow; Qt-free. This package's names are the public I/O API.

Loading (:mod:`.load`) turns any file Pillow reads into sRGB ``uint8`` pixels, shape (H, W, 3)
or (H, W, 4). Saving (:mod:`.save`) writes exactly the quantized image: a true indexed PNG (or
GIF, BMP) whose palette is the result's palette in the same order (:mod:`.encode`,
:mod:`.png`), through a temporary file renamed into place (:mod:`.atomic`), so a failure never
leaves a partial file behind.

Both directions raise one error type each, :class:`ImageLoadError` and :class:`ImageSaveError`
(:mod:`.errors`), whose message names the file and gives a human reason; callers show
``str(error)`` as is. They are safe to call from a worker thread.
"""

from __future__ import annotations

from .atomic import discard_temp_files, write_atomically
from .encode import (
    JPEG_NOTE,
    SUPPORTED_SAVE_FORMATS,
    encode_quantized,
    estimate_png_size,
    save_format_for,
)
from .errors import ImageIOError, ImageLoadError, ImageSaveError
from .load import (
    DEFAULT_MAX_PIXELS,
    LoadedImage,
    load_image,
    readable_extensions,
    register_heif,
)
from .save import SavedImage, encode_to_bytes, save_quantized

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "JPEG_NOTE",
    "SUPPORTED_SAVE_FORMATS",
    "ImageIOError",
    "ImageLoadError",
    "ImageSaveError",
    "LoadedImage",
    "SavedImage",
    "discard_temp_files",
    "encode_quantized",
    "encode_to_bytes",
    "estimate_png_size",
    "load_image",
    "readable_extensions",
    "register_heif",
    "save_format_for",
    "save_quantized",
    "write_atomically",
]
