"""``kquant-gui --smoke-test``: passes on a working install, fails loudly on a broken one."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from kquant_gui import __version__
from kquant_gui.gui.smoke import run_smoke_test


def _one_line(text: str) -> str:
    lines = text.splitlines()
    assert len(lines) == 1, f"expected one line, got {lines!r}"
    return lines[0]


def test_passes_with_one_ok_line_naming_sample_k_and_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_smoke_test() == 0
    out, err = capsys.readouterr()
    line = _one_line(out)
    assert line.startswith("kquant-gui smoke test ok: sample.jpg 512x512 -> 8 colours")
    assert f"kquant-gui {__version__}" in line
    assert err == ""


def test_unreadable_sample_fails_with_one_line_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "sample.jpg"
    broken.write_bytes(b"not a JPEG")
    monkeypatch.setattr("kquant_gui.gui.resources.sample_image_path", lambda: broken)
    assert run_smoke_test() == 1
    out, err = capsys.readouterr()
    assert out == ""
    line = _one_line(err)
    assert line.startswith("kquant-gui smoke test FAILED: ")
    assert "sample.jpg" in line


def test_missing_sample_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("kquant_gui.gui.resources.sample_image_path", lambda: None)
    assert run_smoke_test() == 1
    assert "bundled sample image missing" in _one_line(capsys.readouterr().err)


def test_a_saver_that_does_not_write_an_indexed_png_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kquant_gui.image_io import SavedImage

    def save_as_rgb(result, path, **_options):
        Image.fromarray(result.image).save(path)
        return SavedImage(path=Path(path), size=Path(path).stat().st_size, format="PNG")

    monkeypatch.setattr("kquant_gui.image_io.save_quantized", save_as_rgb)
    assert run_smoke_test() == 1
    assert "mode 'RGB', expected 'P'" in _one_line(capsys.readouterr().err)


def test_k_is_respected(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_smoke_test(k=3) == 0
    assert "-> 3 colours" in capsys.readouterr().out
