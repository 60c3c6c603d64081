"""A bounded fuzz test of the loader: mutated PNG, JPEG, GIF, TIFF, WebP and BMP files.

Bit flips, truncations and inserted bytes, from a fixed seed so a failure reproduces: whatever
the damage, ``load_image`` either returns valid uint8 pixels or raises ``ImageLoadError``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from _corpus import small_photo
from PIL import Image

from kquant_gui.image_io import ImageLoadError, load_image

#: Mutated files per format: under a second per format on a shared 2-core machine.
MUTANTS = 600
#: Mutations may rewrite a header into a large but allowed size; a low limit keeps each
#: decode to milliseconds (the limit itself is tested elsewhere).
FUZZ_MAX_PIXELS = 1_000_000


def seeds() -> dict[str, bytes]:
    """One small valid file per format, with alpha or a palette where the format has one."""
    photo = small_photo(5, (24, 16))
    rgba = np.dstack([photo, np.linspace(0, 255, 24, dtype=np.uint8)[None].repeat(16, 0)])
    files = {}
    for ext, im, kwargs in (
        ("png", Image.fromarray(rgba), {}),
        ("jpg", Image.fromarray(photo), {"quality": 80}),
        ("gif", Image.fromarray(photo).quantize(16), {"transparency": 0}),
        ("tif", Image.fromarray(rgba), {"compression": "tiff_deflate"}),
        ("webp", Image.fromarray(rgba), {"lossless": True}),
        ("bmp", Image.fromarray(photo), {}),
    ):
        buf = io.BytesIO()
        im.save(buf, {"jpg": "JPEG", "tif": "TIFF"}.get(ext, ext.upper()), **kwargs)
        files[ext] = buf.getvalue()
    return files


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One to three random mutations: flip bits, truncate, insert or overwrite bytes."""
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        kind = rng.integers(0, 4)
        pos = int(rng.integers(0, max(1, len(b))))
        if kind == 0:  # bit flips, often in the headers where they hurt most
            if rng.random() < 0.5:
                pos = int(rng.integers(0, min(64, len(b))))
            b[pos] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:
            del b[max(1, pos) :]
        elif kind == 2:
            b[pos:pos] = rng.integers(0, 256, int(rng.integers(1, 16)), dtype=np.uint8).tobytes()
        else:  # an extreme value: 0x00 or 0xff runs break lengths and sizes
            b[pos : pos + 4] = bytes([0xFF if rng.random() < 0.5 else 0x00]) * 4
    return bytes(b)


# Pillow warns about some damage it works around; the loader's contract is about exceptions.
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("ext", ["png", "jpg", "gif", "tif", "webp", "bmp"])
def test_mutated_files_load_or_fail_cleanly(tmp_path: Path, ext: str) -> None:
    rng = np.random.default_rng(list(b"kquant" + ext.encode()))
    original = seeds()[ext]
    loaded = refused = 0
    for i in range(MUTANTS):
        path = tmp_path / f"mutant-{i}.{ext}"
        path.write_bytes(mutate(original, rng))
        try:
            image = load_image(path, max_pixels=FUZZ_MAX_PIXELS)
        except ImageLoadError as exc:
            refused += 1
            assert str(path) in str(exc), exc
            assert "Traceback" not in str(exc)
        else:
            loaded += 1
            px = image.pixels
            assert px.dtype == np.uint8 and px.ndim == 3 and px.shape[2] in (3, 4), px.shape
            assert px.shape[0] >= 1 and px.shape[1] >= 1
            assert px.flags.c_contiguous
        path.unlink()
    # Both outcomes must have happened, or the mutations were too weak or too strong.
    assert loaded > 0 and refused > 0, (loaded, refused)
