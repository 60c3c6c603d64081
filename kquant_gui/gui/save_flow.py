"""Saving from the window: Save As, Save (Ctrl+S, to the last Save As target), Export Palette.

:class:`SaveFlow` asks where (proposing the folder last saved to), checks the name, asks
before replacing a file, hands the write to the session and says what was written. Save
(Ctrl+S) writes the result shown to the file the last Save As of this image chose, without
asking again; before any Save As it asks as Save As does. A save asked for while palette
edits are still being made (their display copy may be on screen already) is written once
they have landed: what is saved is what was seen.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..names import printable_name
from . import dialogs, file_formats, tasks

if TYPE_CHECKING:
    from .main_window import MainWindow


class SaveFlow:
    """The saving commands of one window (``w``), and where Save writes to."""

    def __init__(self, w: MainWindow) -> None:
        self.w = w
        #: The image file the last Save As of the open image wrote; Ctrl+S writes there.
        self.target: Path | None = None
        #: Writes waiting for the palette edits under way.
        self._waiting: list[Callable[[], None]] = []

    def image_changed(self) -> None:
        """Another image opened: Save asks again (it must not overwrite the old image's file),
        and a save still waiting for the old image's edits is called off: those edits were
        dropped, so what it would write is not what was seen."""
        self.target = None
        if self._waiting:
            self.w.palette_editor.runner.settled.disconnect(self._edits_settled)
            self._waiting = []
            self.w._note("Save cancelled: another image was opened before the edits landed")

    def ask_target(self, title: str, suffix: str, filters: str) -> Path | None:
        """Save dialog proposing ``<stem>-k<K><suffix>`` in the folder last saved to (at
        first beside the original)."""
        w = self.w
        if w.shown is None or w.source is None:
            return None
        src = w.source.path
        folder = Path(w.prefs.last_save_folder or src.parent)
        default = folder / f"{src.stem}-k{w.shown.result.k}{suffix}"
        return dialogs.ask_save_path(w, title, default, suffix, filters)

    def save_as(self) -> None:
        """File > Save As…"""
        path = self.ask_target("Save Quantized Image", ".png", file_formats.save_filter())
        if path is not None:
            self.write(path, "image")

    def save(self) -> None:
        """File > Save: to the last Save As target, or ask as Save As does."""
        if self.target is None:
            self.save_as()
        else:
            self.write(self.target, "image", confirmed=True)

    def export_palette(self) -> None:
        """File > Export Palette…"""
        path = self.ask_target("Export Palette", ".gpl", file_formats.palette_filter())
        if path is not None:
            self.write(path, "palette")

    def write(self, path: Path, kind: str, confirmed: bool = False) -> bool:
        """Start writing ``path``; ``confirmed`` skips the replace question (Save to the
        file the user chose before). Returns True when the write was started."""
        w = self.w
        if w.shown is None or w.source is None:
            return False
        problem = file_formats.check_suffix(path, kind)
        if problem:
            w._error("Cannot save", problem)
            return False
        if confirmed and not dialogs.same_file(path, w.source.path):
            overwrite: bool | None = path.exists()
        else:
            overwrite = dialogs.confirm_target(w, path, w.source.path)
        if overwrite is None:
            return False
        w.prefs.last_save_folder = path.resolve().parent
        if kind == "image":
            self.target = path
        editor = w.palette_editor
        if editor.editing():
            if not self._waiting:
                editor.runner.settled.connect(self._edits_settled)
            self._waiting.append(lambda: w.session.save(path, kind, overwrite=bool(overwrite)))
        else:
            w.session.save(path, kind, overwrite=overwrite)
        name = printable_name(path.name)
        w._note(f"Saving {name}…", 0, name)
        return True

    def _edits_settled(self, _job_id: int) -> None:
        editor = self.w.palette_editor
        if self._waiting and not editor.editing():
            editor.runner.settled.disconnect(self._edits_settled)
            waiting, self._waiting = self._waiting, []
            for save in waiting:
                save()

    @staticmethod
    def saved_note(outcome: tasks.Saved) -> str:
        """``Saved image x.png (1.2 MB) — note``."""
        what = "palette" if outcome.kind == "palette" else "image"
        notes = "".join(f" — {note}" for note in outcome.notes)
        size = file_formats.human_size(outcome.size)
        return f"Saved {what} {printable_name(outcome.path.name)} ({size}){notes}"
