"""Cheap quality and size figures: mean CIEDE2000, PSNR and indexed-PNG size from labels.

A sweep over many palette sizes cannot afford to map, measure and encode the whole image at
every k. It measures a *probe* instead: up to :data:`PROBE_PIXELS` pixels in tiles of whole
rows spread over the image, which keep the local structure that deflate and dithering see.
The figures of a finished result (what ``choose_k`` decides on) are measured exactly.
"""

from __future__ import annotations

import io
from typing import NamedTuple

import numpy as np

from .colorspace import srgb8_to_lab
from .histogram import Histogram, _unique
from .metrics import ciede2000_pairs, ciede2000_terms
from .packing import pack_rgb, unpack_rgb

#: Pixels a probe holds at most: mean dE2000 on it is within ~0.05 of the whole image's on
#: the benchmark photos, and one k costs ~20 ms to measure there.
PROBE_PIXELS = 1 << 16
#: Rows per tile: deflate's window spans a few rows, so a tile compresses about as it would
#: inside the whole image. On china, flower and the 24 MP recipe at k = 4-185 the estimate
#: was within 13% of the real file (mean -1%) with 32 rows; 16 rows overestimated by 5%
#: (the start of every tile compresses worse), 64 rows left too few tiles to cover a photo.
TILE_ROWS = 32
#: Widest tile; wider images are probed in staggered tiles rather than in full rows, so that
#: a probe of a 6000-pixel-wide photo still covers the whole picture.
TILE_COLUMNS = 512
#: Finished results with more visible pixels than this are measured on a fixed sample of
#: this many pixels (drawn with a fixed seed), not on all of them.
EXACT_QUALITY_PIXELS = 2_000_000
#: PNG chunks around the image data: signature, IHDR, one IDAT and IEND (bytes).
PNG_OVERHEAD = 8 + 25 + 12 + 12


class Quality(NamedTuple):
    """How close a quantized image is to its original."""

    #: Mean CIEDE2000 over the visible pixels (0.0 when none is visible).
    mean_delta_e: float
    #: Peak signal-to-noise ratio over the colour channels in dB (inf when exact).
    psnr: float


class Probe(NamedTuple):
    """Tiles of an image measured in place of the whole.

    Attributes
    ----------
    pixels : ndarray of uint8, shape (R, C, 3) or (R, C, 4)
        The tiles stacked on top of each other (one tile's width ``C``).
    scale : float
        Pixels of the image per probe pixel: a PNG size measured on the probe times this.
    """

    pixels: np.ndarray
    scale: float


