"""Smoke test of the benchmark harness on a tiny image: it runs and prints tables.

No figures are checked here (timings are for ``make bench``); only that the plumbing works.
"""

from __future__ import annotations

import importlib.util
import math
import shutil

import numpy as np
import pytest

from benchmarks import bench_engine, images
from benchmarks.measure import measure_isolated


@pytest.mark.slow
def test_engine_bench_renders_tables_on_a_tiny_image() -> None:
    plan = bench_engine.Plan(
        small=[("china", "tiny")],
        ks=(4, 16),
        small_rows=("pillow", "ours", "ours-rgb"),
        large=None,
        repeat=1,
    )
    report = bench_engine.run(plan, log=lambda _line: None)
    assert len(report.results) == 6
    assert all(r.error is None for r in report.results)
    assert all(math.isfinite(r.delta_e) and r.seconds > 0 for r in report.results)
    md = bench_engine.render(report)
    assert "### china (96x64" in md
    assert "| **kquant-gui (lab, default)** |" in md
    assert "### Targets (issue 2)" in md
    # Without the original recipe the rgb-PSNR target cannot be judged, and the table says so.
    assert "not measured" in md


@pytest.mark.slow  # a child process of its own
def test_isolated_case_reports_memory() -> None:
    r = measure_isolated("tiny", "pillow", 4, 1, timeout=60)
    assert r.error is None, r.error
    assert r.peak_mb is not None and r.peak_mb >= 0
    assert r.n_colors <= 4


def test_24mp_recipe_is_deterministic_and_noisy() -> None:
    a = images.build_24mp((40, 60))
    b = images.build_24mp((40, 60))
    assert a.shape == (40, 60, 3)
    assert (a == b).all()
    assert images.count_colors(a) > 1000


def test_every_image_class_is_built_deterministically() -> None:
    from benchmarks import image_classes

    for name in image_classes.CLASSES:
        a = image_classes.load_class(name)
        assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3, name
        assert not a.flags.writeable
    # Built again from scratch, the same pixels.
    assert np.array_equal(image_classes.logo(), image_classes.load_class("logo"))
    assert images.count_colors(image_classes.load_class("pixelart")) <= 64


def test_quality_bench_renders_a_table_per_class() -> None:
    from benchmarks import bench_quality

    cases, facts = bench_quality.run(
        ["pixelart"], [4, 16], ("pillow", "ours"), quick=True, log=lambda _line: None
    )
    assert all(math.isfinite(c.delta_e) for c in cases)
    md = bench_quality.render(cases, facts, quick=True)
    assert "#### pixelart (256x192" in md
    assert "| pixelart | 16 |" in md
    assert "of 2 (class, k) cases" in md


@pytest.mark.slow  # starts kquant as processes
def test_startup_bench_times_whole_processes(tmp_path) -> None:
    from benchmarks import bench_startup

    photo = bench_startup.small_photo(tmp_path)
    cmds = [c for c in bench_startup.commands(photo, tmp_path) if "pngquant" not in c.label]
    times = bench_startup.run(cmds, rounds=1)
    assert set(times) == {c.label for c in cmds}
    assert all(len(t) == 1 and t[0] > 0 for t in times.values())
    assert (tmp_path / "kquant.png").stat().st_size > 0


def test_transparency_bench_renders_a_table_for_one_image() -> None:
    from benchmarks import bench_alpha

    rows = bench_alpha.soft_rows(["icon"], [8], repeat=1)
    methods = {r.method for r in rows}
    assert {"kquant-gui", "kquant-gui (FS)"} <= methods
    # The peers run where they are installed (libimagequant comes with the bench extra).
    if importlib.util.find_spec("imagequant") is not None:
        assert "libimagequant" in methods
    if shutil.which("pngquant"):
        assert {"pngquant", "pngquant --nofs"} <= methods
    ours = next(r for r in rows if r.method == "kquant-gui")
    assert ours.indexed and ours.size and math.isfinite(ours.score) and ours.score > 0
    md = bench_alpha.render(rows, [8], {}, None, None)
    assert "**icon**" in md and "| kquant-gui |" in md


def test_dither_bench_renders_a_table_and_verdicts_on_tiny_images() -> None:
    from benchmarks import bench_dither

    if shutil.which("pngquant") is None:
        pytest.skip("pngquant is not installed")
    loaders = {
        "logo": lambda: bench_dither.logo(60, 100),
        "gradient": lambda: bench_dither.gradient(64, 96),
    }
    rows = bench_dither.run(loaders, [8])
    assert len(rows) == 2 * len(bench_dither.METHODS)
    assert all(math.isfinite(r.blurred) and r.png_bytes > 0 for r in rows)
    md = bench_dither.render(rows, "Dithering")
    assert "### logo" in md and "### gradient" in md
    assert "| 8 | **kquant-gui** |" in md
    assert "### Targets against pngquant" in md
