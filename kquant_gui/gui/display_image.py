"""Display-sized views of an image, so that the screen never receives 24 million pixels.

A :class:`DisplayImage` keeps the full-resolution array and one reduced copy made in the worker
thread. :meth:`DisplayImage.region` then hands the canvas only what the current view needs: the
reduced copy while it is detailed enough, else a crop of the full image, box-averaged to about
the screen's resolution. Averaging (not subsampling) matters for dithered results: seen at Fit,
a subsampled dither looks far noisier than the file is; labels (for the swatch highlight) are
still cut by slicing. Qt-free (numpy and Pillow).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

    from kquant_gui.engine import EditPlan, Quantization

#: Longest side of the reduced copy. Larger than most canvases, small enough to draw at once.
PREVIEW_MAX_SIDE = 1600
#: Pixels per band when a reduced copy is painted from labels: a band's RGBA fits the cache.
BAND_PIXELS = 1 << 18


def reduction_factor(shape: tuple[int, ...], max_side: int = PREVIEW_MAX_SIDE) -> int:
    """Integer factor that brings the longest side of ``shape`` (H, W, ...) to ``max_side``."""
    return max(1, math.ceil(max(shape[0], shape[1]) / max_side))


def reduce_photo(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Box-filtered copy of a photo, ``factor`` times smaller on each side.

    Averaging keeps a reduced photo free of aliasing. Not for quantized images: averaging would
    invent colours that are not in the palette (use :func:`reduce_nearest`).

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    factor : int

    Returns
    -------
    ndarray of uint8, shape (ceil(H / factor), ceil(W / factor), C)
    """
    if factor <= 1:
        return pixels
    from PIL import Image

    mode = "RGBA" if pixels.shape[2] == 4 else "RGB"
    # Pillow's reduce() is a box filter in C, several times faster than a numpy reshape-mean.
    reduced = Image.fromarray(np.ascontiguousarray(pixels), mode).reduce(factor)
    return np.asarray(reduced)


