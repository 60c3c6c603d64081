"""The window's session: which image is open, which result is shown, what is running.

:class:`Session` is the one task object of a window (the window never sees a job id). It
turns requests (open this file, the settings changed, cancel, save) into jobs for the
:class:`.worker.BackgroundWorker`, drops every outcome of a job that a later request
superseded, and reports what is left as signals the window draws. It draws nothing itself,
so it is tested without a window; its only Qt parts are signals and the debounce timer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance, Slot

from kquant_gui.recipe import Recipe as EngineRecipe

from ..names import printable_name
from . import tasks
from .history import ResultCache

#: Quiet time after the last settings change before the trailing re-quantization starts.
DEBOUNCE_MS = 150


@dataclass(frozen=True)
class Recipe:
    """The settings a quantization runs with, as the engine spells them, plus the colours
    locked (``fixed``; with ``remap``, the palette file the image is mapped onto), the palette
    edits made since (see :class:`kquant_gui.recipe.Recipe`) and the ``engine`` that
    clusters ("numpy", or "sklearn": the reference).

    Locked colours need the numpy engine (scikit-learn's KMeans cannot hold a centre still),
    so a recipe with ``fixed`` colours always names it.
    """

    k: int = 8
    color_space: str = "lab"
    dither: str = "none"
    dither_strength: float = 1.0
    seed: int = 0
    fixed: tuple[str, ...] = ()
    remap: bool = False
    edits: tuple[Any, ...] = ()
    engine: str = "numpy"

    def __post_init__(self) -> None:
        if self.fixed and self.engine != "numpy":
            object.__setattr__(self, "engine", "numpy")

    def to_engine(self) -> EngineRecipe:
        """The same recipe for the engine (and the CLI's ``--recipe``)."""
        return EngineRecipe(
            k=self.k,
            color_space=self.color_space,
            dither=self.dither,
            dither_strength=self.dither_strength,
            seed=self.seed,
            fixed=self.fixed,
            remap=self.remap,
            engine=None if self.engine == "numpy" else self.engine,
            edits=self.edits,
        )

    @classmethod
    def from_engine(cls, r: EngineRecipe) -> Recipe:
        """A window recipe from the engine's (e.g. one read from a JSON file)."""
        return cls(
            r.k, r.color_space, r.dither, r.dither_strength, r.seed, r.fixed, r.remap, r.edits,
            engine=r.engine or "numpy",
        )  # fmt: skip

    def key(self) -> str:
        """A string that identifies the result of this recipe on one image."""
        return json.dumps(self.to_engine().to_dict(), sort_keys=True)

    def with_k(self, k: int) -> Recipe:
        """This recipe at another k (same locks, edits dropped; a remap becomes k-means)."""
        return self.with_settings(k, self.color_space, self.dither, self.dither_strength)

    def with_settings(
        self,
        k: int,
        color_space: str,
        dither: str,
        dither_strength: float | None = None,
        engine: str | None = None,
    ) -> Recipe:
        """New settings from the controls (``dither_strength``, ``engine`` None: unchanged):
        locks stay; edits (made on the old result) go. A loaded palette stays while k is its
        size, else k-means takes over."""
        if dither_strength is None:
            dither_strength = self.dither_strength
        if engine is None:
            engine = self.engine
        remap = self.remap and k == len(self.fixed)
        fixed = self.fixed if remap or not self.remap else ()
        if not remap and len(fixed) > k:
            fixed = fixed[:k]
        same = (k, color_space, dither, dither_strength, engine) == (
            self.k, self.color_space, self.dither, self.dither_strength, self.engine,
        )  # fmt: skip
        return replace(
            self, k=k, color_space=color_space, dither=dither, dither_strength=dither_strength,
            fixed=fixed, remap=remap, edits=self.edits if same else (), engine=engine,
        )  # fmt: skip


class WorkerSignals(Protocol):
    """The outcome signals of :class:`.worker.Worker` (a fake may stand in for tests)."""

    loaded: SignalInstance
    quantized: SignalInstance
    measured: SignalInstance
    saved: SignalInstance
    failed: SignalInstance
    cancelled: SignalInstance
    progress: SignalInstance


class Runner(Protocol):
    """What the session needs of :class:`.worker.BackgroundWorker`."""

    @property
    def worker(self) -> WorkerSignals: ...

    def new_id(self) -> int: ...

    def submit(self, job: object) -> None: ...

    def cancel_all(self) -> None: ...


class Session(QObject):
    """Source image, shown result and the jobs in flight, for one window.

    Parameters
    ----------
    runner : BackgroundWorker
        Runs the jobs; its ``worker`` reports their outcomes (queued, on this thread).
    parent : QObject, optional

    Signals
    -------
    busyChanged(str)
        What is running now, for the progress bar ("Opening x.png…"); "" when idle.
    progress(float, str)
        Fraction done (0..1) and stage name of the running quantization.
    loaded(object)
        A :class:`tasks.Loaded` became the source; its quantization has started.
    resultReady(object)
        A :class:`tasks.Quantized` of the current source and settings became the result.
    measured(object)
        A :class:`tasks.Measured` for the result shown.
    saved(object)
        A :class:`tasks.Saved`.
    failed(object)
        A :class:`tasks.Failed` subclass of a job still wanted (never of a superseded one).
    cancelled()
        Running work stopped before its result (by :meth:`cancel` or by the engine).
    """

    busyChanged = Signal(str)
    progress = Signal(float, str)
    loaded = Signal(object)
    resultReady = Signal(object)
    measured = Signal(object)
    saved = Signal(object)
    failed = Signal(object)
    cancelled = Signal()

    def __init__(self, runner: Runner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.recipe = Recipe()
        #: The image open now, the result on screen and its figures (None until there are).
        self.source: tasks.Loaded | None = None
        self.shown: tasks.Quantized | None = None
        #: The recipe of the result shown (what a cancel goes back to).
        self.shown_recipe: Recipe | None = None
        self.measurement: tasks.Measured | None = None
        #: Recent results by recipe, so that undo and redo show them at once.
        self.cache = ResultCache()
        self._quantize_key: str | None = None
        # The one job of each kind whose outcome is still wanted; any other id is stale.
        self._load_id: int | None = None
        self._quantize_id: int | None = None
        self._measure_id: int | None = None
        self._save_ids: set[int] = set()
        self._trailing = False
        #: Measure jobs also compute the per-pixel ΔE picture (View > Difference is on).
        self.want_error_map = False
        #: ... and the colour sample of the Colour Space view.
        self.want_space_sample = False
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._debounce_elapsed)
        w = runner.worker
        w.loaded.connect(self._on_loaded)
        w.quantized.connect(self._on_quantized)
        w.measured.connect(self._on_measured)
        w.saved.connect(self._on_saved)
        w.failed.connect(self._on_failed)
        w.cancelled.connect(self._on_cancelled)
        w.progress.connect(self._on_progress)

    # == questions ============================================================================
    def is_busy(self) -> bool:
        """True while an image is being opened or quantized."""
        return self._load_id is not None or self._quantize_id is not None

    def is_loading(self) -> bool:
        """True while an image is being opened (the current one stays until it succeeds)."""
        return self._load_id is not None

    # == requests =============================================================================
    def open(self, path: Path) -> None:
        """Decode ``path`` in the background; whatever ran for the old image is stopped."""
        if path.is_dir():
            reason = f"{printable_name(path.name)}: is a folder, not an image file."
            self.failed.emit(tasks.LoadFailed(0, reason))
            return
        self.runner.cancel_all()
        self._quantize_id = None
        self._load_id = self.runner.new_id()
        self.runner.submit(tasks.LoadJob(self._load_id, path))
        self.busyChanged.emit(f"Opening {printable_name(path.name)}…")

    def set_recipe(self, recipe: Recipe) -> None:
        """Take ``recipe`` for the next quantization without starting one."""
        self.recipe = recipe

    def change_recipe(self, recipe: Recipe) -> None:
        """The user changed a setting: re-quantize, at once after a quiet moment and then at
        most once per :data:`DEBOUNCE_MS` while changes keep coming (a slider drag)."""
        self.recipe = recipe
        # Whatever runs now answers an outdated question: stop it and never show it.
        self.runner.cancel_all()
        self._quantize_id = None
        if self._show_cached():
            return
        if self._debounce.isActive():
            # Inside a burst (slider drag, key repeat): wait for a quiet moment.
            self._trailing = True
            self._debounce.start()
            return
        # First change after a quiet moment: start at once, then hold later ones back.
        self._debounce.start()
        self.quantize()

    def quantize(self) -> None:
        """Queue a quantization of the source with the current recipe."""
        if self.source is None or self._load_id is not None:
            # No image yet, or one still opening: its arrival starts the quantization.
            return
        self.runner.cancel_all()
        if self._show_cached():
            return
        r = self.recipe
        job = tasks.QuantizeJob(
            self.runner.new_id(), self.source.pixels, r.k, r.color_space, r.dither, r.seed,
            dither_strength=r.dither_strength, engine=r.engine, recipe=r.to_engine(),
        )  # fmt: skip
        self._quantize_key = r.key()
        self._quantize_id = job.job_id
        self.runner.submit(job)
        by = " (scikit-learn)" if r.engine == "sklearn" else ""
        self.busyChanged.emit(f"Quantizing to k={job.k}{by}…")

    def _show_cached(self) -> bool:
        """Show the cached result of the current recipe at once, if there is one."""
        if self.source is None or self._load_id is not None:
            return False
        outcome = self.cache.get(self.recipe.key())
        if outcome is None:
            return False
        self._quantize_id = None
        self._trailing = False
        self.shown_recipe = self.recipe
        self._show(outcome)
        return True

    def show_edited(self, recipe: Recipe, outcome: tasks.Quantized) -> None:
        """Make ``outcome``, computed here from the result shown (a palette edit), the result
        of ``recipe``; :meth:`change_recipe` to it then shows it from the cache at once."""
        self.cache.put(recipe.key(), outcome)

    def preview(self, outcome: tasks.Quantized) -> None:
        """Show ``outcome`` for a moment (a colour dialog's live preview); not cached, and
        not measured (the worker would measure every step of a drag of a 24 MP image)."""
        self._show(outcome, measure=False)

    def restore_shown(self) -> None:
        """Show the current recipe's result again after a :meth:`preview`."""
        self._show_cached()

    def new_outcome(
        self, result: Any, seconds: float = 0.0, display: Any = None
    ) -> tasks.Quantized:
        """Wrap a result computed outside the worker (a palette edit, in ``seconds``) as an
        outcome with a fresh id; its display copy is made here unless ``display`` is given."""
        if display is None:
            from .display_image import DisplayImage

            display = DisplayImage.for_result(result)
        return tasks.Quantized(self.runner.new_id(), result, display, seconds)

    def _hold_workers(self) -> None:
        """Keep the workers back while what arrives is drawn (see DrawGate)."""
        gate = getattr(self.runner, "gate", None)
        if gate is not None:
            gate.hold_for_arrival()

    def _show(self, outcome: tasks.Quantized, *, measure: bool = True) -> None:
        self._hold_workers()
        self.shown = outcome
        self.measurement = None
        self.busyChanged.emit("")
        self.resultReady.emit(outcome)
        if measure:
            QTimer.singleShot(0, self, self.measure)

    def measure(self) -> None:
        """Queue the status-bar figures of the result shown (skipped while a newer runs)."""
        if self.shown is None or self.source is None or self._quantize_id is not None:
            return
        job = tasks.MeasureJob(
            self.runner.new_id(),
            self.source.pixels,
            self.shown.result,
            with_error_map=self.want_error_map,
            with_space_sample=self.want_space_sample,
        )
        self._measure_id = job.job_id
        self.runner.submit(job)

    def set_error_map_wanted(self, wanted: bool) -> None:
        """Compute the per-pixel ΔE picture with every measurement (re-measuring the result
        shown now if its measurement lacks it)."""
        self.want_error_map = wanted
        m = self.measurement
        if wanted and self.shown is not None and (m is None or m.error_map is None):
            self.measure()

    def set_space_sample_wanted(self, wanted: bool) -> None:
        """Sample the colours for the Colour Space view with every measurement (re-measuring
        the result shown now if its measurement lacks the sample)."""
        self.want_space_sample = wanted
        m = self.measurement
        if wanted and self.shown is not None and (m is None or m.space_sample is None):
            self.measure()

    def cancel(self) -> bool:
        """Stop opening and quantizing; returns False when nothing was running."""
        if not self.is_busy():
            return False
        self.runner.cancel_all()
        self._quantize_id = None
        self._trailing = False
        self._debounce.stop()
        # Decoding cannot be interrupted; its result is simply ignored.
        self._load_id = None
        self.busyChanged.emit("")
        self.cancelled.emit()
        return True

    def save(self, path: Path, kind: str, overwrite: bool) -> bool:
        """Write the result shown as an image (``kind="image"``) or a palette file."""
        if self.shown is None or self.source is None:
            return False
        job_id = self.runner.new_id()
        self._save_ids.add(job_id)
        self.runner.submit(
            tasks.SaveJob(job_id, self.shown.result, path, kind, self.source.image, overwrite)
        )
        return True

    def shutdown(self) -> None:
        """Stop the debounce timer: no job starts after this."""
        self._debounce.stop()
        self._trailing = False

    # == outcomes =============================================================================
    @Slot()
    def _debounce_elapsed(self) -> None:
        if self._trailing:
            self._trailing = False
            self.quantize()

    @Slot(object)
    def _on_loaded(self, outcome: tasks.Loaded) -> None:
        if outcome.job_id != self._load_id:
            return
        self._load_id = None
        self._hold_workers()
        self.source = outcome
        self.cache.clear()
        self.shown = None
        self.shown_recipe = None
        self.measurement = None
        self.loaded.emit(outcome)
        self.quantize()

    @Slot(int, float, str)
    def _on_progress(self, job_id: int, fraction: float, stage: str) -> None:
        if job_id == self._quantize_id:
            self.progress.emit(fraction, stage)

    @Slot(object)
    def _on_quantized(self, outcome: tasks.Quantized) -> None:
        if outcome.job_id != self._quantize_id:
            return  # superseded: a newer job (or a cancel) came after it
        self._quantize_id = None
        if self._quantize_key is not None:
            self.cache.put(self._quantize_key, outcome)
        self.shown_recipe = self.recipe
        # Measured only after the views are drawn (draw_idle's timer fires first), so that
        # the worker does not compete with the drawing for the interpreter.
        self._show(outcome)

    @Slot(object)
    def _on_measured(self, outcome: tasks.Measured) -> None:
        if outcome.job_id == self._measure_id:
            self._measure_id = None
            self.measurement = outcome
            self.measured.emit(outcome)

    @Slot(object)
    def _on_saved(self, outcome: tasks.Saved) -> None:
        self._save_ids.discard(outcome.job_id)
        self.saved.emit(outcome)

    @Slot(int)
    def _on_cancelled(self, job_id: int) -> None:
        if job_id == self._quantize_id:
            self._quantize_id = None
            self.busyChanged.emit("")
            self.cancelled.emit()

    @Slot(object)
    def _on_failed(self, failure: tasks.Failed) -> None:
        job_id = failure.job_id
        if isinstance(failure, tasks.MeasureFailed) or job_id in self._save_ids:
            # Saves are never superseded; measuring reports even for an older result.
            self._save_ids.discard(job_id)
        elif job_id == self._measure_id:
            self._measure_id = None
        elif job_id == self._load_id:
            self._load_id = None
            self.busyChanged.emit("")
        elif job_id == self._quantize_id:
            self._quantize_id = None
            self.busyChanged.emit("")
        else:
            return  # a superseded job's failure answers a question nobody asks any more
        self.failed.emit(failure)
