"""Editing a result's palette: replace, delete or merge entries, without re-clustering.

An edit renumbers the labels (delete, merge) and repaints the image from them, so it is fast
enough to follow a colour dialog live. Replace and merge need the labels alone; a delete
also looks at the source pixels of the deleted entry (``Quantization.source``), so that
each goes to its own nearest remaining entry (:mod:`.reassign`). Each edit is recorded in
``Quantization.edits`` so that the same settings plus the same edits give the same bytes
(see :func:`apply_edits`).

Every edit is made in two stages: a plan (:class:`EditPlan`: the new palette and where each
old label goes, a few microseconds; for a delete, the new labels themselves, tens of
milliseconds on 24 MP) and its application to the full-size image (:func:`apply_plan`, tens
of milliseconds on 24 MP). A viewer can paint a display-sized copy from the plan alone and
show it before the full-size result exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from . import packing
from .colorspace import from_space, to_space
from .fixed import parse_hex, validate_colors
from .paint import paint_labels
from .parallel import run_parts
from .reassign import Reassigned, reassign, soft_result
from .result import Quantization

__all__ = [
    "EditPlan",
    "apply_edits",
    "apply_plan",
    "delete_color",
    "merge_colors",
    "plan_delete",
    "plan_merge",
    "plan_replace",
    "replace_color",
]


@dataclass(frozen=True)
class EditPlan:
    """What one edit does to a result, before any pixel is touched.

    Attributes
    ----------
    palette : ndarray of uint8, shape (m, 3) or (m, 4)
        The palette after the edit.
    table : ndarray of intp, shape (n,), or None
        New label of each old label (n entries before the edit); None when the labels stay.
        For a delete made pixel by pixel (``reassigned`` set), the deleted label's value is
        where the whole entry would go without source pixels; its pixels go elsewhere.
    transparent_index : int or None
        Entry of fully transparent pixels after the edit.
    edit : dict
        The record appended to ``Quantization.edits``.
    reassigned : Reassigned or None
        The full-size labels and counts after a delete whose pixels each went to their own
        nearest remaining entry (they are then no function of the old label alone).
    """

    palette: np.ndarray
    table: np.ndarray | None
    transparent_index: int | None
    edit: dict[str, Any]
    reassigned: Reassigned | None = None

    @property
    def per_pixel(self) -> bool:
        """True when the new labels are not a function of the old ones (see ``reassigned``):
        the edited image is then ``palette[reassigned.labels]``, not :meth:`colors` of the
        old labels."""
        return self.reassigned is not None

    def colors(self) -> np.ndarray:
        """The colour each *old* label shows after the edit, shape (n, C) uint8: painting
        the old labels with it gives the edited image without relabelling.

        Raises
        ------
        ValueError
            For a plan made pixel by pixel (:attr:`per_pixel`): one old label then shows
            several colours.
        """
        if self.reassigned is not None:
            raise ValueError("a delete made pixel by pixel has no colour per old label")
        return self.palette if self.table is None else self.palette[self.table]

    def counts(self, counts: np.ndarray) -> np.ndarray:
        """Pixels per entry after the edit, from ``counts`` (shape (n,)) before it."""
        if self.reassigned is not None:
            return self.reassigned.counts
        if self.table is None:
            return counts
        out = np.zeros(self.palette.shape[0], dtype=counts.dtype)
        np.add.at(out, self.table, counts)
        return out

    def labels(self, labels: np.ndarray) -> np.ndarray:
        """``labels`` (uint8, shape (H, W), those of the result planned on) renumbered for
        the edited palette (a new array unless the labels stay)."""
        if self.reassigned is not None:
            return self.reassigned.labels
        return labels if self.table is None else _relabelled(labels, self.table)


def _hex(rgb: np.ndarray) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(v) for v in rgb[:3]))


def _index(result: Quantization, index: object) -> int:
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise ValueError(f"palette index must be a whole number, got {index!r}")
    if not 0 <= int(index) < result.n_colors:
        raise ValueError(f"palette index must be from 0 to {result.n_colors - 1}, got {index}")
    return int(index)


def _visible_index(result: Quantization, index: object, what: str) -> int:
    i = _index(result, index)
    if i == result.transparent_index:
        raise ValueError(f"cannot {what} the entry of fully transparent pixels (index {i})")
    return i


def _relabelled(labels: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[labels]`` into a new array, in chunks on the engine's threads (a 24 MP gather
    in one go converts every label to intp first)."""
    out = np.empty_like(labels)
    src, dst = labels.reshape(-1), out.reshape(-1)
    table = table.astype(np.uint8)

    def part(_: int, start: int, stop: int) -> None:
        for s in range(start, stop, packing.CHUNK):
            e = min(stop, s + packing.CHUNK)
            np.take(table, src[s:e], out=dst[s:e])

    run_parts(part, src.shape[0], min_size=packing.CHUNK, align=packing.CHUNK)
    return out


