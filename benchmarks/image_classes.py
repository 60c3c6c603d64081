"""Benchmark images of the kinds a photo bench does not hold, built in code (no downloads).

Six classes, each drawn or derived from scikit-learn's two sample photos with a fixed seed, so
every run sees the same pixels:

- ``dark``: a dark, low-contrast photo (a fundus-like red-orange disc on black, 2.2 MP, so the
  engine takes its binned path at every k);
- ``astro``: a star field: noisy near-black sky, a faint nebula, thousands of small bright
  points (2.2 MP);
- ``logo``: flat colours with anti-aliased edges and text, drawn at 4x and reduced (0.4 MP,
  a few hundred colours);
- ``screenshot``: an application window with text, buttons, icons and a photo thumbnail (1 MP);
- ``pixelart``: a 48-colour sprite scene scaled up 8x with nearest neighbour (0.2 MP);
- ``document``: a scanned page: paper texture, inked text slightly blurred, a stamp and a
  highlighter stroke (2.2 MP).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .images import china, flower

SEED = 1313


def _u8(a: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Low-frequency noise in [0, 1]: a coarse random grid scaled up bicubically."""
    h, w = shape
    grid = rng.random((max(2, h * cells // max(h, w)), max(2, w * cells // max(h, w))))
    img = Image.fromarray((grid * 255).astype(np.uint8)).resize((w, h), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.float64) / 255.0


def _resize(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(width, height) bicubic resize of an RGB array, as float64."""
    img = Image.fromarray(np.asarray(pixels)).resize(size, Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.float64)


def dark() -> np.ndarray:
    """A dark, low-contrast photo: ``flower`` at 1800x1200 squeezed into dark reds and
    oranges (levels about 5-70), a circular field of view on black, sensor noise.

    Returns
    -------
    ndarray of uint8, shape (1200, 1800, 3)
    """
    rng = np.random.default_rng(SEED)
    src = _resize(flower(), (1800, 1200))
    lum = src @ np.array([0.3, 0.55, 0.15])
    # Most of the picture is one hue at low, close levels, as in a fundus photograph.
    base = 10 + 0.5 * lum[..., None] * np.array([1.0, 0.45, 0.2])
    tint = 0.08 * (src - lum[..., None])  # a little of the original colour survives
    y, x = np.mgrid[0:1200, 0:1800]
    r = np.hypot((x - 900) / 580, (y - 600) / 580)
    shade = np.clip(1.25 - 0.55 * r**2, 0, None)[..., None]
    img = (base + tint) * shade + rng.normal(0, 2.0, (1200, 1800, 3))
    img[r > 1.0] = rng.normal(2, 0.8, (int((r > 1.0).sum()), 3))
    return _u8(img)


def astro() -> np.ndarray:
    """A star field: near-black sky with noise, a faint two-colour nebula, 4,000 stars of
    various colours and brightness, a few of them large.

    Returns
    -------
    ndarray of uint8, shape (1200, 1800, 3)
    """
    rng = np.random.default_rng(SEED + 1)
    h, w = 1200, 1800
    sky = np.array([5.0, 6.0, 11.0]) + rng.normal(0, 2.0, (h, w, 3))
    cloud = _smooth_field(rng, (h, w), 6) ** 3 * _smooth_field(rng, (h, w), 24)
    wisp = _smooth_field(rng, (h, w), 10) ** 4
    sky += cloud[..., None] * np.array([70.0, 20.0, 60.0]) + wisp[..., None] * np.array(
        [10.0, 45.0, 55.0]
    )
    n = 4000
    ys, xs = rng.uniform(0, h, n), rng.uniform(0, w, n)
    flux = rng.pareto(1.6, n) * 40 + 15
    sigma = np.clip(0.5 + 0.25 * np.log1p(flux / 40), 0.5, 3.0)
    temp = rng.random(n)  # 0 red-orange .. 1 blue-white
    colour = np.stack([1.0 - 0.35 * temp, 0.75 + 0.15 * temp, 0.45 + 0.55 * temp], axis=1)
    for yy, xx, f, s, c in zip(ys, xs, flux, sigma, colour, strict=True):
        r = int(np.ceil(4 * s))
        y0, y1, x0, x1 = (
            max(0, int(yy) - r),
            min(h, int(yy) + r + 1),
            max(0, int(xx) - r),
            min(w, int(xx) + r + 1),
        )
        gy, gx = np.mgrid[y0:y1, x0:x1]
        psf = np.exp(-((gy - yy) ** 2 + (gx - xx) ** 2) / (2 * s * s))
        sky[y0:y1, x0:x1] += f * psf[..., None] * c
    return _u8(sky)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def logo() -> np.ndarray:
    """A flat-colour logo with anti-aliased edges: six colours on white, shapes and text
    drawn at 4x and reduced with a box filter.

    Returns
    -------
    ndarray of uint8, shape (500, 800, 3)
    """
    s = 4
    img = Image.new("RGB", (800 * s, 500 * s), (255, 255, 255))
    d = ImageDraw.Draw(img)
    navy, orange, teal, red, gold, grey = (
        (20, 40, 90),
        (245, 130, 32),
        (0, 150, 136),
        (200, 30, 45),
        (250, 200, 40),
        (90, 90, 95),
    )
    d.ellipse([60 * s, 60 * s, 300 * s, 300 * s], fill=navy)
    d.pieslice([90 * s, 90 * s, 270 * s, 270 * s], 200, 340, fill=orange)
    d.polygon([(180 * s, 110 * s), (250 * s, 250 * s), (110 * s, 250 * s)], fill=teal)
    d.ellipse([160 * s, 170 * s, 200 * s, 210 * s], fill=gold)
    d.rounded_rectangle([340 * s, 90 * s, 760 * s, 200 * s], radius=30 * s, fill=red)
    d.text((370 * s, 105 * s), "KQUANT", font=_font(80 * s), fill=(255, 255, 255))
    d.text((345 * s, 225 * s), "colour, reduced", font=_font(44 * s), fill=grey)
    for i in range(5):
        d.line(
            [(60 * s, (350 + 22 * i) * s), (760 * s, (330 + 30 * i) * s)],
            fill=(navy, teal, orange, red, gold)[i],
            width=(3 + 2 * i) * s,
        )
    d.regular_polygon((680 * s, 440 * s, 40 * s), 6, rotation=15, fill=teal)
    return np.asarray(img.resize((800, 500), Image.Resampling.BOX))


def screenshot() -> np.ndarray:
    """An application window: title bar, sidebar, toolbar buttons, paragraphs of text in a
    few colours, icons, a selection, and a photo thumbnail in the content area.

    Returns
    -------
    ndarray of uint8, shape (800, 1280, 3)
    """
    rng = np.random.default_rng(SEED + 2)
    img = Image.new("RGB", (1280, 800), (246, 246, 248))
    d = ImageDraw.Draw(img)
    # Title bar with a vertical gradient, as many themes draw it.
    for y in range(36):
        v = int(228 - y * 0.6)
        d.line([(0, y), (1280, y)], fill=(v, v, v + 3))
    d.text((560, 9), "Report.pdf - Viewer", font=_font(15), fill=(40, 40, 45))
    for i, c in enumerate(((236, 95, 86), (244, 190, 79), (98, 197, 84))):
        d.ellipse([14 + 22 * i, 11, 28 + 22 * i, 25], fill=c)
    # Sidebar with a selected row.
    d.rectangle([0, 36, 240, 800], fill=(232, 234, 238))
    names = ["Inbox", "Drafts", "Sent", "Archive", "Projects", "Photos", "Music", "Trash"]
    for i, name in enumerate(names):
        y = 60 + 34 * i
        if i == 4:
            d.rounded_rectangle([8, y - 6, 232, y + 22], radius=6, fill=(10, 100, 220))
        icon = tuple(int(v) for v in rng.integers(40, 220, 3))
        d.rounded_rectangle([20, y, 36, y + 16], radius=3, fill=icon)
        d.text((46, y - 1), name, font=_font(15), fill=(255, 255, 255) if i == 4 else (30, 30, 35))
    # Toolbar buttons.
    for i in range(6):
        x = 260 + 96 * i
        d.rounded_rectangle(
            [x, 48, x + 84, 78], radius=6, fill=(255, 255, 255), outline=(200, 200, 206)
        )
        d.text(
            (x + 14, 55),
            ("Open", "Save", "Print", "Share", "Zoom", "Find")[i],
            font=_font(14),
            fill=(20, 20, 25),
        )
    # Text paragraphs: body text, a heading, links, a code block.
    d.text((270, 100), "Quarterly summary", font=_font(26), fill=(15, 15, 20))
    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "a",
        "lazy",
        "dog",
        "while",
        "colours",
        "shift",
        "in",
        "every",
        "pixel",
    ]
    y = 140
    for _line in range(14):
        x = 270
        for _ in range(12):
            word = words[int(rng.integers(len(words)))]
            colour = (10, 90, 200) if rng.random() < 0.06 else (50, 50, 56)
            d.text((x, y), word, font=_font(15), fill=colour)
            x += int(d.textlength(word + " ", font=_font(15)))
            if x > 820:
                break
        y += 22
    d.rectangle([270, 460, 820, 560], fill=(40, 42, 54))
    for i, (code, colour) in enumerate(
        (
            ("def quantize(pixels, k):", (255, 121, 198)),
            ("    return kmeans(pixels, k)", (139, 233, 253)),
            ("# 16 colours", (98, 114, 164)),
        )
    ):
        d.text((284, 472 + 26 * i), code, font=_font(16), fill=colour)
    # A photo thumbnail and a chart.
    thumb = Image.fromarray(np.asarray(china())).resize((380, 254), Image.Resampling.BICUBIC)
    img.paste(thumb, (860, 100))
    d.rectangle([860, 380, 1240, 600], fill=(255, 255, 255), outline=(210, 210, 215))
    for i in range(10):
        hgt = int(rng.integers(30, 190))
        d.rectangle(
            [880 + 35 * i, 590 - hgt, 905 + 35 * i, 590], fill=(10 + 20 * i, 120, 220 - 15 * i)
        )
    d.rectangle([240, 770, 1280, 800], fill=(225, 227, 231))
    d.text((252, 776), "Page 3 of 12   100%   Ready", font=_font(13), fill=(80, 80, 88))
    return np.asarray(img)


def pixelart() -> np.ndarray:
    """A 64x48 sprite scene in 48 colours (sky bands, hills, a tree, a house, a character),
    scaled up 8x with nearest neighbour.

    Returns
    -------
    ndarray of uint8, shape (384, 512, 3)
    """
    rng = np.random.default_rng(SEED + 3)
    h, w = 48, 64
    art = np.zeros((h, w, 3), dtype=np.float64)
    # Sky in eight bands, dithered at the band edges as sprite artists do.
    for y in range(24):
        band = y // 3
        art[y] = (40 + 18 * band, 80 + 16 * band, 160 + 10 * band)
        if y % 3 == 2:
            art[y, ::2] = (40 + 18 * (band + 1), 80 + 16 * (band + 1), 160 + 10 * (band + 1))
    greens = [(34, 90, 40), (50, 120, 52), (70, 150, 60), (100, 175, 70), (140, 200, 90)]
    for y in range(24, h):
        art[y] = greens[min(4, (y - 24) // 5)]
    for x in range(w):
        top = int(20 + 4 * np.sin(x / 7.0) + 2 * np.sin(x / 3.1))
        art[top:24, x] = greens[1 + (x // 9) % 3]
    # A house.
    art[22:34, 6:20] = (180, 80, 60)
    art[24:28, 9:12] = (250, 230, 120)
    art[24:28, 14:17] = (250, 230, 120)
    art[29:34, 12:15] = (90, 50, 30)
    for i in range(8):
        art[14 + i, 13 - i : 14 + i] = (120 + 6 * i, 40, 35)
    # A tree and a character with a few skin, cloth and outline colours.
    art[20:36, 44:47] = (100, 60, 30)
    for i, c in enumerate([(20, 70, 30), (30, 95, 40), (45, 120, 50), (60, 140, 55)]):
        art[8 + 3 * i : 12 + 3 * i, 39 - i : 52 + i] = c
    body = {
        (0, 0): (250, 205, 160),
        (1, 0): (230, 60, 60),
        (2, 0): (40, 60, 160),
        (3, 0): (30, 30, 40),
    }
    for (dy, _), c in body.items():
        art[34 + 3 * dy : 37 + 3 * dy, 30:34] = c
    art[33, 29:35] = (20, 20, 24)
    # Flowers and stones: small accents in colours of their own.
    accents = [(255, 80, 160), (255, 255, 255), (255, 220, 0), (150, 150, 160), (200, 120, 255)]
    for _ in range(40):
        y, x = int(rng.integers(36, h)), int(rng.integers(0, w))
        art[y, x] = accents[int(rng.integers(len(accents)))]
    img = _u8(art)
    return np.ascontiguousarray(np.repeat(np.repeat(img, 8, axis=0), 8, axis=1))


def document() -> np.ndarray:
    """A scanned A4 page at 150 dpi: off-white paper with shading and fibre noise, dark ink
    text blurred by the scanner, a red stamp, a yellow highlighter stroke, a blue signature.

    Returns
    -------
    ndarray of uint8, shape (1754, 1240, 3)
    """
    rng = np.random.default_rng(SEED + 4)
    h, w = 1754, 1240
    ink = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(ink)
    d.text((120, 110), "Invoice 2026-0413", font=_font(40), fill=255)
    words = [
        "payment",
        "due",
        "within",
        "thirty",
        "days",
        "of",
        "the",
        "date",
        "of",
        "this",
        "invoice",
        "for",
        "services",
        "rendered",
    ]
    y = 200
    for _ in range(52):
        x = 120
        while x < w - 220:
            word = words[int(rng.integers(len(words)))]
            d.text((x, y), word, font=_font(20), fill=255)
            x += int(d.textlength(word + " ", font=_font(20)))
        y += 28
    ink = np.asarray(ink.filter(ImageFilter.GaussianBlur(0.7)), dtype=np.float64) / 255.0
    paper = (
        np.array([244.0, 239.0, 226.0]) * (0.96 + 0.05 * _smooth_field(rng, (h, w), 8))[..., None]
    )
    paper += rng.normal(0, 2.5, (h, w, 3))
    # Highlighter: multiplies the paper (and the ink under it) by yellow.
    mark = np.zeros((h, w))
    mark[424:452, 120:900] = 1.0
    paper *= 1 - mark[..., None] * (1 - np.array([1.0, 0.95, 0.45]))
    page = paper * (1 - ink[..., None] * (1 - np.array([30.0, 32.0, 48.0]) / 240.0))
    # A red stamp ring and a blue signature, as ink of their own.
    other = Image.new("L", (w, h), 0)
    od = ImageDraw.Draw(other)
    od.ellipse([860, 1380, 1100, 1620], outline=255, width=10)
    od.text((900, 1480), "PAID", font=_font(56), fill=255)
    stamp = np.asarray(other.filter(ImageFilter.GaussianBlur(1.0)), dtype=np.float64) / 255.0
    page = page * (1 - 0.8 * stamp[..., None] * (1 - np.array([200.0, 40.0, 50.0]) / 240.0))
    sig = Image.new("L", (w, h), 0)
    sd = ImageDraw.Draw(sig)
    t = np.linspace(0, 1, 400)
    pts = list(zip(150 + 380 * t, 1560 + 40 * np.sin(t * 19) * np.exp(-t), strict=True))
    sd.line(pts, fill=255, width=4)
    sig_a = np.asarray(sig.filter(ImageFilter.GaussianBlur(0.8)), dtype=np.float64) / 255.0
    page = page * (1 - sig_a[..., None] * (1 - np.array([30.0, 60.0, 170.0]) / 240.0))
    return _u8(page)


#: The image classes by name, in table order.
CLASSES: dict[str, Callable[[], np.ndarray]] = {
    "dark": dark,
    "astro": astro,
    "logo": logo,
    "screenshot": screenshot,
    "pixelart": pixelart,
    "document": document,
}


@cache
def load_class(name: str) -> np.ndarray:
    """The image of class ``name`` (built once per process), read-only.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    try:
        build = CLASSES[name]
    except KeyError:
        raise ValueError(f"unknown image class {name!r}; known: {', '.join(CLASSES)}") from None
    img = np.ascontiguousarray(build())
    img.flags.writeable = False
    return img
