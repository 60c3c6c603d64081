"""Deleting a palette entry sends each of its pixels to *its own* nearest remaining entry,
measured from the pixel's source colour in the result's working space (colour and alpha for
soft edges), not all of them to the one entry nearest the deleted colour."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from kquant_gui import delete_color, quantize, remap
from kquant_gui.engine import apply_edits, apply_plan, plan_delete, reassign
from kquant_gui.engine.alpha import to_alpha_space
from kquant_gui.engine.colorspace import to_space


@pytest.fixture(autouse=True, params=["sorted keys", "key table"])
def key_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test twice: small images sort the deleted entry's colours, large ones mark them
    in a table of every 24-bit colour; both must give the same labels."""
    if request.param == "key table":
        monkeypatch.setattr(reassign, "SMALL_PIXELS", 0)


def _gradient(h: int = 120, w: int = 160, alpha: np.ndarray | None = None) -> np.ndarray:
    """Smooth colour ramps plus noise: every entry holds pixels of many colours."""
    rng = np.random.default_rng(11)
    y, x = np.mgrid[0:h, 0:w]
    img = np.empty((h, w, 3 if alpha is None else 4), dtype=np.uint8)
    img[..., 0] = x * 255 // (w - 1)
    img[..., 1] = y * 255 // (h - 1)
    img[..., 2] = rng.integers(0, 256, (h, w))
    if alpha is not None:
        img[..., 3] = alpha
    return img