def apply_plan(result: Quantization, plan: EditPlan) -> Quantization:
    """``result`` edited by ``plan`` (made from ``result`` by one of the ``plan_*``
    functions): labels renumbered, image repainted, edit recorded.

    Returns
    -------
    Quantization
        A new result; ``result`` is left untouched.
    """
    labels = plan.labels(result.labels)
    palette = plan.palette
    if result.remapped and result.has_alpha:
        # A remapped image keeps each pixel's own alpha (remap maps colours only): paint the
        # colours and keep the alpha the image has, or its transparent pixels turn opaque.
        palette = palette[:, :3]
    image, counts = paint_labels(result.image, palette, labels)
    return replace(
        result,
        image=image,
        palette=plan.palette,
        labels=labels,
        counts=counts,
        transparent_index=plan.transparent_index,
        edits=(*result.edits, plan.edit),
        timings={},
    )


def replace_color(result: Quantization, index: int, color: object) -> Quantization:
    """A copy of ``result`` whose entry ``index`` has the colour ``color``.

    Parameters
    ----------
    result : Quantization
    index : int
        Entry to change, 0 to n-1.
    color : array_like of 3 (or 4) ints 0-255, or a hex string like ``"#c8102e"``
        The new sRGB colour (an alpha value is ignored: pixels keep their own).

    Returns
    -------
    Quantization
        Same labels and counts; the image repainted.
    """
    return apply_plan(result, plan_replace(result, index, color))


def plan_replace(result: Quantization, index: int, color: object) -> EditPlan:
    """The plan of :func:`replace_color` (same parameters)."""
    i = _index(result, index)
    if isinstance(color, str):
        color = parse_hex(color, "color")
    rgb = validate_colors([color], "color")[0, :3]
    palette = result.palette.copy()
    palette[i, :3] = rgb
    edit = {"op": "replace", "index": i, "color": _hex(rgb)}
    return EditPlan(palette, None, result.transparent_index, edit)


def delete_color(result: Quantization, index: int) -> Quantization:
    """A copy of ``result`` without entry ``index``; each of its pixels goes to *its own*
    nearest remaining entry, measured from the pixel's source colour in the result's
    working space (see :mod:`.reassign`). Later entries move down by one.

    The distance is the one the engine maps pixels by: colour alone (the remaining visible
    entries), or colour and alpha for a result with soft edges (where, as there, the shared
    fully transparent entry is among the candidates; it is never deleted or changed).
    Dithered results are not re-dithered: the deleted entry's pixels take their nearest
    remaining entry undithered. Every other pixel keeps its entry; fixed colours stay.

    A result without ``source`` (built by hand) falls back to moving the whole entry to the
    remaining entry nearest to its colour.

    Raises
    ------
    ValueError
        For the last visible entry, the entry of fully transparent pixels, or a ``source``
        whose height and width are not those of the labels.
    """
    return apply_plan(result, plan_delete(result, index))


