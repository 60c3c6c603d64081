"""Soft-edged RGBA benchmark images, built from scikit-learn's sample photos and drawing.

Five kinds of soft transparency people shrink with pngquant: a feathered vignette, a cut-out
with a blurred matte, anti-aliased text with a soft shadow on nothing, an icon drawn at 4x and
downsampled, and a colour-and-alpha gradient. Each is built deterministically (no downloads,
no randomness), so every run sees the same pixels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .images import china, flower, make_24mp


def _radius(h: int, w: int) -> np.ndarray:
    """Elliptical radius from the centre, 1.0 on the ellipse touching the image's sides."""
    y = (np.arange(h) - (h - 1) / 2) / (h / 2)
    x = (np.arange(w) - (w - 1) / 2) / (w / 2)
    return np.sqrt(y[:, None] ** 2 + x[None, :] ** 2)


def _smooth(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _with_alpha(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    out = np.empty((*rgb.shape[:2], 4), dtype=np.uint8)
    out[..., :3] = rgb[..., :3]
    out[..., 3] = np.clip(np.rint(alpha), 0, 255).astype(np.uint8)
    return out


def vignette() -> np.ndarray:
    """``china.jpg`` fading out to nothing towards its border: a wide feathered ellipse.

    Returns
    -------
    ndarray of uint8, shape (427, 640, 4)
    """
    rgb = np.asarray(china())
    r = _radius(*rgb.shape[:2])
    return _with_alpha(rgb, 255.0 * _smooth((1.05 - r) / 0.5))


def cutout() -> np.ndarray:
    """The flower of ``flower.jpg`` cut out with a blurred matte; the rest fully transparent.

    The matte picks the petals and the centre by colour, fills holes by closing, and is
    blurred (Gaussian, radius 3), as a cut-out tool's feathered selection would be.

    Returns
    -------
    ndarray of uint8, shape (427, 640, 4)
    """
    rgb = np.asarray(flower()).astype(np.int16)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    mask = ((r > g + 25) & (r > b)) | ((r > 150) & (g > 110) & (b < 90))
    m = Image.fromarray((mask * 255).astype(np.uint8), "L")
    m = m.filter(ImageFilter.MaxFilter(7)).filter(ImageFilter.MinFilter(7))
    m = m.filter(ImageFilter.GaussianBlur(3))
    return _with_alpha(np.asarray(flower()), np.asarray(m, dtype=np.float64))


def text() -> np.ndarray:
    """Anti-aliased text with a soft, offset drop shadow, on a fully transparent canvas.

    The letters are filled with a colour gradient; the shadow is the same text in black at
    55% opacity, blurred (radius 5) and offset.

    Returns
    -------
    ndarray of uint8, shape (220, 720, 4)
    """
    w, h = 720, 220
    font = ImageFont.load_default(size=120)
    glyphs = Image.new("L", (w, h), 0)
    ImageDraw.Draw(glyphs).text((30, 30), "Soft Edge", font=font, fill=255)
    shadow = Image.new("L", (w, h), 0)
    ImageDraw.Draw(shadow).text((38, 40), "Soft Edge", font=font, fill=140)
    shadow = shadow.filter(ImageFilter.GaussianBlur(5))
    x = np.linspace(0.0, 1.0, w)[None, :]
    fill = np.empty((h, w, 3))
    fill[..., 0] = 230 - 180 * x
    fill[..., 1] = 60 + 120 * x
    fill[..., 2] = 40 + 200 * x * x
    a_text = np.asarray(glyphs, dtype=np.float64) / 255.0
    a_shadow = np.asarray(shadow, dtype=np.float64) / 255.0
    # Text over shadow ("over" with a black shadow).
    a = a_text + a_shadow * (1.0 - a_text)
    with np.errstate(invalid="ignore", divide="ignore"):
        rgb = np.where(a[..., None] > 0, fill * a_text[..., None] / a[..., None], 0.0)
    return _with_alpha(np.rint(rgb).astype(np.uint8), 255.0 * a)


def icon() -> np.ndarray:
    """An app icon drawn at 1024 px and downsampled to 256 px (Lanczos, alpha-aware).

    A rounded square with a two-colour fill, a translucent glass circle, a star, a thin ring
    and a soft shadow below the square: hard shapes whose edges the downsampling softens.

    Returns
    -------
    ndarray of uint8, shape (256, 256, 4)
    """
    s = 1024
    im = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    shadow = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    ImageDraw.Draw(shadow).rounded_rectangle((120, 160, 920, 960), 180, fill=(20, 20, 40, 150))
    im.alpha_composite(shadow.filter(ImageFilter.GaussianBlur(28)))
    body = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(body)
    d.rounded_rectangle((100, 100, 900, 900), 180, fill=(32, 120, 220, 255))
    d.pieslice((100, 100, 900, 900), 200, 380, fill=(250, 170, 40, 255))
    mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(mask).rounded_rectangle((100, 100, 900, 900), 180, fill=255)
    body.putalpha(Image.fromarray(np.minimum(np.asarray(body)[..., 3], np.asarray(mask))))
    im.alpha_composite(body)
    glass = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    ImageDraw.Draw(glass).ellipse((330, 250, 830, 750), fill=(255, 255, 255, 90))
    im.alpha_composite(glass)
    d = ImageDraw.Draw(im)
    cx, cy, ro, ri = 500, 520, 230, 95
    angles = np.arange(10) * np.pi / 5 - np.pi / 2
    star = [
        (cx + (ro if i % 2 == 0 else ri) * np.cos(t), cy + (ro if i % 2 == 0 else ri) * np.sin(t))
        for i, t in enumerate(angles)
    ]
    d.polygon(star, fill=(255, 240, 120, 255))
    d.ellipse((60, 60, 964, 964), outline=(200, 40, 90, 255), width=10)
    return np.asarray(im.resize((256, 256), Image.Resampling.LANCZOS))


def gradient() -> np.ndarray:
    """A glassy colour-and-alpha gradient: hue across, alpha down, with a soft highlight.

    Returns
    -------
    ndarray of uint8, shape (300, 600, 4)
    """
    h, w = 300, 600
    hue = np.linspace(0.0, 1.0, w, endpoint=False)[None, :] * np.ones((h, 1))
    sat = np.full((h, w), 0.85)
    val = np.linspace(1.0, 0.55, h)[:, None] * np.ones((1, w))
    hsv = np.stack([hue, sat, val], axis=-1)
    rgb = np.asarray(
        Image.fromarray(np.rint(hsv * 255).astype(np.uint8), "HSV").convert("RGB"),
        dtype=np.float64,
    )
    alpha = np.linspace(250.0, 10.0, h)[:, None] * np.ones((1, w))
    # A white, half-transparent highlight ellipse with a soft edge, blended over the gradient.
    r = np.sqrt(
        ((np.arange(h)[:, None] - 80) / 60.0) ** 2 + ((np.arange(w)[None, :] - 300) / 240.0) ** 2
    )
    hi = 0.5 * _smooth((1.0 - r) / 0.35)
    a0 = alpha / 255.0
    a = hi + a0 * (1.0 - hi)
    rgb = (255.0 * hi[..., None] + rgb * (a0 * (1.0 - hi))[..., None]) / a[..., None]
    return _with_alpha(np.rint(rgb).astype(np.uint8), 255.0 * a)


def matte_24mp() -> np.ndarray:
    """The 24 MP benchmark photo cut out by a soft elliptical matte (a 60 px feather).

    About 30% of the pixels are fully transparent, 3% semi-transparent, the rest opaque: a
    large cut-out photo, for the time against the same photo opaque.

    Returns
    -------
    ndarray of uint8, shape (4000, 6000, 4)
    """
    rgb = make_24mp()
    h, w = rgb.shape[:2]
    out = np.empty((h, w, 4), dtype=np.uint8)
    out[..., :3] = rgb
    del rgb
    x = (np.arange(w, dtype=np.float32) - w / 2) / (0.47 * w)
    for y0 in range(0, h, 500):
        y = (np.arange(y0, min(h, y0 + 500), dtype=np.float32) - h / 2) / (0.47 * h)
        r = np.sqrt(y[:, None] ** 2 + x[None, :] ** 2)
        # Feather of 60 px across the ellipse's short axis.
        t = np.clip((1.0 - r) * (0.47 * h) / 60.0, 0.0, 1.0)
        out[y0 : y0 + 500, :, 3] = np.rint(255.0 * t * t * (3.0 - 2.0 * t)).astype(np.uint8)
    return out


#: The soft-edged images of the quality table, by name.
SOFT_IMAGES: dict[str, Callable[[], np.ndarray]] = {
    "vignette": vignette,
    "cutout": cutout,
    "text": text,
    "icon": icon,
    "gradient": gradient,
}
