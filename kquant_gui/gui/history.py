"""Undo and redo: every step is a whole recipe, and recent results are kept to show at once.

A step of the window's history is the :class:`.session.Recipe` before and after a change
(k, colour space, dithering, engine, locked colours, a palette loaded, a palette edit). Undoing
asks the session for the old recipe; :class:`ResultCache` still holds its result in most
cases, so it is on screen at once, and otherwise it is computed again (the engine is
deterministic, so the bytes are the same). The cache is bounded by memory, not by count.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

if TYPE_CHECKING:
    from . import tasks
    from .session import Recipe

#: Bytes of results (image, labels, display copy) kept for undo: ten 24 MP results, or
#: hundreds of screen-sized ones.
CACHE_BYTES = 1_200_000_000


def result_bytes(outcome: tasks.Quantized) -> int:
    """Memory a result holds: its image, labels and display preview."""
    arrays = [getattr(outcome.result, "image", None), getattr(outcome.result, "labels", None)]
    d = outcome.display
    if d is not None and d.factor > 1:
        arrays += [d.preview, d.preview_labels]
    return sum(a.nbytes for a in arrays if a is not None)


class ResultCache:
    """Results by recipe key, least recently used dropped first beyond ``budget`` bytes."""

    def __init__(self, budget: int = CACHE_BYTES) -> None:
        self.budget = budget
        self._items: OrderedDict[str, tasks.Quantized] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        """Bytes held now."""
        return self._bytes

    def get(self, key: str) -> tasks.Quantized | None:
        """The result stored under ``key`` (now the most recently used), or None."""
        outcome = self._items.get(key)
        if outcome is not None:
            self._items.move_to_end(key)
        return outcome

    def put(self, key: str, outcome: tasks.Quantized) -> None:
        """Store ``outcome``; older results go while over budget (the newest always stays)."""
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= result_bytes(old)
        self._items[key] = outcome
        self._bytes += result_bytes(outcome)
        while self._bytes > self.budget and len(self._items) > 1:
            _, dropped = self._items.popitem(last=False)
            self._bytes -= result_bytes(dropped)

    def clear(self) -> None:
        """Forget everything (another image was opened)."""
        self._items.clear()
        self._bytes = 0


#: Id of steps that only change k: a slider drag merges into one step.
K_STEP_ID = 1015


class RecipeCommand(QUndoCommand):
    """One step: from recipe ``before`` to ``after``; ``apply`` makes a recipe current."""

    def __init__(
        self, text: str, before: Recipe, after: Recipe, apply: Callable[[Recipe], None]
    ) -> None:
        super().__init__(text)
        self.before, self.after, self._apply = before, after, apply
        self._k_only = before.k != after.k and before.with_k(after.k) == after

    def redo(self) -> None:
        self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)

    def id(self) -> int:
        return K_STEP_ID if self._k_only else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, RecipeCommand) or other.id() != K_STEP_ID:
            return False
        self.after = other.after
        self.setText(f"k = {self.after.k}")
        if self.after == self.before:
            self.setObsolete(True)
        return True


def describe_change(before: Recipe, after: Recipe) -> str:
    """Words for a history step between two recipes ("k = 12", "Dithering: ordered")."""
    if after.edits != before.edits and len(after.edits) == len(before.edits) + 1:
        e = after.edits[-1]
        if e["op"] == "replace":
            return f"Edit colour {e['index'] + 1} to {e['color']}"
        if e["op"] == "delete":
            return f"Delete colour {e['index'] + 1}"
        return "Merge colours " + ", ".join(str(i + 1) for i in e["indices"])
    if after.remap and after.fixed != before.fixed:
        return f"Load palette ({len(after.fixed)} colours)"
    if after.fixed != before.fixed:
        added = [c for c in after.fixed if c not in before.fixed]
        if len(added) == 1 and len(after.fixed) == len(before.fixed) + 1:
            return f"Lock {added[0]}"
        gone = [c for c in before.fixed if c not in after.fixed]
        if len(gone) == 1 and not added:
            return f"Unlock {gone[0]}"
        return f"Lock {len(after.fixed)} colours" if after.fixed else "Unlock all colours"
    changes = []
    if after.k != before.k:
        changes.append(f"k = {after.k}")
    if after.color_space != before.color_space:
        changes.append(f"Colour space: {after.color_space}")
    if after.dither != before.dither:
        changes.append(f"Dithering: {after.dither}")
    if after.dither_strength != before.dither_strength:
        changes.append(f"Dithering strength {after.dither_strength:.0%}")
    if after.engine != before.engine:
        changes.append(
            "Engine: " + ("scikit-learn KMeans" if after.engine == "sklearn" else "numpy")
        )
    if after.seed != before.seed:
        changes.append(f"Seed {after.seed}")
    return ", ".join(changes) or "Settings"