def _expected(result, pixels: np.ndarray, index: int, candidates: list[int], soft: bool):
    """The new label of each of the deleted entry's pixels: a direct per-pixel argmin over
    the candidates (old indices), renumbered for the edited palette."""
    mask = result.labels == index
    px = pixels[mask]
    pal = result.palette[candidates]
    if soft:
        coords = to_alpha_space(px, result.color_space)
        centres = to_alpha_space(pal, result.color_space)
    else:
        coords = to_space(px[:, :3], result.color_space)
        centres = to_space(pal[:, :3], result.color_space)
    nearest = np.argmin(((coords[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    old = np.asarray(candidates)[nearest]
    return mask, old - (old > index)


def _delete_and_check(q, pixels: np.ndarray, index: int, others: list[int], soft: bool):
    """Delete entry ``index`` of ``q``; check every pixel against :func:`_expected` and the
    result's consistency; return the edited result and the deleted pixels' new labels."""
    edited = delete_color(q, index)
    mask, want = _expected(q, pixels, index, others, soft=soft)
    assert np.array_equal(edited.labels[mask], want)
    _check_consistent(edited, q, index)
    return edited, want


def _check_consistent(edited, before, index: int) -> None:
    assert np.array_equal(edited.image, edited.palette[edited.labels])
    assert (
        edited.counts.tolist()
        == np.bincount(edited.labels.ravel(), minlength=edited.n_colors).tolist()
    )
    assert edited.counts.sum() == before.counts.sum()
    # Every other pixel keeps its entry (renumbered past the deleted one).
    kept = before.labels != index
    old = before.labels[kept].astype(int)
    assert np.array_equal(edited.labels[kept], old - (old > index))


@pytest.mark.parametrize("space", ["lab", "oklab", "rgb"])
@pytest.mark.parametrize("dither", ["none", "ordered", "floyd-steinberg"])
def test_each_pixel_goes_to_its_own_nearest_entry(space: str, dither: str) -> None:
    pixels = _gradient()
    q = quantize(pixels, 6, color_space=space, dither=dither)
    assert q.source is pixels  # a reference, not a copy
    index = 1
    others = [j for j in range(q.n_colors) if j != index]
    edited, want = _delete_and_check(q, pixels, index, others, soft=False)
    # Not one destination for the whole entry: that is the point.
    assert np.unique(want).size > 1
    assert edited.edits[-1] == {"op": "delete", "index": index}


def test_light_and_dark_parts_of_a_grey_go_their_own_ways() -> None:
    # A mid grey holding light and dark pixels: the light ones go to the light grey, the
    # dark ones to the dark brown, though the mid grey itself is nearer the light grey
    # (where the whole entry went before).
    light, mid, dark = (200, 200, 200), (128, 128, 128), (60, 50, 50)
    # (The last pixel is one of them: an RGB image's last pixel is read on its own.)
    row = [[150] * 3] * 4 + [[100] * 3] * 4 + [list(light), list(dark), [100] * 3]
    img = np.array([row], dtype=np.uint8)
    q = remap(img, np.array([light, mid, dark], np.uint8))
    assert q.labels[0].tolist() == [1] * 8 + [0, 2, 1]
    edited = delete_color(q, 1)
    assert edited.palette.tolist() == [list(light), list(dark)]
    assert edited.labels[0].tolist() == [0] * 4 + [1] * 4 + [0, 1, 1]
    assert edited.counts.tolist() == [5, 6]
    whole = apply_plan(replace(q, source=None), plan_delete(replace(q, source=None), 1))
    assert whole.labels[0].tolist() == [0] * 9 + [1, 0]


def test_hard_alpha_keeps_its_transparent_entry() -> None:
    rng = np.random.default_rng(5)
    alpha = np.where(rng.random((120, 160)) < 0.3, 0, 255).astype(np.uint8)
    pixels = _gradient(alpha=alpha)
    q = quantize(pixels, 6)
    t = q.transparent_index
    assert t is not None and q.palette.shape[1] == 4
    index = next(j for j in range(q.n_colors) if j != t)
    others = [j for j in range(q.n_colors) if j not in (index, t)]
    edited, _ = _delete_and_check(q, pixels, index, others, soft=False)
    # Fully transparent pixels keep the shared entry, which no visible pixel joins.
    new_t = edited.transparent_index
    assert new_t == t - (t > index)
    assert np.array_equal(edited.labels == new_t, alpha == 0)


@pytest.mark.parametrize("dither", ["none", "floyd-steinberg"])
def test_soft_alpha_measures_colour_and_alpha(dither: str) -> None:
    x = np.mgrid[0:120, 0:160][1]
    alpha = np.clip((x * 3) % 300, 0, 255).astype(np.uint8)  # a ramp with transparent bands
    pixels = _gradient(alpha=alpha)
    q = quantize(pixels, 6, dither=dither)
    assert q.palette.shape[1] == 4 and ((q.palette[:, 3] > 0) & (q.palette[:, 3] < 255)).any()
    t = q.transparent_index
    index = int(np.argmax(np.where(np.arange(q.n_colors) == t, -1, q.counts)))
    # As the engine maps soft pixels: the transparent entry is a candidate too.
    others = [j for j in range(q.n_colors) if j != index]
    _, want = _delete_and_check(q, pixels, index, others, soft=True)
    assert np.unique(want).size > 1


def test_a_result_without_source_moves_the_whole_entry() -> None:
    pixels = _gradient()
    q = replace(quantize(pixels, 6), source=None)
    plan = plan_delete(q, 1)
    assert not plan.per_pixel
    edited = apply_plan(q, plan)
    # Documented fallback: all of the entry's pixels go to the one nearest entry.
    assert np.unique(edited.labels[q.labels == 1]).size == 1
    _check_consistent(edited, q, 1)


def test_a_source_of_another_size_is_refused() -> None:
    q = quantize(_gradient(), 4)
    with pytest.raises(ValueError, match="source"):
        delete_color(replace(q, source=_gradient(60, 80)), 1)


def test_deletes_replay_to_the_same_bytes() -> None:
    pixels = _gradient()
    q = quantize(pixels, 8, dither="ordered", seed=3)
    edited = delete_color(delete_color(q, 2), 0)
    again = apply_edits(quantize(pixels, 8, dither="ordered", seed=3), edited.edits)
    assert again.image.tobytes() == edited.image.tobytes()
    assert np.array_equal(again.labels, edited.labels)
    assert np.array_equal(again.counts, edited.counts)


def test_the_plan_says_what_apply_gives() -> None:
    q = quantize(_gradient(), 6)
    plan = plan_delete(q, 2)
    edited = apply_plan(q, plan)
    assert plan.per_pixel
    assert np.array_equal(plan.counts(q.counts), edited.counts)
    assert plan.labels(q.labels) is edited.labels
    with pytest.raises(ValueError, match="pixel by pixel"):
        plan.colors()
    # The original result is untouched.
    assert np.array_equal(q.image, q.palette[q.labels]) and q.n_colors == 6


def test_a_remapped_image_keeps_its_own_alpha_through_edits() -> None:
    # remap maps colours only and keeps each pixel's alpha; fully transparent pixels share
    # entry 0. Deleting entry 0 sends them (by the engine's rule) to the new entry 0, and
    # no edit makes them visible.
    pixels = _gradient(alpha=np.full((120, 160), 255, np.uint8))
    pixels[:30, :, 3] = 0
    pixels[30:40, :, 3] = 128
    q = remap(pixels, np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8))
    assert q.transparent_index is None and np.array_equal(q.image[..., 3], pixels[..., 3])
    edited = delete_color(q, 0)
    assert np.array_equal(edited.image[..., 3], pixels[..., 3])
    assert np.all(edited.labels[:30] == 0)
    visible = pixels[..., 3] > 0
    _, want = _expected(q, pixels, 0, [1, 2], soft=False)
    moved = (q.labels == 0)[visible]
    assert np.array_equal(edited.labels[visible][moved], want[visible[q.labels == 0]])
    assert np.array_equal(edited.image[..., :3], edited.palette[edited.labels][..., :3])
