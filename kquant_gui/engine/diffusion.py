"""Error diffusion against a colour palette: serpentine Floyd–Steinberg, selective, with strength.

The tiled lock-step kernel that moves the error is :mod:`.diffusion_tiles`, shared with RGBA
palettes (:mod:`.alpha_diffusion`); this module says what an RGB palette diffuses.

The error is carried in linear light, where the eye averages neighbouring pixels; the entry
chosen for a pixel is its nearest in the working colour space, the metric of the mapping
without dithering, read from :class:`~.nearest.NearestTable` (no coarse colour cache, so no
rectangular patches on gradients).

Selective: a pixel within ``EXACT_LEVELS`` of an entry takes its nearest entry, receives no
error and passes none on, so an image that the palette holds exactly comes back unchanged;
between that and ``FULL_LEVELS`` the error it accepts fades in. At strong edges the incoming
error is damped: there the edge itself hides banding and dither noise only frays it.
"""

from __future__ import annotations

import numpy as np

from .alpha_diffusion import FREE, AlphaSource
from .colorspace import SRGB_TO_LINEAR
from .damping import edge_damping
from .diffusion_tiles import KERNELS, Kernel, Lookup, Reader, diffuse_tiles, takers
from .nearest import NearestTable, bin_of_keys, key_part, pack_keys
from .nearest_bins import dilate_bins
from .parallel import engine_threads, run_parts
from .progress import Steps

#: The error a pixel carries may move its colour at most REACH times its distance to the
#: nearest entry, or REACH_SPACING times that entry's distance to the next one, whichever is
#: more (plus REACH_FLOOR), per channel in linear light; see :func:`pixel_maps`. On the 24 MP
#: bench photo at k=256 this took the worst blurred 32x32 block from 12.8 to 3.5 dE2000 (a
#: saturated teal beyond the palette had drifted to grey); smooth gradients keep the reach
#: they need to mix entries.
REACH = 3.0
REACH_SPACING = 2.0
REACH_FLOOR = 0.01
#: How far (in 18-bit bins, 4 levels each) around the image's own colours the nearest-entry
#: table is worked out up front (the rest when a lookup first meets it); see
#: :class:`~.nearest.NearestTable`.
NEAR_BINS = 2
#: From this many pixels the whole nearest-entry table is worked out up front, in parallel,
#: and no bin is left for the lookups to meet: on larger images the diffusion reaches so
#: many bins beyond the image's own colours that working them out as met (~300 calls, one
#: thread at a time) costs more. At 1.5 MP (a crop of the 24 MP bench photo) those calls
#: took 0.21-0.37 s CPU at k=16 and 256, the whole table 0.3-0.7 s CPU split over the
#: threads; on china and flower (0.27 MP) the two ways cost the same within 4%.
WHOLE_TABLE_PIXELS = 1 << 20
#: Share of its error a pixel passes on at full strength. Passing on all of it reproduces
#: the mean colour most closely but adds the most noise; libimagequant keeps 15/16. On the
#: bench photos 0.85 lowered the per-pixel dE2000 by ~0.4 at k=16 (flower 5.27 -> 4.63) for
#: ~0.1 more after a blur, where we stay well ahead of pngquant; 0.8 (with the palette spread
#: to the edges of the image's colours, see :mod:`.spread`, which took away the bias a
#: smaller share had left on gradients) lowered it again, by 0.1 on the bench gradient at
#: k=16 and 64, with every blurred error still below pngquant's.
ERROR_KEPT = 0.8
#: Resolution of carried linear light (steps per unit), and how far beyond [0, 1] it may go
#: (the largest reach): clipping at 0 and 1 would throw away error that a dark or bright
#: colour needs to mix its entries.
_STEPS = 1 << 14
_HEADROOM = 0.5
_SCALE = float(_STEPS - 1)
_BLOCK = int((1.0 + 2.0 * _HEADROOM) * _SCALE) + 1


