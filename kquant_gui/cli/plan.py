"""The ``kquant`` command line's plan: inputs, outputs and palettes turned into jobs.

Everything that can be known before a file is read is checked here, so that a run that
cannot work (two outputs on one path, ``-o`` with several inputs) stops before anything is
written; the jobs themselves run in :mod:`.jobs`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..image_io import SUPPORTED_SAVE_FORMATS
from ..palettes import PALETTE_FORMATS
from . import targets
from .args import FORMAT_EXT, STRIP_SUFFIX, UsageError
from .inputs import expand, output_folder
from .jobs import Job, JobResult


def _palette_plan(value: str | None, n_files: int) -> tuple[str | None, Path | None]:
    """(extension for per-output palettes, or a single palette path)."""
    if value is None:
        return None, None
    bare = value.lstrip(".").lower()
    if "." + bare in PALETTE_FORMATS and os.sep not in value and not Path(value).suffix:
        return "." + bare, None
    path = Path(value)
    if path.suffix.lower() not in PALETTE_FORMATS:
        raise UsageError(
            f"--palette {value}: unknown palette format; use one of {', '.join(PALETTE_FORMATS)}"
        )
    if n_files > 1:
        raise UsageError(
            "--palette FILE needs a single input; with several, give only a format, "
            "e.g. --palette gpl"
        )
    return None, path


def plan_jobs(args: argparse.Namespace) -> tuple[list[Job], list[JobResult]]:
    """Turn arguments into jobs (input, output, palette), plus inputs that already failed.

    Raises
    ------
    UsageError
        For argument combinations that cannot work (``-o`` with several inputs, ...).
    """
    found = expand(
        args.inputs,
        recursive=getattr(args, "recursive", False),
        patterns=getattr(args, "glob", None) or (),
        out_dir=args.out_dir,
    )
    files, any_folder = found.files, found.any_folder
    failed = [JobResult(Job(p, p), error=reason) for p, reason in found.empty]
    if args.output is not None:
        if len(files) + len(failed) != 1 or any_folder:
            raise UsageError("-o/--output takes a single input file; use --out-dir for several")
        suffix = args.output.suffix.lower()
        if suffix not in SUPPORTED_SAVE_FORMATS:
            raise UsageError(
                f"-o {args.output}: unknown image format {suffix or '(no extension)'!r}; use one "
                f"of {', '.join(FORMAT_EXT[f] for f in FORMAT_EXT)}"
            )
        if (
            args.format
            and SUPPORTED_SAVE_FORMATS[suffix] != SUPPORTED_SAVE_FORMATS[FORMAT_EXT[args.format]]
        ):
            raise UsageError(
                f"--format {args.format} contradicts the extension of -o {args.output}"
            )
    palette_ext, palette_path = _palette_plan(args.palette, len(files))

    ext = FORMAT_EXT[args.format or "png"]
    jobs: list[Job] = []
    for f in files:
        if args.output is not None:
            out = args.output
        else:
            folder = output_folder(f, args.out_dir, found.subfolders)
            out = folder / f"{f.stem}{targets.output_tag(args.k, args.max_de)}{ext}"
        pal = palette_path
        if palette_ext is not None:
            # The swatch strip is a PNG too: its own name keeps it off a PNG image.
            tail = STRIP_SUFFIX if palette_ext == ".png" else ""
            pal = out.with_name(f"{out.stem}{tail}{palette_ext}")
        jobs.append(Job(f, out, pal))
    _refuse_shared_outputs(jobs)
    if args.out_dir is None or not found.subfolders:
        return jobs, failed
    # The subfolders of --out-dir that -r needs, once the plan is known to be sound.
    made: dict[Path, str | None] = {}
    kept = []
    for job in jobs:
        folder = job.output.parent
        if folder not in made:
            made[folder] = _make_folder(folder)
        if made[folder] is None:
            kept.append(job)
        else:
            failed.append(JobResult(job, error=f"{job.input}: {made[folder]}"))
    return kept, failed


def _make_folder(folder: Path) -> str | None:
    """Create an output folder (a subfolder of --out-dir with -r); the reason if it fails."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"{folder}: cannot create the folder: {exc.strerror or exc}"
    return None


def _path_key(path: Path) -> Path:
    return Path(os.path.normcase(os.path.abspath(path)))


def _refuse_shared_outputs(jobs: list[Job]) -> None:
    """Raise UsageError if two outputs (images or palettes) of the run share a path.

    Checked before anything is written: in a batch, which one would be left on disk depends
    on timing, and with ``--force`` one would replace the other.
    """
    seen: dict[Path, Job] = {}
    clashes: list[str] = []
    for job in jobs:
        keys = [_path_key(t) for t in (job.output, job.palette) if t is not None]
        if len(keys) == 2 and keys[0] == keys[1]:
            clashes.append(f"{job.output} would be both the image and the palette of {job.input}")
            keys.pop()
        for key in keys:
            other = seen.setdefault(key, job)
            if other is not job:
                clashes.append(f"{key} would be written for both {other.input} and {job.input}")
    if clashes:
        more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
        raise UsageError(
            f"{clashes[0]}{more}; nothing was written: give distinct names "
            "(-o, --out-dir or --format)"
        )
