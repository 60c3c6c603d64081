"""The nearest-entry table of error diffusion is exact: the argmin in the working space."""

import numpy as np
import pytest

from kquant_gui.engine.colorspace import channels_to_space, cube_to_space, to_space
from kquant_gui.engine.diffusion import _DECODE, _ColorSource, near_bins
from kquant_gui.engine.nearest import NearestTable, pack_keys, table_keys

SPACES = ["lab", "oklab", "rgb"]


def _palette(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (n, 3))
    # Dark entries and near twins: where the spaces bend most and boundaries crowd.
    q = n // 4
    palette[:q] //= 12
    palette[q : 2 * q] = palette[:q] + rng.integers(0, 3, (q, 3))
    return palette.astype(np.uint8)


def _probe_colours(palette: np.ndarray, seed: int) -> np.ndarray:
    """Colours where a table could go wrong: anywhere, next to black, around each entry, and
    on the boundaries between entries (midpoints of pairs, a few levels either side)."""
    rng = np.random.default_rng(seed)
    anywhere = rng.integers(0, 256, (20_000, 3))
    dark = rng.integers(0, 12, (4_000, 3))
    around = palette[rng.integers(0, len(palette), 4_000)] + rng.integers(-4, 5, (4_000, 3))
    pairs = rng.integers(0, len(palette), (2, 12_000))
    middle = (palette[pairs[0]].astype(int) + palette[pairs[1]]) // 2
    middle += rng.integers(-3, 4, middle.shape)
    return np.clip(np.vstack([anywhere, dark, around, middle]), 0, 255).astype(np.uint8)


def _assert_nearest(colours, palette, space, got):
    """``got`` is an argmin entry of each colour, measured directly in ``space``; ties (two
    entries equally near to rounding) may go either way."""
    x, c = to_space(colours, space), to_space(palette, space)
    d = np.zeros((len(colours), len(palette)))
    for axis in range(3):
        d += (x[:, axis, None] - c[None, :, axis]) ** 2
    best = d.min(axis=1)
    chosen = d[np.arange(len(colours)), got]
    wrong = chosen > best + 1e-9 * (1.0 + best)
    assert not wrong.any(), (colours[wrong][:5], got[wrong][:5], d.argmin(axis=1)[wrong][:5])
    clear = np.sort(d, axis=1)[:, 1] > best + 1e-6
    np.testing.assert_array_equal(got[clear], d.argmin(axis=1)[clear])


@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("n", [2, 16, 256])
def test_every_colour_takes_its_exact_nearest_entry(space, n):
    palette = _palette(n, seed=n)
    # A small image: its bins are worked out up front, every other colour on demand.
    image = np.random.default_rng(1).integers(60, 120, (32, 32, 3)).astype(np.uint8)
    table = NearestTable(palette, space, near=near_bins(image))
    colours = _probe_colours(palette, seed=n + 1)
    _assert_nearest(colours, palette, space, table.own_labels(pack_keys(colours)))


@pytest.mark.parametrize("space", SPACES)
def test_the_diffusion_lookup_reads_the_exact_entry(space):
    palette = _palette(40, seed=5)
    image = np.random.default_rng(2).integers(0, 256, (16, 16, 3)).astype(np.uint8)
    table = NearestTable(palette, space, near=near_bins(image))
    colours = _probe_colours(palette, seed=6)[::4]
    source = _ColorSource(np.zeros((1, 1), "<u4"), palette, table, np.zeros((1, 1), np.uint16))
    find = source.lookup(len(colours))
    # The carried value of each 8-bit colour, as the kernel would want it.
    wanted = np.stack([_DECODE[c * 256 + colours[:, c].astype(np.intp)] for c in range(3)])
    out = np.empty(len(colours), np.uint8)
    find(wanted, out)
    _assert_nearest(colours, palette, space, out)