def _encode_table() -> np.ndarray:
    """Carried linear light (see ``_OFFSETS``) to its 8-bit sRGB code's share of a table key
    (see :func:`~.nearest.key_part`), for each channel in turn."""
    # A code's range in linear light ends halfway to the next code's value.
    bounds = (SRGB_TO_LINEAR[:-1] + SRGB_TO_LINEAR[1:]) / 2
    levels = np.arange(_BLOCK) / _SCALE - _HEADROOM
    code = np.searchsorted(bounds, levels)
    return np.concatenate([key_part(code, c) for c in range(3)])


_ENCODE = _encode_table()
#: Linear light v of channel c is carried as ``(v + _HEADROOM) * _SCALE + _OFFSETS[c]``: the
#: offset puts each channel in its own block of _ENCODE and adds the 0.5 that turns the
#: truncation to an index into rounding.
_OFFSETS = (np.arange(3) * _BLOCK + 0.5).astype(np.float32)[:, None]


def _carry(linear: np.ndarray) -> np.ndarray:
    """Linear light, shape (3, ...), to its carried form (float32)."""
    shape = (3,) + (1,) * (linear.ndim - 1)
    offsets = _OFFSETS.reshape(shape)
    return ((linear + _HEADROOM) * _SCALE + offsets).astype(np.float32)


#: 8-bit code of each channel to carried linear light, for the three channels in turn.
_DECODE = _carry(np.broadcast_to(SRGB_TO_LINEAR, (3, 256))).reshape(-1)


