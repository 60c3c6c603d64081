"""The batch window's table of results: one row a file, with its status, sizes and ΔE2000.

Kept apart from :mod:`.batch_dialog` (which chooses inputs and settings and runs the batch) so
the dialog is about the batch and this is about showing its outcome: the rows, the failures in
red with their reasons, "only failures" filtering and the one-line summary under the table.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from kquant_gui.cli.jobs import Job, JobResult

from .file_formats import human_size

COLUMNS = ("File", "Status", "Before", "After", "ΔE2000", "Output or reason")
FILE, STATUS, BEFORE, AFTER, DELTA_E, DETAIL = range(len(COLUMNS))
FAILED_COLOUR = QColor(200, 40, 40)


def failure_reason(result: JobResult) -> str:
    """The failure without the input's path in front (the row names the file already)."""
    text = result.error or ""
    prefix = f"{result.job.input}: "
    text = text[len(prefix) :] if text.startswith(prefix) else text
    # The command line's wording names its flag; here the checkbox does that job.
    return text.replace("use --force to overwrite", "tick “Replace existing files”")


def summary_text(
    results: Sequence[JobResult | None], finished: bool = False, cancelled: bool = False
) -> str:
    """``3 of 4 written · 1 failed · 1.2 MB → 300 kB (25%) · mean ΔE2000 2.10``.

    Parameters
    ----------
    results : sequence of JobResult or None
        One per row; None for a file not done yet.
    finished, cancelled : bool
        Whether the batch ended, and whether it was cancelled (said first).
    """
    done = [r for r in results if r is not None and r.error is None]
    failed = [r for r in results if r is not None and r.error is not None]
    parts = [f"{len(done)} of {len(results)} written"]
    if failed:
        parts.append(f"{len(failed)} failed")
    before, after = sum(r.bytes_in for r in done), sum(r.bytes_out for r in done)
    if before:
        parts.append(f"{human_size(before)} → {human_size(after)} ({after / before:.0%})")
    measured = [r.delta_e for r in done if r.delta_e is not None]
    if measured:
        parts.append(f"mean ΔE2000 {sum(measured) / len(measured):.2f}")
    head = "Cancelled: " if cancelled else ("Finished: " if finished else "")
    return head + " · ".join(parts)


class BatchTable(QTableWidget):
    """Rows of a batch's files, filled as results arrive (objectName ``batchTable``)."""

    def __init__(self) -> None:
        super().__init__(0, len(COLUMNS))
        self.setObjectName("batchTable")
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        rows = self.verticalHeader()
        rows.setVisible(False)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)  # compact, like a file list
        header = self.horizontalHeader()
        for col in (STATUS, BEFORE, AFTER, DELTA_E):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(FILE, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(DETAIL, QHeaderView.ResizeMode.Stretch)
        self.setColumnWidth(FILE, 220)
        self.only_failed = False

    def fill(self, jobs: Sequence[Job], results: Sequence[JobResult | None]) -> None:
        """One row a job, "Waiting" unless its result is already known."""
        self.setRowCount(len(jobs))
        for row, job in enumerate(jobs):
            item = QTableWidgetItem(job.input.name or str(job.input))
            item.setToolTip(str(job.input))
            self.setItem(row, FILE, item)
            for col in range(1, len(COLUMNS)):
                self.setItem(row, col, QTableWidgetItem(""))
            self.set_cell(row, STATUS, "Waiting")
            if results[row] is not None:
                self.show_result(row, results[row])

    def filter(self, results: Sequence[JobResult | None], only_failed: bool) -> None:
        """Hide every row but the failed ones when ``only_failed``."""
        self.only_failed = only_failed
        for row, r in enumerate(results):
            self.setRowHidden(row, only_failed and (r is None or r.error is None))

    def set_cell(self, row: int, col: int, text: str, tip: str | None = None) -> None:
        item = self.item(row, col)
        item.setText(text)
        item.setToolTip(tip if tip is not None else text)
        if col in (BEFORE, AFTER, DELTA_E):
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def show_result(self, row: int, r: JobResult) -> None:
        """A file's outcome in its row, scrolled into view unless filtered out."""
        if r.error is None:
            self.set_cell(row, STATUS, "Written")
            self.set_cell(row, BEFORE, human_size(r.bytes_in))
            self.set_cell(row, AFTER, human_size(r.bytes_out))
            self.set_cell(row, DELTA_E, "" if r.delta_e is None else f"{r.delta_e:.2f}")
            self.set_cell(row, DETAIL, r.job.output.name, str(r.job.output))
        else:
            self.set_cell(row, STATUS, "Failed")
            self.set_cell(row, DETAIL, failure_reason(r), r.error)
            for col in (STATUS, DETAIL):
                self.item(row, col).setForeground(FAILED_COLOUR)
        self.setRowHidden(row, self.only_failed and r.error is None)
        if not self.isRowHidden(row):
            self.scrollToItem(self.item(row, FILE))
