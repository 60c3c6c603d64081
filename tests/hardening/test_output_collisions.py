"""No two outputs of one run share a path: such a run is refused before anything is written.

The swatch strip of ``--palette png`` is named ``<name>-k<K>-palette.png``, so it never lands on
the image ``<name>-k<K>.png``; every other clash (an explicit palette file equal to ``-o``, two
inputs whose outputs meet in one ``--out-dir``) is a usage error, exit 2, with nothing written
and nothing replaced, even with ``--force``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _corpus import encode, small_photo, snapshot
from PIL import Image

from kquant_gui.cli import main


def run(capsys, *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    path.write_bytes(encode(small_photo(), "JPEG"))
    return path


class TestSwatchStripHasItsOwnName:
    @pytest.mark.parametrize("where", ["beside", "out-dir"])
    def test_image_and_strip_are_two_files(self, capsys, tmp_path, photo, where):
        extra = ["--out-dir", tmp_path / "o"] if where == "out-dir" else []
        code, _, err = run(capsys, photo, "-k", 8, "--palette", "png", *extra)
        assert code == 0, err
        folder = tmp_path / "o" if extra else tmp_path
        with Image.open(folder / "photo-k8.png") as im:
            assert im.size == (64, 48) and im.mode == "P"  # the image, not the strip
        with Image.open(folder / "photo-k8-palette.png") as strip:
            assert strip.size != (64, 48)
            colours = {c for _, c in strip.convert("RGB").getcolors(1 << 16)}
            assert 1 < len(colours) <= 9  # eight swatches (and perhaps a border)

    def test_with_force_a_second_run_replaces_both_not_one_with_the_other(
        self, capsys, tmp_path, photo
    ):
        for _ in range(2):
            code, _, err = run(capsys, photo, "-k", 8, "--palette", "png", "--force")
            assert code == 0, err
        with Image.open(tmp_path / "photo-k8.png") as im:
            assert im.size == (64, 48)

    def test_other_palette_formats_keep_their_names(self, capsys, tmp_path, photo):
        code, _, err = run(capsys, photo, "-k", 8, "--palette", "gpl")
        assert code == 0, err
        assert (tmp_path / "photo-k8.gpl").is_file()


class TestSharedPathsRefusedBeforeWriting:
    def test_palette_file_equal_to_the_output(self, capsys, tmp_path, photo):
        before = snapshot(tmp_path)
        target = tmp_path / "same.png"
        code, _, err = run(capsys, photo, "-k", 8, "-o", target, "--palette", target, "--force")
        assert code == 2
        assert "same.png" in err and "both" in err
        assert snapshot(tmp_path) == before

    def test_two_inputs_meeting_in_one_out_dir(self, capsys, tmp_path, photo):
        twin = tmp_path / "photo.png"
        twin.write_bytes(encode(small_photo(4), "PNG"))
        out = tmp_path / "o"
        out.mkdir()
        (out / "photo-k8.png").write_bytes(b"an older result")
        before = snapshot(tmp_path)
        code, _, err = run(capsys, photo, twin, "-k", 8, "--out-dir", out, "--force")
        assert code == 2
        assert "photo-k8.png" in err and "photo.jpg" in err and "photo.png" in err
        assert snapshot(tmp_path) == before

    def test_distinct_outputs_still_run(self, capsys, tmp_path, photo):
        twin = tmp_path / "photo.png"
        twin.write_bytes(encode(small_photo(4), "PNG"))
        a, b = tmp_path / "a", tmp_path / "b"
        code, _, err = run(capsys, photo, "-k", 8, "--out-dir", a, "--palette", "json")
        assert code == 0, err
        code, _, err = run(capsys, twin, "-k", 8, "--out-dir", b)
        assert code == 0, err
        assert sorted(p.name for p in a.iterdir()) == ["photo-k8.json", "photo-k8.png"]
        assert [p.name for p in b.iterdir()] == ["photo-k8.png"]
