"""What ``kquant`` loads before it has work to do, and the reference engine on the command line."""

from __future__ import annotations

import json
import subprocess
import sys

from _cli import run

from kquant_gui.cli import args as cli_args


def test_help_and_usage_errors_load_neither_numpy_nor_pillow():
    # A fresh interpreter: the test session has imported everything already.
    code = (
        "import sys\n"
        "from kquant_gui.cli import main\n"
        "assert main(['--help']) == 0\n"
        "assert main(['photo.png', '-k', '999']) == 2\n"
        "heavy = ('numpy', 'PIL', 'matplotlib', 'PySide6', 'sklearn', 'scipy')\n"
        "print('loaded:' + ','.join(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "--engine {numpy,sklearn}" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == "loaded:"


def test_the_parser_s_copies_of_io_constants_agree():
    from kquant_gui.image_io import DEFAULT_MAX_PIXELS
    from kquant_gui.palettes import PALETTE_FORMATS

    assert cli_args.DEFAULT_MAX_PIXELS == DEFAULT_MAX_PIXELS
    assert tuple(PALETTE_FORMATS) == cli_args.PALETTE_EXTENSIONS


def test_engine_sklearn_runs_the_reference(capsys, tmp_path, inputs):
    out = tmp_path / "ref.png"
    code, _, err = run(
        capsys, inputs[0], "-k", 5, "-o", out, "--engine", "sklearn", "--palette", "json"
    )
    assert code == 0, err
    doc = json.loads(out.with_suffix(".json").read_text())
    assert doc["settings"]["engine"] == "sklearn" and len(doc["colors"]) == 5
    # The palette file is a recipe: --recipe replays the reference engine, byte for byte.
    again = tmp_path / "again.png"
    code, _, err = run(capsys, inputs[0], "--recipe", out.with_suffix(".json"), "-o", again)
    assert code == 0, err
    assert again.read_bytes() == out.read_bytes()
    code, _, err = run(capsys, inputs[0], "-k", 5, "-o", out, "--engine", "opencv")
    assert code == 2 and "invalid choice: 'opencv'" in err