def test_the_table_is_the_same_whichever_bins_are_worked_out_first():
    palette = _palette(64, seed=9)
    rng = np.random.default_rng(3)
    colours = rng.integers(0, 256, (50_000, 3)).astype(np.uint8)
    whole = NearestTable(palette, "lab")
    assert not (whole.labels == whole.unknown).any()
    lazy = NearestTable(palette, "lab", near=np.zeros(1 << 18, dtype=bool))
    assert (lazy.labels == lazy.unknown).all()
    got = lazy.own_labels(pack_keys(colours))
    keys = table_keys(colours)
    np.testing.assert_array_equal(got, whole.labels[keys])
    np.testing.assert_array_equal(lazy.labels[keys], whole.labels[keys])


def test_a_256_entry_table_keeps_its_unknown_apart_from_every_entry():
    palette = _palette(256, seed=4)
    table = NearestTable(palette, "oklab", near=np.zeros(1 << 18, dtype=bool))
    assert table.unknown > 255
    colours = palette[::-1]
    got = table.own_labels(pack_keys(colours))
    np.testing.assert_array_equal(palette[got], colours)


@pytest.mark.parametrize("space", SPACES)
def test_channels_to_space_agrees_with_to_space(space):
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, (20_000, 3)).astype(np.uint8)
    rgb[:2000] //= 20
    got = np.stack(channels_to_space(*(rgb[:, c].astype(np.intp) for c in range(3)), space), -1)
    np.testing.assert_allclose(got, to_space(rgb, space), rtol=0, atol=1e-9)


@pytest.mark.parametrize("space", SPACES)
def test_cube_to_space_gives_channels_to_space_bit_for_bit(space):
    # The table measures a bin's colours through cube_to_space; the same values to the last
    # bit keep every entry (and every tie) as channels_to_space decides it. Dark cubes
    # first: the lab conversion takes another branch there.
    rng = np.random.default_rng(11)
    low = rng.integers(0, 253, (3000, 3))
    low[:300] //= 16
    side = np.arange(4)
    r, g, b = (low[:, c, None] + side for c in range(3))
    got = cube_to_space(r, g, b, space)
    i = np.arange(64)
    want = channels_to_space(r[:, i & 3], g[:, (i >> 2) & 3], b[:, i >> 4], space)
    for x, y in zip(got, want, strict=True):
        assert x.shape == (3000, 64)
        np.testing.assert_array_equal(x, y)


def test_threads_working_out_bins_together_read_only_final_entries():
    # A row of the table reads as unknown until its final entries are in: a thread reading
    # while another works the bin out must wait for it, never take a provisional entry.
    from concurrent.futures import ThreadPoolExecutor

    palette = _palette(48, seed=11)
    whole = NearestTable(palette, "lab")
    lazy = NearestTable(palette, "lab", near=np.zeros(1 << 18, dtype=bool))
    rng = np.random.default_rng(12)
    batches = [rng.integers(0, 256, (4_000, 3)).astype(np.uint8) for _ in range(24)]
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(lambda c: lazy.own_labels(pack_keys(c)), batches))
    for colours, got in zip(batches, found, strict=True):
        np.testing.assert_array_equal(got, whole.labels[table_keys(colours)])


def test_a_bin_reads_as_unknown_until_its_colours_are_measured(monkeypatch):
    # What lets other threads read the table while a bin is worked out: until the bin's
    # final entries are in, its row holds nothing they could take for an answer.
    import kquant_gui.engine.nearest as nearest

    seen = []
    measure = nearest._measure_bins

    def spy(rows, coords, space, bins, entries, counts, offsets=None):
        seen.append(rows[bins].copy())
        measure(rows, coords, space, bins, entries, counts, offsets)

    monkeypatch.setattr(nearest, "_measure_bins", spy)
    palette = _palette(48, seed=13)
    table = NearestTable(palette, "lab", near=np.zeros(1 << 18, dtype=bool))
    colours = np.random.default_rng(14).integers(0, 256, (20_000, 3)).astype(np.uint8)
    table.own_labels(pack_keys(colours))
    assert seen
    assert all((rows == table.unknown).all() for rows in seen)