def make_probe(pixels: np.ndarray, max_pixels: int = PROBE_PIXELS) -> Probe:
    """Pick up to ``max_pixels`` pixels of ``pixels`` in tiles of :data:`TILE_ROWS` rows.

    Small images are their own probe. Otherwise tiles of full rows (of at most
    :data:`TILE_COLUMNS` columns, staggered across wider images) are spread evenly down the
    image, so every region is represented.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    max_pixels : int

    Returns
    -------
    Probe
    """
    h, w = pixels.shape[:2]
    if h * w <= max_pixels:
        return Probe(pixels, 1.0)
    rows = min(TILE_ROWS, h)
    cols = min(w, TILE_COLUMNS)
    n_tiles = max(1, min(max_pixels // (rows * cols), (h // rows) * max(1, w // cols)))
    # Evenly spaced down the image; across it, each tile moves on by the golden ratio of
    # the free width, so that a few tiles still cover every part of a wide image.
    ys = np.linspace(0, h - rows, n_tiles).astype(int)
    xs = (np.arange(n_tiles) * 0.6180339887 % 1.0 * (w - cols + 1)).astype(int)
    tiles = [pixels[y : y + rows, x : x + cols] for y, x in zip(ys, xs, strict=True)]
    probe = np.ascontiguousarray(np.concatenate(tiles, axis=0))
    return Probe(probe, (h * w) / (probe.shape[0] * probe.shape[1]))


def pair_quality(words: np.ndarray, labels: np.ndarray, palette: np.ndarray) -> Quality:
    """Mean CIEDE2000 and PSNR of colours against the palette entries they were given.

    Only distinct (colour, entry) pairs go through the CIEDE2000 formula, so this is several
    times faster than :func:`kquant_gui.engine.mean_delta_e2000` for the same value.

    Parameters
    ----------
    words : ndarray of uint32, shape (N,)
        Visible colours packed as ``r | g << 8 | b << 16`` (higher bits ignored).
    labels : ndarray of integer, shape (N,)
        Palette index of each, 0 to 255.
    palette : ndarray of uint8, shape (n, 3) or (n, 4)
        Only the colour channels are used.

    Returns
    -------
    Quality
    """
    if words.size == 0:
        return Quality(0.0, float("inf"))
    codes = (words.astype(np.uint32) & np.uint32(0xFFFFFF)) | (
        labels.astype(np.uint32) << np.uint32(24)
    )
    pairs, counts = np.unique(codes, return_counts=True)
    rgb = unpack_rgb(pairs & np.uint32(0xFFFFFF))
    entry = (pairs >> np.uint32(24)).astype(np.intp)
    return weighted_quality(rgb, counts, palette[:, :3], entry)


def weighted_quality(
    rgb: np.ndarray,
    counts: np.ndarray,
    palette: np.ndarray,
    entry: np.ndarray,
    lab: np.ndarray | None = None,
) -> Quality:
    """Mean CIEDE2000 and PSNR of distinct colours, each standing for ``counts`` pixels.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (m, 3)
    counts : ndarray of int or float, shape (m,)
    palette : ndarray of uint8, shape (n, 3)
    entry : ndarray of intp, shape (m,)
        The palette entry each colour was given.
    lab : ndarray of float64, shape (m, 3), optional
        CIELAB of ``rgb``, when the caller has it already.

    Returns
    -------
    Quality
    """
    if float(np.sum(counts)) == 0:
        return Quality(0.0, float("inf"))
    lab = srgb8_to_lab(rgb) if lab is None else lab
    return _figures(rgb, counts, palette, entry, _delta_e(lab, srgb8_to_lab(palette), entry))


def _delta_e(lab: np.ndarray, palette_lab: np.ndarray, entry: np.ndarray) -> np.ndarray:
    """CIEDE2000 of colours (CIELAB, shape (m, 3)) against their entries, shape (m,)."""
    return ciede2000_pairs(ciede2000_terms(lab), ciede2000_terms(palette_lab), None, entry)


def _figures(
    rgb: np.ndarray, counts: np.ndarray, palette: np.ndarray, entry: np.ndarray, de: np.ndarray
) -> Quality:
    """:func:`weighted_quality` from each colour's CIEDE2000 ``de``, shape (m,)."""
    total = float(np.sum(counts))
    if np.issubdtype(counts.dtype, np.integer):
        # Whole numbers: the squared error summed exactly in integers is what the float sum
        # below gives (every partial sum of it is a whole number under 2^53), 4x faster.
        diff = rgb.astype(np.int32) - palette[entry].astype(np.int32)
        squared = float(np.sum(counts * np.einsum("ij,ij->i", diff, diff).astype(np.int64)))
    else:
        diff = rgb.astype(np.float64) - palette[entry].astype(np.float64)
        # Sums by numpy's own pairwise summation, not BLAS (np.dot), whose order, and so
        # whose last bits, depend on how many threads it may use.
        squared = float(np.sum(counts * np.einsum("ij,ij->i", diff, diff)))
    mse = squared / (3.0 * total)
    psnr = float("inf") if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))
    return Quality(float(np.sum(counts * de)) / total, psnr)