def near_bins(pixels: np.ndarray) -> np.ndarray:
    """The 18-bit bins that dithered colours of ``pixels`` mostly fall in: those of the image's
    own colours (seen on every other pixel of every other row), grown by NEAR_BINS in every
    direction.

    Returns
    -------
    ndarray of bool, shape (2**18,)
    """
    sample = pixels[::2, ::2]
    h, w = sample.shape[:2]
    rows = max(1, (1 << 18) // max(w, 1))

    def part(i: int, first: int, end: int) -> np.ndarray:
        seen = np.zeros(1 << 18, dtype=bool)
        bins = np.empty((rows, w), dtype=np.uint32)
        for y0 in range(first, end, rows):
            p = sample[y0 : min(end, y0 + rows)]
            b = bins[: p.shape[0]]
            # r6 | g6 << 6 | b6 << 12 from the channels (no packed key to unpack).
            np.right_shift(p[..., 2], 2, out=b, casting="unsafe")
            b <<= 6
            b |= p[..., 1] >> 2
            b <<= 6
            b |= p[..., 0] >> 2
            seen[b] = True
        return seen

    # Each part marks its own table (the same whatever the parts): no shared writes.
    seen = np.logical_or.reduce(run_parts(part, h, min_size=2 * rows, align=rows))
    return dilate_bins(seen, NEAR_BINS)


def pixel_maps(
    pixels: np.ndarray,
    table: NearestTable,
    strength: float,
    steps: Steps | None = None,
    words: np.ndarray | None = None,
    reach: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """How much of the error reaching each pixel it takes on, and how far the error may take
    its colour.

    Acceptance is 0 for a pixel that the palette holds (see :class:`~.nearest.HeldColors`)
    and for a fully transparent one: such pixels are not dithered and pass no error on.

    The reach bounds the error a pixel carries (see ``REACH``). A colour the palette cannot
    mix (one
    outside all entries, such as a saturated teal beyond the palette's most saturated one)
    otherwise piles up error that only grows: in a perceptual space a duller entry can be
    nearest to the ever more saturated target, and dithering drifts to a grey patch.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
    table : NearestTable
    strength : float
        In (0, 1].
    words : ndarray of uint32, shape (H, W), optional
        Filled with ``r | g << 8 | b << 16 | accept << 24`` of every pixel: what the kernel
        reads of a pixel, in one gather.
    reach : ndarray of uint8, shape (H, W), optional
        Where to write the reach (it may be a view, such as the low bytes of wider words).

    Returns
    -------
    accept : ndarray of uint8, shape (H, W)
        0..255 for 0..1.
    reach : ndarray of uint8, shape (H, W)
        0..255 for 0.._HEADROOM of linear light.
    """
    h, w = pixels.shape[:2]
    accept = np.empty((h, w), dtype=np.uint8)
    if reach is None:
        reach = np.empty((h, w), dtype=np.uint8)
    rows = max(1, (1 << 18) // max(w, 1))
    scale = np.float32(strength * ERROR_KEPT / 255.0)
    reach_of_bin = _reach_table(table)

    def part(i: int, first: int, end: int) -> None:
        for y0 in range(first, end, rows):
            y1 = min(end, y0 + rows)
            p = pixels[y0:y1]
            # The colour bytes straight into the (little-endian) words: r | g << 8 | b << 16,
            # the packed key, until the acceptance byte goes in below.
            keys = np.empty((y1 - y0, w), "<u4") if words is None else words[y0:y1]
            key_bytes = keys.view(np.uint8).reshape(y1 - y0, w, 4)
            for c in range(3):  # a channel at a time: a copy of 3-byte runs is slow
                key_bytes[..., c] = p[..., c]
            key_bytes[..., 3] = 0
            gate = 255.0 - table.closeness.take(keys).astype(np.float32)
            gate *= edge_damping(pixels, y0, y1)
            gate *= scale
            if pixels.shape[2] == 4:
                gate[p[..., 3] == 0] = 0.0
            # Round up, so that only a gate of 0 gives 0 at any strength (and stay in range:
            # a product a hair over 255 would wrap).
            accept[y0:y1] = np.minimum(np.ceil(gate), 255.0)
            np.copyto(reach[y0:y1], reach_of_bin.take(bin_of_keys(keys)))
            key_bytes[..., 3] = accept[y0:y1]
            if steps is not None:
                steps.check()

    # Row by row and element-wise: the maps are the same whatever the parts and threads.
    run_parts(part, h, min_size=2 * rows, align=rows)
    return accept, reach


def _reach_table(table: NearestTable) -> np.ndarray:
    """The reach (see :func:`pixel_maps`) of the colours of every 18-bit bin, worked out once
    per bin rather than per pixel: uint8 of shape (2**18,)."""
    gap = table.bin_gap * np.float32(REACH * 255.0 / _HEADROOM)
    spacing = table.bin_spacing * np.float32(REACH_SPACING * 255.0 / _HEADROOM)
    np.maximum(gap, spacing, out=gap)
    gap += np.float32(REACH_FLOOR * 255.0 / _HEADROOM)
    return np.minimum(gap, 255.0).astype(np.uint8)


def _noise_amplitude(palette: np.ndarray) -> float:
    """Half the typical gap between palette entries in carried linear light: a start error
    that shifts a tile's dot pattern by up to a whole period."""
    p = SRGB_TO_LINEAR[palette[:, :3]] * _SCALE
    if p.shape[0] < 2:
        return 0.0
    d = np.sqrt(((p[:, None, :] - p[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(d, np.inf)
    return float(0.5 * np.median(d.min(axis=1)))


def diffuse(
    pixels: np.ndarray,
    palette: np.ndarray,
    *,
    space: str = "lab",
    kernel: str = "floyd-steinberg",
    strength: float = 1.0,
    transparent: int = -1,
    steps: Steps | None = None,
    table: NearestTable | None = None,
    threads: int | None = None,
    fixed: np.ndarray | None = None,
) -> np.ndarray:
    """Map every pixel to a palette entry with selective serpentine error diffusion.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3) or (H, W, 4)
        With alpha, fully transparent pixels take ``transparent``, receive no error and pass
        none on.
    palette : ndarray of uint8, shape (n, 3) or (n, 4), 1 <= n <= 256
        Colour entries (the error is carried in linear light; a pixel's alpha only decides
        whether it is transparent), or colour-and-alpha entries (the error is carried in
        premultiplied linear light and alpha, see :mod:`.alpha_diffusion`; ``pixels`` must
        then have alpha).
    space : {"lab", "oklab", "rgb"}
        Working colour space of the nearest-entry search.
    kernel : {"floyd-steinberg", "sierra-lite"}
    strength : float
        0.0 gives every pixel its nearest entry; 1.0 diffuses the whole error.
    transparent : int
        Label of fully transparent pixels, or -1 to give them their nearest entry.
    steps : Steps, optional
        Polled for cancellation and told the progress of the "mapping" stage.
    table : NearestTable, optional
        The table of a colour palette, when the caller already built it.
    threads : int, optional
        Threads to run on (default: the engine's limit). The result does not change.
    fixed : ndarray of uint16, shape (H, W), optional
        RGBA palettes only: pixels that are not dithered, as the entry each takes, or
        0xFFFF for "diffuse". A fixed pixel receives no error and passes none on.

    Returns
    -------
    ndarray of uint8, shape (H, W)
    """
    if palette.ndim != 2 or palette.shape[1] not in (3, 4) or palette.shape[1] > pixels.shape[2]:
        raise ValueError(
            f"diffuse takes a palette of shape (n, 3), or (n, 4) for pixels with alpha; got "
            f"{palette.shape} for pixels of shape {pixels.shape}"
        )
    weights = KERNELS[kernel]
    h, w = pixels.shape[:2]
    if palette.shape[1] == 4:
        with engine_threads(threads):
            near = None if h * w >= WHOLE_TABLE_PIXELS else near_bins(pixels)
            source = AlphaSource(pixels, palette, space, strength, fixed, near)
            labels = (
                diffuse_tiles(h, w, source, weights, steps)
                if strength > 0.0
                else source.nearest_labels()
            )
        if fixed is not None:
            np.copyto(labels, fixed, where=fixed != FREE, casting="unsafe")
    else:
        with engine_threads(threads):
            if table is None:
                near = None if h * w >= WHOLE_TABLE_PIXELS else near_bins(pixels)
                table = NearestTable(palette, space, near=near)
            if strength <= 0.0:
                labels = table.own_labels(pack_keys(pixels))
            else:
                labels = _diffuse_colors(pixels, palette, table, strength, weights, steps)
    if transparent >= 0 and pixels.shape[2] == 4:
        labels[pixels[..., 3] == 0] = transparent
    return labels


def _diffuse_colors(
    pixels: np.ndarray,
    palette: np.ndarray,
    table: NearestTable,
    strength: float,
    weights: Kernel,
    steps: Steps | None,
) -> np.ndarray:
    """:func:`diffuse` against a colour palette, strength above 0."""
    h, w = pixels.shape[:2]
    words = np.empty((h, w), "<u4")  # little-endian: r, g, b, acceptance
    # The reach goes straight into the low bytes of the aux words (see _pixel_aux).
    aux = np.empty((h, w), "<u2")
    aux_bytes = aux.view(np.uint8).reshape(h, w, 2)
    accept, _ = pixel_maps(pixels, table, strength, steps, words, aux_bytes[..., 0])
    _pixel_aux(accept, aux_bytes[..., 1])
    source = _ColorSource(words, palette, table, aux)
    return diffuse_tiles(h, w, source, weights, steps)


def _pixel_aux(accept: np.ndarray, out: np.ndarray) -> None:
    """Which neighbours of each pixel take its error (see :func:`~.diffusion_tiles.takers`)
    and whether it takes any itself, ``takers | (accept > 0) << 4``, into ``out``: the high
    bytes of the 16-bit words ``reach | mask << 8`` that the kernel reads of a pixel besides
    its colour word, in one gather.

    Parameters
    ----------
    accept : ndarray of uint8, shape (H, W)
        See :func:`pixel_maps`.
    out : ndarray of uint8, shape (H, W)
        May be a view.
    """
    h, w = accept.shape
    rows = max(1, (1 << 18) // w)

    def part(i: int, y0: int, y1: int) -> None:
        mask = takers(accept, y0, y1)
        mask |= (accept[y0:y1] > 0).view(np.uint8) << 4
        out[y0:y1] = mask

    # Row by row (a row's takers read the row below, never write it): the same whatever
    # the parts.
    run_parts(part, h, min_size=2 * rows, align=rows)


class _ColorSource:
    """What an RGB palette diffuses (see :class:`~.diffusion_tiles.Source`): linear light,
    carried as in :func:`_carry`, each wanted colour's exact nearest entry read from the
    :class:`~.nearest.NearestTable`.

    A pixel is read as one 32-bit word, its colour and acceptance (see :func:`pixel_maps`),
    and one 16-bit word, its reach and its takers (see :func:`_pixel_aux`): two gathers
    and two small tables per row instead of four gathers and the arithmetic of each.
    """

    channels = 3

    def __init__(
        self, words: np.ndarray, palette: np.ndarray, table: NearestTable, aux: np.ndarray
    ) -> None:
        self.carried = np.ascontiguousarray(_carry(SRGB_TO_LINEAR[palette[:, :3]].T))  # (3, n)
        self.noise = np.full(3, _noise_amplitude(palette))
        self._words = words.reshape(-1)
        self._decode = _DECODE.reshape(3, 256)
        self._aux = aux.reshape(-1)
        self._table = table

    def reader(self, tw: int, n: int, rescale: np.ndarray) -> Reader:
        # Tables by the 13-bit aux word (see _pixel_aux): reach to bound, the takers and
        # the pixel's own acceptance to the factor on the error it passes on.
        aux = np.arange(1 << 13)
        bound_of = (aux & 0xFF).astype(np.float32) * np.float32(_HEADROOM * _SCALE / 255.0)
        passes_of = np.where(aux >> 12 & 1, rescale[aux >> 8 & 0xF], 0.0).astype(np.float32)
        idx = np.empty((tw, n), dtype=np.intp)
        words, aux_of, decode = self._words, self._aux, self._decode
        to_accept = np.float32(1.0 / 255.0)

        def read(flat, own, bound, accept, passes) -> None:  # the arrays of Reader
            # The bytes of the (little-endian) word: r, g, b, acceptance.
            word = words.take(flat).view(np.uint8).reshape(*flat.shape, 4)
            for c in range(3):
                # Bytes to intp into a kept buffer first: take's own conversion of a strided
                # uint8 index made the whole read twice as slow.
                np.copyto(idx, word[..., c])
                decode[c].take(idx, out=own[:, c, :], mode="clip")
            np.copyto(accept, word[..., 3], casting="unsafe")
            accept *= to_accept
            # One conversion of the index for both tables ("clip" never clips: aux < 2**13).
            np.copyto(idx, aux_of.take(flat), casting="unsafe")
            bound_of.take(idx, out=bound, mode="clip")
            passes_of.take(idx, out=passes, mode="clip")

        return read

    def lookup(self, n: int) -> Lookup:
        idx = np.empty((3, n), dtype=np.intp)
        codes = np.empty((3, n), dtype=_ENCODE.dtype)
        key = codes[0]
        table = self._table
        labels, unknown = table.labels, table.unknown
        # A 256-entry palette's table is uint16 (its unknown is 0xFFFF), read through a buffer.
        found = np.empty(n, dtype=labels.dtype) if labels.dtype != np.uint8 else None

        def find(v: np.ndarray, out: np.ndarray) -> None:
            np.copyto(idx, v, casting="unsafe")
            # Carried values stay inside _ENCODE (own value +- at most the headroom), so
            # "clip" never clips; it lets take write into the kept buffer with no copy.
            _ENCODE.take(idx, out=codes, mode="clip")
            np.bitwise_or(key, codes[1], out=key)
            np.bitwise_or(key, codes[2], out=key)
            # Keys are below 2**24: "clip" never clips, and lets take write straight into
            # its output rather than through a buffer.
            got = out if found is None else found
            labels.take(key, out=got, mode="clip")
            if got.max() == unknown:
                # Colours whose bin nobody met yet: worked out once, then read as the others.
                table.resolve(key[got == unknown])
                labels.take(key, out=got, mode="clip")
            if found is not None:
                np.copyto(out, found, casting="unsafe")

        return find