def reduce_labels(labels: np.ndarray, palette: np.ndarray, factor: int) -> np.ndarray:
    """Box-filtered copy of ``palette[labels]``, ``factor`` times smaller, painted from the
    labels band by band: the same pixels as :func:`reduce_photo` of the painted image.

    A palette edit changes only colours, so the display copy of an edited 24 MP result is
    made from its labels without averaging (or even copying) the full-size image; each band
    of rows is looked up and averaged in Pillow's C loops while it is in the cache, and the
    bands run on the engine's threads.

    Parameters
    ----------
    labels : ndarray of uint8, shape (H, W)
    palette : ndarray of uint8, shape (n, 3) or (n, 4)
        Straight RGB(A); an RGBA palette is averaged with premultiplied alpha, as Pillow
        averages an RGBA image.
    factor : int

    Returns
    -------
    ndarray of uint8, shape (ceil(H / factor), ceil(W / factor), 3 or 4)
    """
    from PIL import Image

    from kquant_gui.engine.parallel import run_parts

    h, w = labels.shape
    channels = palette.shape[1]
    mode = "RGBA" if channels == 4 else "RGB"
    table = np.ascontiguousarray(palette, dtype=np.uint8).tobytes()
    out = np.empty((-(-h // factor), -(-w // factor), channels), dtype=np.uint8)
    rows = factor * max(1, BAND_PIXELS // max(1, w * factor))

    def part(_: int, start: int, stop: int) -> None:
        for y0 in range(start, stop, rows):
            y1 = min(stop, y0 + rows)
            band = np.ascontiguousarray(labels[y0:y1])
            image = Image.frombuffer("P", (w, y1 - y0), band, "raw", "P", 0, 1)
            image.putpalette(table, rawmode=mode)
            small = np.asarray(image.convert(mode).reduce(factor))
            out[y0 // factor : y0 // factor + small.shape[0]] = small

    run_parts(part, h, min_size=4 * rows, align=rows)
    return out


def reduce_nearest(array: np.ndarray, factor: int) -> np.ndarray:
    """Every ``factor``-th pixel, as a contiguous copy (labels and quantized images).

    Parameters
    ----------
    array : ndarray, shape (H, W) or (H, W, C)
    factor : int

    Returns
    -------
    ndarray, shape (ceil(H / factor), ceil(W / factor)[, C])
    """
    if factor <= 1:
        return array
    return np.ascontiguousarray(array[::factor, ::factor])


class LabelLookup:
    """``table[labels]`` looked up only for the parts sliced out of it.

    Stands in for the full-size image (or labels) of an edited result whose full-size
    arrays are still being made: a view zoomed in slices a few screens' worth of pixels
    and gets them painted from the old labels, the same pixels the edited result will hold.

    Parameters
    ----------
    labels : ndarray of uint8, shape (H, W)
    table : ndarray, shape (n,) or (n, C)
        What each label shows (a colour, or a new label).
    """

    def __init__(self, labels: np.ndarray, table: np.ndarray) -> None:
        self.labels = labels
        self.table = np.ascontiguousarray(table)
        self.shape = labels.shape + self.table.shape[1:]
        self.dtype = self.table.dtype
        self.ndim = len(self.shape)

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        return np.take(self.table, self.labels[key], axis=0)


@dataclass(frozen=True)
class Region:
    """Pixels to draw for one view, and where they sit in full-image coordinates.

    Attributes
    ----------
    pixels : ndarray of uint8, shape (h, w, C)
    labels : ndarray of uint8, shape (h, w), or None
        Palette index of each drawn pixel, for images that have one.
    extent : (left, right, bottom, top)
        In full-resolution pixel units, as matplotlib's ``imshow(extent=...)`` wants it for an
        image whose first row is at the top.
    step : int
        Full-resolution pixels per drawn pixel.
    """

    pixels: np.ndarray
    labels: np.ndarray | None
    extent: tuple[float, float, float, float]
    step: int
    #: The same pixels as a box of a Pillow image held by the display (its preview),
    #: so that :meth:`fitted` resamples them in one call without copying them first.
    source: Image.Image | None = None
    box: tuple[int, int, int, int] | None = None

    def fitted(self, width: int, height: int, *, smooth: bool) -> Region:
        """This region as RGBA, resampled to at most ``width`` x ``height`` pixels.

        matplotlib's own downsampling costs about ten times more than Pillow's, and a photo
        larger than the screen gains nothing from being handed over whole. Labels are always
        resampled with nearest neighbour, so each names a real palette entry. RGBA,
        because matplotlib would otherwise add the alpha channel itself on every redraw.

        Parameters
        ----------
        width, height : int
            Device pixels the region covers on screen.
        smooth : bool
            Box-filter (what the eye sees at a distance) instead of nearest neighbour.

        Returns
        -------
        Region
            With ``pixels`` of shape (h, w, 4).
        """
        from PIL import Image

        h, w = self.pixels.shape[:2]
        width, height = max(1, min(w, width)), max(1, min(h, height))
        labels = self.labels
        shrink = w > width * 1.05 or h > height * 1.05
        method = Image.Resampling.BOX if smooth else Image.Resampling.NEAREST
        if self.source is not None and shrink:
            image = self.source.resize((width, height), method, box=self.box)
        else:
            mode = "RGBA" if self.pixels.shape[2] == 4 else "RGB"
            image = Image.fromarray(np.ascontiguousarray(self.pixels), mode)
            if shrink:
                image = image.resize((width, height), method)
        if shrink and labels is not None:
            lab = Image.fromarray(np.ascontiguousarray(labels), "L")
            labels = np.asarray(lab.resize((width, height), Image.Resampling.NEAREST))
        return Region(np.asarray(image.convert("RGBA")), labels, self.extent, self.step)


@dataclass(frozen=True)
class DisplayImage:
    """A full-resolution image plus a reduced copy for display.

    Attributes
    ----------
    full : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    preview : ndarray of uint8, shape (ceil(H / factor), ceil(W / factor), C)
    factor : int
        Reduction factor of ``preview`` (1 when the image is small enough as it is).
    labels : ndarray of uint8, shape (H, W), or None
        Palette indices of a quantized image.
    preview_labels : ndarray of uint8, or None
        ``labels`` reduced like ``preview``.
    smooth : bool
        True when reduced copies are box-averaged (photos, and quantized images for display:
        a dithered result averaged looks as it does from a distance, subsampled it looks
        noisier than it is); False keeps exact pixels (nearest neighbour).
    token : object
        Names what the display shows: shared by displays of the same pixels (see
        :meth:`with_result`), so that a view handed one in place of the other keeps what
        it has drawn.
    """

    full: np.ndarray
    preview: np.ndarray
    factor: int
    labels: np.ndarray | None = None
    preview_labels: np.ndarray | None = None
    smooth: bool = True
    token: object = field(default_factory=object, compare=False, repr=False)
    _pillow: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def for_photo(cls, pixels: np.ndarray, max_side: int = PREVIEW_MAX_SIDE) -> DisplayImage:
        """Build from an original photo (box-filtered preview). Run it off the main thread."""
        factor = reduction_factor(pixels.shape, max_side)
        return cls(pixels, reduce_photo(pixels, factor), factor, smooth=True)

    @classmethod
    def for_quantized(
        cls, image: np.ndarray, labels: np.ndarray, max_side: int = PREVIEW_MAX_SIDE
    ) -> DisplayImage:
        """Build from a quantized image and its labels: the preview is box-averaged for
        display, the labels are subsampled (each drawn pixel names one real entry)."""
        factor = reduction_factor(image.shape, max_side)
        return cls(
            image,
            reduce_photo(image, factor),
            factor,
            labels=labels,
            preview_labels=reduce_nearest(labels, factor),
            smooth=True,
        )

    @classmethod
    def for_result(cls, result: Quantization, max_side: int = PREVIEW_MAX_SIDE) -> DisplayImage:
        """Build from a quantized result: like :meth:`for_quantized`, with the preview painted
        from the labels (:func:`reduce_labels`) for an RGB result, whose image is exactly
        ``palette[labels]``: faster than averaging the image, and the same pixels."""
        image, labels, palette = result.image, result.labels, result.palette
        factor = reduction_factor(image.shape, max_side)
        if factor <= 1 or image.shape[2] != 3 or palette.shape[1] != 3:
            # With alpha, pixels may keep the input's alpha: average the image itself.
            return cls.for_quantized(image, labels, max_side)
        return cls(
            image,
            reduce_labels(labels, palette, factor),
            factor,
            labels=labels,
            preview_labels=reduce_nearest(labels, factor),
            smooth=True,
        )

    @classmethod
    def for_edit(
        cls, result: Quantization, shown: DisplayImage, plan: EditPlan
    ) -> DisplayImage | None:
        """The display of ``apply_plan(result, plan)`` made without it: the preview is
        painted from ``result``'s labels with the colours the plan gives them, so it holds
        exactly the pixels :meth:`for_result` of the edited result would (the same
        function over the same colour per pixel); the full size is looked up lazily
        (:class:`LabelLookup`) until :meth:`with_result` puts the edited arrays in. A
        delete made pixel by pixel (``plan.reassigned``) is painted from its new labels
        instead, with the edited palette: again what :meth:`for_result` paints.

        Parameters
        ----------
        result : Quantization
            The result before the edit; ``shown`` is its display.
        plan : EditPlan

        Returns
        -------
        DisplayImage or None
            None for results with alpha, whose pixels are not their palette's colours
            alone (they keep the input's alpha): those are edited full size first.
        """
        image, labels = result.image, result.labels
        if image.shape[2] != 3 or plan.palette.shape[1] != 3:
            return None
        factor = reduction_factor(image.shape)
        if plan.reassigned is not None:
            # A delete made pixel by pixel: the plan holds the new labels themselves.
            new = plan.reassigned.labels
            return cls(
                LabelLookup(new, plan.palette),  # type: ignore[arg-type]
                reduce_labels(new, plan.palette, factor),
                factor,
                labels=new,
                preview_labels=reduce_nearest(new, factor),
                smooth=True,
            )
        colors = plan.colors()
        small = shown.preview_labels if shown.factor == factor else None
        if small is None:
            small = reduce_nearest(labels, factor)
        table = None if plan.table is None else plan.table.astype(np.uint8)
        return cls(
            LabelLookup(labels, colors),  # type: ignore[arg-type]
            reduce_labels(labels, colors, factor),
            factor,
            labels=labels if table is None else LabelLookup(labels, table),  # type: ignore[arg-type]
            preview_labels=small if table is None else table[small],
            smooth=True,
        )

    def with_result(self, result: Quantization) -> DisplayImage:
        """This display (made by :meth:`for_edit`) with the edited result's full-size image
        and labels in place of the lookups; the preview, already on screen, is kept."""
        return replace(self, full=result.image, labels=result.labels)

    @property
    def width(self) -> int:
        """Width W of the full image in pixels."""
        return int(self.full.shape[1])

    @property
    def height(self) -> int:
        """Height H of the full image in pixels."""
        return int(self.full.shape[0])

    def region(
        self, x0: float, x1: float, y0: float, y1: float, screen_px_per_image_px: float
    ) -> Region:
        """The pixels needed to draw the full-image rectangle [x0, x1] x [y0, y1].

        Parameters
        ----------
        x0, x1, y0, y1 : float
            Visible rectangle in full-resolution pixel coordinates (may reach outside the image).
        screen_px_per_image_px : float
            Current zoom: device pixels per full-resolution pixel.

        Returns
        -------
        Region
        """
        wanted_step = max(1, int(1.0 / max(screen_px_per_image_px, 1e-9)))
        if wanted_step >= self.factor:
            source, labels, base = self.preview, self.preview_labels, self.factor
            step = max(1, wanted_step // self.factor)
        else:
            source, labels, base = self.full, self.labels, 1
            step = wanted_step
        sh, sw = source.shape[:2]
        # Source indices of the visible rectangle, one pixel of margin against rounding.
        c0 = min(sw - 1, max(0, math.floor(x0 / base) - 1))
        c1 = max(c0 + 1, min(sw, math.ceil(x1 / base) + 1))
        r0 = min(sh - 1, max(0, math.floor(y0 / base) - 1))
        r1 = max(r0 + 1, min(sh, math.ceil(y1 / base) + 1))
        # Align to the step so that panning does not make the sampling grid shimmer.
        c0 -= c0 % step
        r0 -= r0 % step
        image = box = None
        if self.smooth and step > 1 and base > 1:
            # Left as it is: fitted() box-averages it to the screen in one step, straight
            # from the preview held by Pillow (averaged as the eye sees the image from afar;
            # never the saved pixels).
            pixels, step = source[r0:r1, c0:c1], 1
            image, box = self._preview_image(), (c0, r0, c1, r1)
        elif self.smooth and step > 1:
            pixels = reduce_photo(source[r0:r1, c0:c1], step)
        else:
            pixels = source[r0:r1:step, c0:c1:step]
        cut_labels = None if labels is None else labels[r0:r1:step, c0:c1:step]
        total = base * step
        rows, cols = pixels.shape[:2]
        left = c0 * base
        top = r0 * base
        right = min(self.width, left + cols * total)
        bottom = min(self.height, top + rows * total)
        return Region(pixels, cut_labels, (left, right, bottom, top), total, image, box)

    def _preview_image(self) -> Image.Image:
        """``preview`` as a Pillow image, made once (the views resample it on every zoom,
        pan and resize). Kept RGB when it has no alpha: resampled as RGB, then made RGBA,
        it costs half as much as resampled as RGBA (premultiplied)."""
        image = self._pillow.get("preview")
        if image is None:
            from PIL import Image

            mode = "RGBA" if self.preview.shape[2] == 4 else "RGB"
            image = Image.fromarray(np.ascontiguousarray(self.preview), mode)
            self._pillow["preview"] = image
        return image