class JudgedColours(NamedTuple):
    """The pixels a result is judged on, by distinct colour: built once per image, so that
    judging many results of one image (a ``choose_k`` search) costs no sorting of pixels,
    and what the figures need of each colour on its own is computed once.

    Attributes
    ----------
    pick : ndarray of intp, shape (N,), or None
        Flat indices of the judged pixels (visible ones, sampled above
        :data:`EXACT_QUALITY_PIXELS`); None when every pixel is judged.
    rgb : ndarray of uint8, shape (m, 3)
        Their distinct colours.
    lab : ndarray of float64, shape (m, 3)
        CIELAB of ``rgb`` (a view of ``terms``).
    counts : ndarray of int64, shape (m,)
        Judged pixels of each colour.
    inverse : ndarray of intp, shape (N,)
        The colour of every judged pixel.
    first : ndarray of intp, shape (m,)
        The first judged pixel of each colour (an index into the judged pixels).
    terms : ndarray of float64, shape (5, m)
        Each colour's CIEDE2000 terms (:func:`kquant_gui.engine.metrics.ciede2000_terms`).
    weighted : ndarray of float64, shape (3, m)
        ``counts`` times each channel of ``rgb``: the judged pixels' channel sums by colour.
    square_sum : int
        Sum of the squared channels of every judged pixel.
    """

    pick: np.ndarray | None
    rgb: np.ndarray
    lab: np.ndarray
    counts: np.ndarray
    inverse: np.ndarray
    first: np.ndarray
    terms: np.ndarray
    weighted: np.ndarray
    square_sum: int


def judged_colours(pixels: np.ndarray, hist: Histogram | None = None) -> JudgedColours:
    """The pixels :func:`result_quality` judges, by distinct colour.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
        The original.
    hist : Histogram, optional
        The image's histogram, if the caller has one: an exact one already holds the
        distinct colours (in the same order) and the colour of every pixel.

    Returns
    -------
    JudgedColours
    """
    n = pixels.shape[0] * pixels.shape[1]
    if hist is not None and hist.exact and hist.inverse is not None and n <= EXACT_QUALITY_PIXELS:
        inverse, pick = hist.inverse, None
        if hist.n_transparent:
            pick = np.flatnonzero(inverse >= 0)
            inverse = inverse[pick]
        return _judged(pick, hist.colors, hist.counts, inverse)
    flat = pixels.reshape(-1, pixels.shape[-1])
    pick = None
    if flat.shape[0] > EXACT_QUALITY_PIXELS:
        pick = _sorted_draw(flat.shape[0], EXACT_QUALITY_PIXELS)
        flat = flat[pick]
    if flat.shape[1] == 4:
        visible = flat[:, 3] > 0
        if not visible.all():
            kept = np.flatnonzero(visible)
            pick = kept if pick is None else pick[kept]
            flat = flat[kept]
    words = pack_rgb(flat[:, :3])
    distinct, inverse, counts = _unique(words)
    return _judged(pick, unpack_rgb(distinct), counts, inverse)


def _sorted_draw(n: int, size: int) -> np.ndarray:
    """``size`` indices below ``n`` drawn with seed 0 (with repeats), sorted, shape (size,).

    Sorted in place: numpy 2's vectorised sort takes ~32 ms for 2 million draws at any ``n``.
    Counting the draws instead (``bincount`` then ``repeat``) gives the same array but
    touches two ``n``-long arrays: 50-90 ms for a 2-6 MP image in a fresh process."""
    draw = np.random.default_rng(0).integers(0, n, size)
    draw.sort()
    return draw


def _judged(
    pick: np.ndarray | None, rgb: np.ndarray, counts: np.ndarray, inverse: np.ndarray
) -> JudgedColours:
    # Each colour's first pixel in image order, where its label is looked up.
    first = np.full(rgb.shape[0], inverse.size, dtype=np.intp)
    np.minimum.at(first, inverse, np.arange(inverse.size))
    terms = ciede2000_terms(srgb8_to_lab(rgb))
    # Whole numbers below 2^53 (2 million pixels of 255 at most): exact as floats.
    channels = rgb.T.astype(np.float64)
    weighted = channels * counts.astype(np.float64)  # 0.37 -> 0.05 ms on flower: no mixed types
    square_sum = int(np.einsum("ij,ij->", weighted, channels))
    return JudgedColours(
        pick, rgb, terms[:3].T, counts, inverse, first, terms, weighted, square_sum
    )


