"""Behaviour of `kquant_gui.quantize`: bounds, determinism, alpha, dithering, progress, cancel."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from kquant_gui import COLOR_SPACES, DITHERS, Cancelled, quantize
from kquant_gui.engine import alpha_histogram, packing
from kquant_gui.engine import histogram as histogram_module
from kquant_gui.engine import mapping as mapping_module
from kquant_gui.engine import pipeline as pipeline_module
from kquant_gui.engine.colorspace import to_space
from kquant_gui.engine.metrics import composite_delta_e2000, mean_delta_e2000


def _check_invariants(pixels: np.ndarray, result, k: int) -> None:
    h, w = pixels.shape[:2]
    assert result.image.shape == pixels.shape
    assert result.image.dtype == np.uint8
    assert result.labels.shape == (h, w)
    n = result.palette.shape[0]
    assert 1 <= n <= k
    c = result.palette.shape[1]
    assert result.palette.dtype == np.uint8 and c in (3, pixels.shape[2])
    assert result.labels.max() < n
    # With an RGBA palette, colour and alpha alike are the palette's.
    assert np.array_equal(result.image[..., :c], result.palette[result.labels])
    assert int(result.counts.sum()) == h * w
    assert np.array_equal(result.counts, np.bincount(result.labels.ravel(), minlength=n))
    assert np.all(np.diff(result.counts) <= 0), "palette must be sorted by share, largest first"
    assert np.all(result.counts > 0)


@pytest.mark.parametrize("k", [1, 2, 4, 16, 64, 256])
def test_palette_size_labels_and_image_agree(photo, k):
    result = quantize(photo, k)
    _check_invariants(photo, result, k)
    assert result.n_colors == k  # the photo has thousands of colours: exactly k are used
    assert result.settings() == {
        "k": k,
        "color_space": "lab",
        "dither": "none",
        "dither_strength": 1.0,
        "seed": 0,
    }


@pytest.mark.parametrize("space", COLOR_SPACES)
@pytest.mark.parametrize("dither", DITHERS)
def test_every_colour_space_and_dither(photo, space, dither):
    result = quantize(photo, 8, color_space=space, dither=dither)
    _check_invariants(photo, result, 8)
    assert result.color_space == space and result.dither == dither
    # Any sensible 8-colour result is much closer to the photo than a flat grey image.
    grey = np.full_like(photo, 128)
    assert mean_delta_e2000(photo, result.image) < 0.6 * mean_delta_e2000(photo, grey)


def _blur(image: np.ndarray, size: int = 4) -> np.ndarray:
    h, w = (image.shape[0] // size) * size, (image.shape[1] // size) * size
    blocks = image[:h, :w, :3].astype(np.float64).reshape(h // size, size, w // size, size, 3)
    return blocks.mean(axis=(1, 3))


@pytest.mark.parametrize("dither", ["floyd-steinberg", "ordered"])
@pytest.mark.parametrize("space", COLOR_SPACES)
def test_dithering_reproduces_gradients_seen_from_afar(dither, space):
    # What dithering is for: seen from a distance (block averages), a smooth gradient with
    # few colours looks much more like the original than flat bands do.
    x = np.linspace(0, 1, 256)
    gradient = np.stack([40 + 180 * x, 60 + 100 * x, 200 - 150 * x], axis=-1)
    pixels = np.repeat(gradient[None], 64, axis=0).round().astype(np.uint8)
    flat = quantize(pixels, 4, color_space=space)
    dithered = quantize(pixels, 4, color_space=space, dither=dither)
    err_flat = np.abs(_blur(flat.image) - _blur(pixels)).mean()
    err_dithered = np.abs(_blur(dithered.image) - _blur(pixels)).mean()
    assert err_dithered < 0.6 * err_flat


@pytest.mark.parametrize("dither", DITHERS)
def test_deterministic_byte_identical(photo, dither):
    a = quantize(photo, 12, dither=dither, seed=7)
    b = quantize(photo.copy(), 12, dither=dither, seed=7)
    assert a.image.tobytes() == b.image.tobytes()
    assert a.palette.tobytes() == b.palette.tobytes()
    assert a.labels.tobytes() == b.labels.tobytes()


def test_more_colours_means_less_error(photo):
    errors = [mean_delta_e2000(photo, quantize(photo, k).image) for k in (2, 8, 32, 128)]
    assert errors == sorted(errors, reverse=True)
    assert errors[-1] < 3.0


@pytest.mark.parametrize("bad", [0, 257, -1, 2.5, "8", None, True])
def test_k_out_of_range_names_the_range(photo, bad):
    with pytest.raises(ValueError, match="1 to 256"):
        quantize(photo, bad)


def test_numpy_integer_k_accepted(photo):
    assert quantize(photo, np.int64(5)).n_colors == 5


@pytest.mark.parametrize(
    ("pixels", "fragment"),
    [
        (np.zeros((0, 5, 3), np.uint8), "empty"),
        (np.zeros((4, 0, 3), np.uint8), "empty"),
        (np.zeros((4, 4, 3), np.float32), "uint8"),
        (np.zeros((4, 4, 3), np.uint16), "uint8"),
        (np.zeros((4, 4), np.uint8), r"\(H, W, 3\)"),
        (np.zeros((4, 4, 2), np.uint8), r"\(H, W, 3\)"),
        ([[[1, 2, 3]]], "numpy array"),
    ],
)
def test_bad_pixels_say_what_was_given(pixels, fragment):
    with pytest.raises(ValueError, match=fragment):
        quantize(pixels, 4)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"color_space": "hsv"}, "lab, oklab, rgb"),
        ({"dither": "atkinson"}, "floyd-steinberg"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_options(photo, options, fragment):
    with pytest.raises(ValueError, match=fragment):
        quantize(photo, 4, **options)


def test_fewer_colours_than_k_gives_exactly_those(photo):
    colours = np.array([[255, 0, 0], [0, 128, 255], [10, 10, 10], [250, 250, 240], [1, 2, 3]])
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 5, size=(40, 50))
    idx[0, :5] = np.arange(5)
    pixels = colours[idx].astype(np.uint8)
    result = quantize(pixels, 16)
    assert result.n_colors == 5
    assert result.exhausted and result.distinct_colors == 5
    assert "only 5 colours" in result.summary()
    assert {tuple(c) for c in result.palette} == {tuple(c) for c in colours}
    assert np.array_equal(result.image, pixels)


def test_fewer_colours_than_k_on_a_large_image(monkeypatch):
    # Force the streamed large-image path on a small array.
    monkeypatch.setattr(histogram_module, "EXACT_MAX_PIXELS", 100)
    colours = np.array([[255, 0, 0], [254, 1, 0], [0, 0, 255]], dtype=np.uint8)
    pixels = colours[np.arange(60 * 70).reshape(60, 70) % 3]
    result = quantize(pixels, 8)
    assert result.exhausted and result.n_colors == 3
    assert np.array_equal(result.image, pixels)


@pytest.fixture
def sampled(monkeypatch):
    """Force the large-image path with a histogram of every other pixel of every other row."""
    monkeypatch.setattr(histogram_module, "EXACT_MAX_PIXELS", 100)
    monkeypatch.setattr(pipeline_module, "SAMPLE_MIN_PIXELS", 100)


def test_colours_the_sample_never_saw_still_map_to_their_nearest_entry(photo, sampled):
    pixels = photo.copy()
    # Pure green dots at odd rows and columns only: the sampled histogram never sees them.
    pixels[1::8, 1::8] = (0, 255, 0)
    result = quantize(pixels, 16)
    _check_invariants(pixels, result, 16)
    dots = result.labels[1::8, 1::8].ravel()
    # Each dot took the palette's colour nearest pure green, not some arbitrary entry; where
    # two entries are about as near (within the ambiguity margin, in the engine's space), a
    # dot may follow its neighbours to either.
    green = to_space(np.array([[0, 255, 0]], dtype=np.uint8), "lab")
    dist = np.sqrt(((to_space(result.palette, "lab") - green) ** 2).sum(1))
    assert (dist[dots] <= dist.min() + mapping_module.SMALL_PALETTE_MARGIN["lab"]).all()


def test_a_colour_only_outside_the_sample_is_still_kept_exactly(sampled):
    colours = np.array([[200, 0, 0], [0, 0, 200], [0, 0, 0]], dtype=np.uint8)
    # 2x2 blocks of red and blue, so that the sample (even rows and columns) sees both.
    pixels = colours[np.add.outer(np.arange(40) // 2, np.arange(50) // 2) % 2]
    # Odd row and column: outside the sample. Black packs to 0, the value an empty slot of a
    # lookup table would hold, so only a real "not seen" mark tells it apart.
    pixels[3, 5] = colours[2]
    result = quantize(pixels, 8)
    assert result.exhausted and result.n_colors == 3
    assert np.array_equal(result.image, pixels)


def test_sampled_histogram_keeps_the_quality(photo, monkeypatch):
    monkeypatch.setattr(histogram_module, "EXACT_MAX_PIXELS", 100)
    whole = {k: quantize(photo, k) for k in (4, 16)}
    monkeypatch.setattr(pipeline_module, "SAMPLE_MIN_PIXELS", 100)
    for k, reference in whole.items():
        result = quantize(photo, k)
        _check_invariants(photo, result, k)
        de = mean_delta_e2000(photo, result.image)
        assert de < mean_delta_e2000(photo, reference.image) + 0.3


def test_large_image_path_matches_quality(photo, monkeypatch):
    exact = quantize(photo, 16)
    monkeypatch.setattr(histogram_module, "EXACT_MAX_PIXELS", 100)
    binned = quantize(photo, 16)
    _check_invariants(photo, binned, 16)
    assert binned.distinct_colors is None
    de_exact = mean_delta_e2000(photo, exact.image)
    assert mean_delta_e2000(photo, binned.image) < de_exact + 0.5
    fine = quantize(photo, 64)  # k above FINE_MAP_K maps exact colours on the large path
    _check_invariants(photo, fine, 64)


def test_single_colour_image():
    pixels = np.full((10, 20, 3), (12, 34, 56), np.uint8)
    result = quantize(pixels, 8)
    assert result.n_colors == 1
    assert result.palette.tolist() == [[12, 34, 56]]
    assert np.array_equal(result.image, pixels)


def test_one_pixel_image():
    result = quantize(np.array([[[9, 8, 7]]], np.uint8), 256)
    assert result.palette.tolist() == [[9, 8, 7]] and result.counts.tolist() == [1]


def _rgba_photo(photo: np.ndarray) -> np.ndarray:
    h, w = photo.shape[:2]
    alpha = np.full((h, w), 255, np.uint8)
    alpha[:, :20] = 0  # a fully transparent margin
    alpha[:, 20:30] = np.linspace(1, 254, 10).astype(np.uint8)  # a soft edge
    rgba = np.dstack([photo, alpha])
    rgba[:, :20, :3] = 255 - rgba[:, :20, :3]  # garbage colours under alpha 0
    return rgba


@pytest.mark.parametrize("dither", DITHERS)
def test_soft_edges_get_an_rgba_palette_and_transparent_pixels_share_one_entry(photo, dither):
    rgba = _rgba_photo(photo)
    result = quantize(rgba, 8, dither=dither)
    _check_invariants(rgba, result, 8)
    assert result.palette.shape == (result.n_colors, 4)
    t = result.transparent_index
    assert t is not None and tuple(result.palette[t]) == (0, 0, 0, 0)
    # k counts the transparent entry: 7 visible entries and it.
    assert result.n_colors == 8
    transparent = rgba[..., 3] == 0
    assert np.all(result.labels[transparent] == t)
    assert not result.image[..., 3][transparent].any()
    _check_coverage(rgba, result, t)
    # The opaque photo stays opaque.
    assert (result.image[..., 3][:, 40:] == 255).all()


def test_transparent_pixels_do_not_pull_the_palette(photo):
    rgba = _rgba_photo(photo)
    other = rgba.copy()
    other[:, :20, :3] = 0
    a = quantize(rgba, 6)
    b = quantize(other, 6)
    # The colours hidden under alpha 0 differ wildly, yet the palettes are identical.
    assert np.array_equal(a.palette, b.palette)


def test_a_faint_pixel_colour_weighs_by_its_alpha():
    # Faint red and faint green are both nearly invisible: what they show, over any
    # background, is almost the same. With k=2 they share one faint entry; the opaque blue
    # and the opaque cyan, equally far apart in colour, would not.
    pixels = np.zeros((10, 12, 4), np.uint8)
    pixels[:, :3] = (255, 0, 0, 6)
    pixels[:, 3:6] = (0, 255, 0, 6)
    pixels[:, 6:] = (0, 0, 255, 255)
    result = quantize(pixels, 2)
    faint = result.palette[result.palette[:, 3] < 20]
    assert faint.shape[0] == 1
    assert result.labels[0, 0] == result.labels[0, 4]
    assert tuple(result.palette[result.labels[0, 8]]) == (0, 0, 255, 255)


def test_fully_transparent_image():
    pixels = np.zeros((8, 8, 4), np.uint8)
    result = quantize(pixels, 4)
    assert result.n_colors == 1 and result.transparent_index == 0
    assert np.array_equal(result.image[..., 3], pixels[..., 3])


def test_progress_runs_from_zero_to_one(photo):
    seen: list[tuple[float, str]] = []
    quantize(photo, 16, progress=lambda f, stage: seen.append((f, stage)))
    fractions = [f for f, _ in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert {"histogram", "clustering"} <= {stage for _, stage in seen}


@pytest.mark.parametrize("dither", DITHERS)
def test_cancel_raises_cancelled(photo, dither):
    calls = {"n": 0}

    def cancel() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    with pytest.raises(Cancelled):
        quantize(photo, 16, dither=dither, cancel=cancel)


def test_cancel_from_another_thread_stops_promptly():
    # A cancel flag set while the engine works must stop it within a fraction of a second.
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(1500, 1500, 3), dtype=np.uint8)
    flag = threading.Event()
    started = threading.Event()
    outcome: dict[str, object] = {}

    def progress(fraction: float, stage: str) -> None:
        if stage == "clustering":
            started.set()

    def work() -> None:
        try:
            quantize(pixels, 256, progress=progress, cancel=flag.is_set)
            outcome["result"] = "finished"
        except Cancelled:
            outcome["result"] = "cancelled"

    thread = threading.Thread(target=work)
    thread.start()
    assert started.wait(60)
    flag.set()
    thread.join(timeout=0.5)
    assert not thread.is_alive(), "quantize did not stop within 0.5 s of cancel"
    assert outcome["result"] == "cancelled"


def test_input_is_not_modified(photo):
    before = photo.copy()
    quantize(photo, 8, dither="floyd-steinberg")
    assert np.array_equal(photo, before)


def test_non_contiguous_input(photo):
    view = photo[:, ::2]
    result = quantize(view, 8)
    _check_invariants(view, result, 8)


@pytest.mark.parametrize("dither", DITHERS)
def test_threads_do_not_change_the_result(photo, monkeypatch, dither):
    # Small chunks and the large-image path, so the work really is split into parts.
    monkeypatch.setattr(histogram_module, "EXACT_MAX_PIXELS", 100)
    monkeypatch.setattr(packing, "CHUNK", 1024)
    big = np.tile(photo, (3, 3, 1))
    seen: list[float] = []
    single = quantize(big, 48, dither=dither, progress=lambda f, s: seen.append(f), threads=1)
    for threads in (2, 4):
        threaded = quantize(big, 48, dither=dither, threads=threads)
        assert single.image.tobytes() == threaded.image.tobytes()
        assert single.labels.tobytes() == threaded.labels.tobytes()
        assert single.palette.tobytes() == threaded.palette.tobytes()
        assert np.array_equal(single.counts, threaded.counts)
    # Run one after another, the parts still report steady progress up to 1.
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 10


def _quantize_large_in_child(pixels: np.ndarray) -> int:
    histogram_module.EXACT_MAX_PIXELS = 100
    packing.CHUNK = 1024
    return quantize(pixels, 8).n_colors


def test_engine_threads_survive_fork(photo):
    # The command line forks worker processes after the parent may have started the engine's
    # thread pool; the children must not wait on threads that did not come along.
    import multiprocessing

    big = np.tile(photo, (3, 3, 1))
    saved = histogram_module.EXACT_MAX_PIXELS, packing.CHUNK
    try:
        histogram_module.EXACT_MAX_PIXELS, packing.CHUNK = 100, 1024
        quantize(big, 8)  # starts the pool in this process
    finally:
        histogram_module.EXACT_MAX_PIXELS, packing.CHUNK = saved
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply_async(_quantize_large_in_child, (big,)).get(timeout=60) == 8


# Large-image paths with alpha: the binned histogram (and the sampled one, which RGBA skips).


@pytest.fixture
def binned(monkeypatch):
    """Force the large-image paths (binned histograms) on small arrays."""
    monkeypatch.setattr(histogram_module, "EXACT_MAX_PIXELS", 100)
    monkeypatch.setattr(alpha_histogram, "EXACT_MAX_PIXELS", 100)


def _check_coverage(rgba: np.ndarray, result, t: int) -> None:
    """Nearly invisible pixels may fall to the transparent entry; without error diffusion
    nothing half visible does, and with it the soft edge keeps its coverage on average."""
    if result.dither == "floyd-steinberg":
        edge = (rgba[..., 3] > 0) & (rgba[..., 3] < 255)
        shown = result.image[..., 3][edge].astype(float).mean()
        assert abs(shown - rgba[..., 3][edge].mean()) < 20
    else:
        assert not np.any((result.labels == t) & (rgba[..., 3] > 127))


def _binary_photo(photo: np.ndarray) -> np.ndarray:
    """The photo with a fully transparent margin (garbage colours under it), no soft edge."""
    rgba = _rgba_photo(photo)
    rgba[..., 3] = np.where(rgba[..., 3] < 128, 0, 255)
    return rgba


@pytest.mark.parametrize("dither", DITHERS)
@pytest.mark.parametrize("k", [8, 48])  # mapped by 18-bit bin, and by 21-bit cell
def test_binary_alpha_through_the_binned_path(photo, binned, k, dither):
    rgba = _binary_photo(photo)
    result = quantize(rgba, k, dither=dither)
    _check_invariants(rgba, result, k)
    assert result.distinct_colors is None  # the binned histogram, not the exact one
    assert np.array_equal(result.image[..., 3], rgba[..., 3])
    transparent = rgba[..., 3] == 0
    t = result.transparent_index
    assert t is not None and result.counts[t] == transparent.sum()
    assert np.all(result.labels[transparent] == t)
    assert not np.any(result.labels[~transparent] == t)


@pytest.mark.parametrize("dither", DITHERS)
@pytest.mark.parametrize("k", [8, 48])
def test_soft_alpha_through_the_binned_path(photo, binned, k, dither):
    rgba = _rgba_photo(photo)
    result = quantize(rgba, k, dither=dither)
    _check_invariants(rgba, result, k)
    assert result.distinct_colors is None
    transparent = rgba[..., 3] == 0
    t = result.transparent_index
    assert t is not None and np.all(result.labels[transparent] == t)
    assert not result.image[transparent, 3].any()
    _check_coverage(rgba, result, t)


def test_rgba_binned_paths_keep_the_quality_of_the_exact_ones(photo, monkeypatch):
    rgba = _binary_photo(photo)
    visible = rgba[..., 3] > 0
    exact = quantize(rgba, 16)
    soft = _rgba_photo(photo)
    exact_soft = quantize(soft, 16)
    monkeypatch.setattr(histogram_module, "EXACT_MAX_PIXELS", 100)
    monkeypatch.setattr(alpha_histogram, "EXACT_MAX_PIXELS", 100)
    binned = quantize(rgba, 16)
    de_exact = mean_delta_e2000(photo[visible], exact.image[..., :3][visible])
    assert mean_delta_e2000(photo[visible], binned.image[..., :3][visible]) < de_exact + 0.5
    score_exact = sum(composite_delta_e2000(soft, exact_soft.image)) / 2
    score_binned = sum(composite_delta_e2000(soft, quantize(soft, 16).image)) / 2
    assert score_binned < score_exact + 0.5
    # Colours hidden under alpha 0 pull neither palette.
    other = rgba.copy()
    other[~visible, :3] = 0
    assert np.array_equal(quantize(other, 16).palette, binned.palette)


@pytest.mark.parametrize("dither", DITHERS)
def test_rgba_asked_to_sample_counts_every_pixel(photo, sampled, monkeypatch, dither):
    # The sample reads RGB words only, so RGBA images count every pixel: the same result as
    # without sampling, and a histogram that is not marked as sampled.
    rgba = _binary_photo(photo)
    assert not histogram_module.histogram(rgba, 8, sample=True).sampled
    assert histogram_module.histogram(photo, 8, sample=True).sampled
    result = quantize(rgba, 8, dither=dither)
    _check_invariants(rgba, result, 8)
    assert np.array_equal(result.image[..., 3], rgba[..., 3])
    monkeypatch.setattr(pipeline_module, "SAMPLE_MIN_PIXELS", 10**12)
    whole = quantize(rgba, 8, dither=dither)
    assert whole.image.tobytes() == result.image.tobytes()
    assert whole.labels.tobytes() == result.labels.tobytes()


def test_binned_histogram_falls_back_to_exact_when_a_bin_holds_two_colours(binned):
    # Four colours in three 18-bit bins: (10, 10, 10) and (11, 10, 10) share a bin. The binned
    # histogram has at most k entries, the check finds the shared bin, and the exact
    # histogram is taken instead, so both colours are kept.
    colours = np.array([[10, 10, 10], [11, 10, 10], [200, 30, 30], [30, 30, 200]], dtype=np.uint8)
    pixels = colours[np.arange(50 * 60).reshape(50, 60) % 4]
    hist = histogram_module.histogram(pixels, 8)
    assert hist.exact and hist.inverse is not None
    assert {tuple(c) for c in hist.colors} == {tuple(c) for c in colours}
    result = quantize(pixels, 8)
    assert result.exhausted and result.n_colors == 4 and result.distinct_colors == 4
    assert np.array_equal(result.image, pixels)


def test_binned_histogram_stays_binned_with_more_bins_than_k(photo, binned):
    hist = histogram_module.histogram(photo, 8)
    assert not hist.exact and hist.inverse is None
