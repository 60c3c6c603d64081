"""Save As and Export Palette: what is written is exactly what the quantized view shows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from qt_support import TIMEOUT_MS

from kquant_gui.gui import MainWindow


def test_save_as_writes_the_indexed_png_shown(
    qtbot, opened: MainWindow, save_dialog, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "result.png"
    target.parent.mkdir()
    calls = save_dialog(target)
    with qtbot.waitSignal(opened.saved, timeout=TIMEOUT_MS):
        opened.action_save_as.trigger()
    # The dialog proposed <stem>-k<K>.png beside the original, PNG first.
    _title, proposed, filters = calls[0]
    assert Path(proposed) == opened.source.path.with_name("photo-k8.png")
    assert filters.startswith("Indexed PNG")
    result = opened.shown.result
    with Image.open(target) as im:
        assert im.mode == "P"
        np.testing.assert_array_equal(np.asarray(im), result.labels)
        np.testing.assert_array_equal(np.asarray(im.convert("RGB")), result.image)
    assert "Saved image result.png" in opened.statusBar().currentMessage()


def test_save_without_extension_gets_png(
    qtbot, opened: MainWindow, save_dialog, tmp_path: Path
) -> None:
    save_dialog(tmp_path / "plain")
    with qtbot.waitSignal(opened.saved, timeout=TIMEOUT_MS):
        opened.action_save_as.trigger()
    assert (tmp_path / "plain.png").is_file()


def test_replacing_a_file_asks_first(
    qtbot, opened: MainWindow, save_dialog, messages, tmp_path: Path
) -> None:
    target = tmp_path / "existing.png"
    target.write_bytes(b"keep me")
    save_dialog(target)
    messages.answer = messages.answer.Cancel
    opened.action_save_as.trigger()
    assert "existing.png already exists" in messages.questions[-1]
    assert target.read_bytes() == b"keep me"
    messages.answer = messages.answer.Yes
    with qtbot.waitSignal(opened.saved, timeout=TIMEOUT_MS):
        opened.action_save_as.trigger()
    with Image.open(target) as im:
        assert im.mode == "P"


def test_the_original_is_never_overwritten_silently(
    opened: MainWindow, save_dialog, messages
) -> None:
    original = opened.source.path
    before = original.read_bytes()
    save_dialog(original)
    messages.answer = messages.answer.Cancel
    opened.action_save_as.trigger()
    assert "is the original image" in messages.questions[-1]
    assert original.read_bytes() == before


def test_unknown_extension_is_refused_with_a_reason(
    opened: MainWindow, save_dialog, messages, tmp_path: Path
) -> None:
    save_dialog(tmp_path / "result.xyz")
    assert not opened.save_to(tmp_path / "result.xyz")
    _title, text = messages.warnings[-1]
    assert "result.xyz" in text and ".png" in text
    assert not (tmp_path / "result.xyz").exists()


def test_export_palette_writes_the_palette_shown(
    qtbot, opened: MainWindow, save_dialog, tmp_path: Path
) -> None:
    target = tmp_path / "colours.json"
    calls = save_dialog(target)
    with qtbot.waitSignal(opened.saved, timeout=TIMEOUT_MS):
        opened.action_export_palette.trigger()
    assert Path(calls[0][1]).name == "photo-k8.gpl"
    text = json.dumps(json.loads(target.read_text())).lower()
    for rgb in opened.shown.result.palette:
        assert "#{:02x}{:02x}{:02x}".format(*rgb) in text