class DeltaEMemo:
    """The CIEDE2000 of each judged colour against the colour of the entry it last took:
    results at neighbouring k share most palette colours (china at k = 177 and 178: 143 of
    178 entries, 87% of the pixels), and their colours' differences are not computed
    again. The same bits either way: CIEDE2000 is computed pair by pair.

    Parameters
    ----------
    n : int
        Distinct colours judged (``JudgedColours.rgb.shape[0]``).
    """

    def __init__(self, n: int) -> None:
        #: Packed colour of the entry each colour was last measured against (-1: none).
        self.words = np.full(n, -1, dtype=np.int64)
        self.de = np.zeros(n, dtype=np.float64)

    def delta_e(
        self,
        judged: JudgedColours,
        rows: np.ndarray | None,
        palette: np.ndarray,
        entry: np.ndarray,
        palette_terms: np.ndarray | None = None,
    ) -> np.ndarray:
        """CIEDE2000 of the judged colours ``rows`` (distinct; None: all) against
        ``palette[entry]``; ``palette_terms``: the entries' CIEDE2000 terms, if known.

        With ``rows`` None the array returned is the memo's own: read it before the next
        call."""
        if palette_terms is None:
            palette_terms = ciede2000_terms(srgb8_to_lab(palette[:, :3]))
        words = pack_rgb(palette[:, :3]).astype(np.int64)[entry]
        last = self.words if rows is None else self.words[rows]
        known = last == words
        if np.count_nonzero(known) < known.shape[0] // 4:
            # Few known (another local optimum: flower 54 and 55 share 2 of 55 colours):
            # measuring them all costs less than picking the unknown ones out.
            de = ciede2000_pairs(judged.terms, palette_terms, rows, entry)
            if rows is None:
                self.words, self.de = words, de
            else:
                self.words[rows], self.de[rows] = words, de
            return de
        new = np.flatnonzero(~known)
        colours = new if rows is None else rows[new]
        fresh = ciede2000_pairs(judged.terms, palette_terms, colours, entry[new])
        self.words[colours] = words[new]
        self.de[colours] = fresh
        return self.de if rows is None else self.de[rows]


def judged_quality(
    judged: JudgedColours,
    labels: np.ndarray,
    palette: np.ndarray,
    memo: DeltaEMemo | None = None,
) -> Quality:
    """Mean CIEDE2000 and PSNR of a result against the original ``judged`` was built from.

    What :func:`result_quality` measures, with the original's colours sorted and converted
    once: a mapping without dithering gives (nearly) every pixel of a colour the same entry,
    so the colour's first pixel stands for them all and only the others (near ties that
    followed their neighbours, dithered pixels) are counted pair by pair.

    Parameters
    ----------
    judged : JudgedColours
    labels, palette
        The result, as for :func:`result_quality`.
    memo : DeltaEMemo, optional
        Differences measured for earlier results of the same original (same figures).
    """
    flat = labels.reshape(-1)
    if judged.pick is not None:
        flat = flat[judged.pick]
    if flat.size == 0:
        return Quality(0.0, float("inf"))
    palette = palette[:, :3]
    palette_terms = ciede2000_terms(srgb8_to_lab(palette))
    first = flat[judged.first]
    main = first.astype(np.intp)
    # Every colour against its main entry, in colour order (no gathers): a colour's first
    # pixel takes its main entry, so every colour keeps some pixels there.
    if memo is None:
        de = ciede2000_pairs(judged.terms, palette_terms, None, main)
    else:
        de = memo.delta_e(judged, None, palette, main, palette_terms)
    counts = judged.counts
    squared = judged.square_sum - _cross_terms(judged.weighted, main, palette, counts)
    # Gathered in the labels' own 8 bits: half the time of gathering intp entries.
    others = np.flatnonzero(flat != np.take(first, judged.inverse))
    if others.size:
        # Then the other (colour, entry) pairs, moved from the colour's main entry.
        colour = judged.inverse[others]
        counts = counts - np.bincount(colour, minlength=counts.size)
        # In 32 bits (colours are at most EXACT_QUALITY_PIXELS < 2^24): sorted in 60% of
        # the time of 64 bits (china: 15,800 pixels in 0.30 ms against 0.49).
        codes = colour.astype(np.uint32) << np.uint32(8) | flat[others]
        pairs, pair_counts = np.unique(codes, return_counts=True)
        extra, entry = (pairs >> np.uint32(8)).astype(np.intp), (pairs & 0xFF).astype(np.intp)
        de = np.concatenate([de, ciede2000_pairs(judged.terms, palette_terms, extra, entry)])
        counts = np.concatenate([counts, pair_counts])
        moved = judged.rgb[extra].T * pair_counts
        squared += _cross_terms(moved, main[extra], palette, pair_counts)
        squared -= _cross_terms(moved, entry, palette, pair_counts)
    total = float(flat.size)  # the counts' sum
    mse = squared / (3.0 * total)
    psnr = float("inf") if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))
    return Quality(float(np.sum(counts * de)) / total, psnr)


