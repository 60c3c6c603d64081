"""``kquant --report``: one record per input, the same figures as the summary line."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from _cli import run

from kquant_gui import quantize
from kquant_gui.cli import _human_bytes as human_bytes
from kquant_gui.cli import main
from kquant_gui.engine import mean_delta_e2000
from kquant_gui.image_io import load_image

KEYS = {
    "input",
    "output",
    "palette",
    "status",
    "reason",
    "k",
    "colors",
    "mean_delta_e2000",
    "bytes_in",
    "bytes_out",
    "seconds",
}


def test_records_of_written_and_failed_inputs(capsys, tmp_path, inputs):
    bad = inputs[0].parent / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nthis is no image")
    out_dir, target = tmp_path / "out", tmp_path / "report.json"
    code, stdout, err = run(
        capsys, inputs[0].parent, "-k", 5, "--out-dir", out_dir, "--report", target, "-j", 1
    )
    assert code == 1, err
    report = json.loads(target.read_text())
    assert report["settings"] == {
        "k": 5,
        "color_space": "lab",
        "dither": "none",
        "dither_strength": 1.0,
        "seed": 0,
    }
    records = {r["input"]: r for r in report["files"]}
    assert set(records) == {str(p) for p in [bad, *inputs]}
    assert all(set(r) == KEYS for r in records.values())

    failed = records[str(bad)]
    assert failed["status"] == "failed"
    assert failed["reason"].startswith(f"{bad}: ") and failed["reason"] in err
    assert failed["output"] is None and failed["colors"] is None and failed["bytes_out"] is None

    for path in inputs:
        r = records[str(path)]
        output = out_dir / f"{path.stem}-k5.png"
        assert r["status"] == "written" and r["reason"] is None
        assert r["output"] == str(output) and r["k"] == 5
        assert r["bytes_in"] == path.stat().st_size
        assert r["bytes_out"] == output.stat().st_size
        pixels = load_image(path).pixels
        expected = quantize(pixels, 5)
        assert r["colors"] == expected.n_colors
        # The inputs are smaller than the sample, so the figure is the exact one.
        assert r["mean_delta_e2000"] == pytest.approx(
            mean_delta_e2000(pixels, expected.image), abs=1e-4
        )
        assert r["seconds"] > 0

    totals = report["totals"]
    written = [records[str(p)] for p in inputs]
    assert totals["files"] == 4 and totals["written"] == 3 and totals["failed"] == 1
    assert totals["bytes_in"] == sum(r["bytes_in"] for r in written)
    assert totals["bytes_out"] == sum(r["bytes_out"] for r in written)
    mean = np.mean([r["mean_delta_e2000"] for r in written])
    assert totals["mean_delta_e2000"] == pytest.approx(mean, abs=1e-4)
    # The summary line says the same: its sizes and mean are the report's totals.
    sizes = f"{human_bytes(totals['bytes_in'])} -> {human_bytes(totals['bytes_out'])}"
    assert f"3 files written (k=5), {sizes} " in stdout
    match = re.search(r"mean dE2000 ([\d.]+); 1 failed$", stdout.strip())
    assert match, stdout
    assert float(match[1]) == pytest.approx(totals["mean_delta_e2000"], abs=0.005)


def test_report_on_stdout_is_the_only_thing_there(capsys, tmp_path, inputs):
    code = main([str(inputs[1]), "-k", "3", "-o", str(tmp_path / "a.png"), "--report", "-"])
    out, err = capsys.readouterr()
    assert code == 0
    report = json.loads(out)  # the whole of stdout parses: no summary line mixed in
    assert [r["output"] for r in report["files"]] == [str(tmp_path / "a.png")]
    assert "1 colour" in err or "3 colours" in err


def test_planning_failures_have_records_too(capsys, tmp_path, inputs):
    empty = tmp_path / "empty"
    empty.mkdir()
    target = tmp_path / "r.json"
    code, _, _ = run(capsys, empty, inputs[0], "-k", 4, "--out-dir", tmp_path, "--report", target)
    assert code == 1
    records = json.loads(target.read_text())["files"]
    assert [(r["input"], r["status"]) for r in records] == [
        (str(empty), "failed"),
        (str(inputs[0]), "written"),
    ]
    assert "holds no image files" in records[0]["reason"]


@pytest.mark.parametrize("where", ["folder", "missing", "input"])
def test_a_report_that_cannot_be_written_is_a_usage_error_before_any_work(
    capsys, tmp_path, inputs, where
):
    target = {
        "folder": tmp_path,
        "missing": tmp_path / "no" / "r.json",
        "input": inputs[0],
    }[where]
    code, _, err = run(capsys, inputs[0], "-k", 4, "--out-dir", tmp_path / "o", "--report", target)
    assert code == 2
    assert "--report" in err
    assert not (tmp_path / "o" / "img0-k4.png").exists()


def test_without_report_nothing_is_measured(capsys, tmp_path, inputs):
    code, out, _ = run(capsys, inputs[0], "-k", 4, "-o", tmp_path / "a.png")
    assert code == 0 and "dE2000" not in out


def test_a_file_left_out_by_a_target_is_recorded_as_skipped(capsys, tmp_path, inputs):
    target = tmp_path / "r.json"
    run(capsys, inputs[0], "-k", 2, "--max-de", 0.5, "-o", tmp_path / "a.png", "--report", target)
    report = json.loads(target.read_text())
    (r,) = report["files"]
    assert r["status"] == "skipped" and r["reason"] and r["output"] is None
    assert r["k"] <= 2 and r["mean_delta_e2000"] > 0.5
    assert report["totals"]["skipped"] == 1 and report["totals"]["written"] == 0
    assert not (tmp_path / "a.png").exists()
