"""What the progress bar says: one 0-100 % per job, in words a user understands.

The engine reports its stages by their internal names ("histogram", "clustering",
"mapping"); the bar shows what each means for the picture, and never moves backwards
within a job.
"""

from __future__ import annotations

#: The engine's stage names, as a user would put them ({k} is the number of colours).
STAGE_WORDS = {
    "histogram": "Counting colours",
    "clustering": "Choosing {k} colours",
    "mapping": "Painting pixels",
    "done": "Finishing",
}


def stage_words(stage: str, k: int, dither: str = "none") -> str:
    """``Choosing 16 colours`` for the engine's ``clustering`` stage at k=16."""
    if stage == "mapping" and dither != "none":
        return "Dithering"
    colours = f"{k} colour" if k == 1 else f"{k} colours"
    return STAGE_WORDS.get(stage, "Quantizing").replace("{k} colours", colours)


class JobProgress:
    """The fraction shown for the running job: the highest reported so far (0..1)."""

    def __init__(self) -> None:
        self.fraction = 0.0

    def start(self) -> None:
        """A new job: back to 0."""
        self.fraction = 0.0

    def report(self, fraction: float) -> float:
        """Take a report; returns the fraction to show (never lower than before)."""
        self.fraction = max(self.fraction, min(max(fraction, 0.0), 1.0))
        return self.fraction