def _cross_terms(
    sums: np.ndarray, entry: np.ndarray, palette: np.ndarray, counts: np.ndarray
) -> int:
    """2 x.p - |p|^2 summed over pixels, exactly: colours given by their channel ``sums``
    (shape (3, m)) and pixel ``counts`` (shape (m,)), ``p`` the colour of ``palette[entry]``.

    The PSNR's squared error is the sum over pixels of |x|^2 - 2 x.p + |p|^2: the first
    term is the original's alone (``JudgedColours.square_sum``), the rest per colour from
    its channel sums and pixel count, a few products per colour instead of a difference per
    pixel. Every term is a whole number below 2^53, so float sums are exact in any order and
    the error is the same integer as pixel by pixel."""
    levels = palette.T.astype(np.float64)
    taken = np.take(levels, entry, axis=1)
    norms = np.take(np.einsum("ij,ij->j", levels, levels), entry)
    return int(np.einsum("ij,ij->", sums, taken)) * 2 - int(np.einsum("i,i->", counts, norms))


def result_quality(pixels: np.ndarray, labels: np.ndarray, palette: np.ndarray) -> Quality:
    """Mean CIEDE2000 and PSNR of a finished result against its original.

    Exact up to :data:`EXACT_QUALITY_PIXELS` visible pixels; above, measured on that many
    pixels drawn with a fixed seed (within ~0.01 of the whole), so the same inputs always give
    the same figures. Fully transparent pixels of the original are left out, as in
    :func:`kquant_gui.engine.mean_delta_e2000`. Judging several results of one image, build
    :func:`judged_colours` once and call :func:`judged_quality`: the figures are the same to
    the last bit.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
        The original.
    labels : ndarray of uint8, shape (H, W)
        Palette index of every pixel of the result.
    palette : ndarray of uint8, shape (n, 3) or (n, 4)

    Returns
    -------
    Quality
    """
    return judged_quality(judged_colours(pixels), labels, palette)


def png_size(labels: np.ndarray, n_entries: int, *, has_alpha: bool, scale: float = 1.0) -> int:
    """Estimated bytes of the indexed PNG of ``labels`` (no metadata).

    Encodes ``labels`` as the indexed-PNG writer does (Pillow's encoder at its default level,
    smallest bit depth for ``n_entries``) and scales the image data by ``scale`` when
    ``labels`` is a probe; the chunks around it are counted once.

    Parameters
    ----------
    labels : ndarray of uint8, shape (R, C)
    n_entries : int
        Palette entries, 1 to 256.
    has_alpha : bool
        Whether the PNG carries a tRNS table (one byte per entry).
    scale : float
        Image pixels per pixel of ``labels``.

    Returns
    -------
    int
    """
    from PIL import Image

    h, w = labels.shape
    image = Image.frombytes("P", (w, h), np.ascontiguousarray(labels, dtype=np.uint8).tobytes())
    # Pillow sizes PLTE, and picks the bit depth, from the palette's length.
    image.putpalette(bytes(3 * n_entries), rawmode="RGB")
    extra = {"transparency": bytes(n_entries)} if has_alpha else {}
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=False, **extra)
    tables = 12 + 3 * n_entries + (12 + n_entries if has_alpha else 0)
    overhead = tables + PNG_OVERHEAD
    return round(max(0, buf.tell() - overhead) * scale) + overhead