def plan_delete(result: Quantization, index: int) -> EditPlan:
    """The plan of :func:`delete_color` (same parameters and errors). With the result's
    source pixels it holds the new labels (:attr:`EditPlan.reassigned`), worked out here."""
    i = _visible_index(result, index, "delete")
    others = [j for j in range(result.n_colors) if j not in (i, result.transparent_index)]
    if not others:
        raise ValueError("cannot delete the only colour of the palette")
    coords = to_space(result.palette[:, :3], result.color_space)
    d2 = np.sum((coords[others] - coords[i]) ** 2, axis=1)
    target = others[int(np.argmin(d2))]
    plan = _remove(result, [i], target, result.palette[target], {"op": "delete", "index": i})
    source = result.source
    if source is None:
        return plan
    if source.shape[:2] != result.labels.shape:
        raise ValueError(
            f"the result's source pixels have shape {source.shape}, "
            f"its labels {result.labels.shape}: they are not the pixels it was made from"
        )
    soft = soft_result(result, source)
    if soft and result.transparent_index is not None:
        others = sorted([*others, result.transparent_index])
    return replace(plan, reassigned=reassign(result, i, others, soft=soft))


def merge_colors(result: Quantization, indices: Iterable[int]) -> Quantization:
    """A copy of ``result`` in which the entries ``indices`` become one, at the lowest of
    those indices, coloured by their pixel-weighted mean in the result's colour space (and,
    for an RGBA palette, the weighted mean alpha).

    Raises
    ------
    ValueError
        For fewer than two distinct entries, or the entry of fully transparent pixels.
    """
    return apply_plan(result, plan_merge(result, indices))


def plan_merge(result: Quantization, indices: Iterable[int]) -> EditPlan:
    """The plan of :func:`merge_colors` (same parameters and errors)."""
    idx = sorted({_visible_index(result, j, "merge") for j in indices})
    if len(idx) < 2:
        raise ValueError(f"merge needs at least two different entries, got {idx}")
    coords = to_space(result.palette[idx, :3], result.color_space)
    w = result.counts[idx].astype(np.float64)
    if w.sum() <= 0:
        w = np.ones_like(w)
    mean = from_space((w @ coords / w.sum())[None, :], result.color_space)[0]
    if result.palette.shape[1] == 4:
        # An RGBA palette (soft edges): the alpha is the weighted mean too.
        alpha = np.rint(w @ result.palette[idx, 3].astype(np.float64) / w.sum())
        mean = np.append(mean, np.uint8(alpha))
    return _remove(result, idx[1:], idx[0], mean, {"op": "merge", "indices": idx})


def _remove(
    result: Quantization,
    gone: list[int],
    target: int,
    color: np.ndarray,
    edit: dict[str, Any],
) -> EditPlan:
    """Entries ``gone`` relabelled to ``target`` (given ``color``), then dropped."""
    n = result.n_colors
    keep = np.ones(n, dtype=bool)
    keep[gone] = False
    new_index = np.cumsum(keep) - 1
    table = np.arange(n)
    table[gone] = target
    table = new_index[table]
    palette = result.palette.copy()
    palette[target, : color.shape[0]] = color
    palette = palette[keep]
    t = result.transparent_index
    return EditPlan(palette, table, None if t is None else int(new_index[t]), edit)


def apply_edits(result: Quantization, edits: Iterable[Mapping[str, Any]]) -> Quantization:
    """Replay recorded edits (``Quantization.edits`` of another result) on ``result``.

    Raises
    ------
    ValueError
        For an edit that is not one of replace, delete, merge or does not fit the palette.
    """
    for e in edits:
        op = e.get("op") if isinstance(e, Mapping) else None
        if op == "replace":
            result = replace_color(result, e.get("index"), str(e.get("color")))
        elif op == "delete":
            result = delete_color(result, e.get("index"))
        elif op == "merge":
            result = merge_colors(result, e.get("indices") or [])
        else:
            raise ValueError(f"unknown palette edit {e!r}; expected op replace, delete or merge")
    return result
