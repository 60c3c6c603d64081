"""How ``kquant`` fails: a bug of ours versus a user error, a dying worker pool, an interrupt."""

from __future__ import annotations

import io
import logging
import os
import signal

import pytest
from _cli import run
from PIL import Image

from kquant_gui import __version__, cli
from kquant_gui.cli import jobs
from kquant_gui.cli.args import EXIT_BUG, EXIT_FAILED
from kquant_gui.process_pool import Interrupted, WorkerPool

EXIT_INTERRUPTED = 128 + signal.SIGINT

HINT = f"kquant: this is a bug in kquant {__version__}; please report it"


def _broken_quantize(*args: object, **kwargs: object) -> None:
    raise TypeError("unsupported operand type(s) for +: 'int' and 'NoneType'")


def _dying_worker(job: jobs.Job, opts: jobs.Options) -> jobs.JobResult:
    os._exit(9)  # what the kernel's out-of-memory killer does to a worker, as the pool sees it


def _escaping_error(job: jobs.Job, opts: jobs.Options) -> jobs.JobResult:
    raise RuntimeError("escaped run_job")


def test_a_bug_in_a_job_is_one_line_and_a_hint_and_the_rest_is_done(
    capsys, monkeypatch, tmp_path, inputs
):
    calls = []

    def quantize_second_breaks(pixels, k, **options):
        calls.append(k)
        if len(calls) == 2:
            _broken_quantize()
        return real(pixels, k, **options)

    real = jobs.quantize
    monkeypatch.setattr(jobs, "quantize", quantize_second_breaks)
    code, out, err = run(capsys, *inputs, "-k", 4, "--out-dir", tmp_path / "o", "--jobs", 1)
    assert code == EXIT_BUG
    lines = err.splitlines()
    assert lines == [
        f"kquant: error: {inputs[1]}: internal error (TypeError: unsupported operand type(s) "
        "for +: 'int' and 'NoneType')",
        f"{HINT}, with the output of the same command run with --debug "
        "(KQUANT_LOG=debug logs more)",
    ]
    assert "2 files written (k=4)" in out and "1 failed" in out
    assert len(list((tmp_path / "o").iterdir())) == 2


def test_debug_shows_the_traceback_of_a_bug(capsys, monkeypatch, tmp_path, inputs):
    monkeypatch.setattr(jobs, "quantize", _broken_quantize)
    code, _, err = run(capsys, inputs[0], "-k", 4, "-o", tmp_path / "a.png", "--debug")
    assert code == EXIT_BUG
    assert "Traceback (most recent call last)" in err
    assert "in _broken_quantize" in err and "TypeError: unsupported operand" in err
    assert err.rstrip().endswith(f"{HINT}, with the output above")


def test_a_bug_outside_the_jobs_is_one_line_and_a_hint(capsys, monkeypatch, tmp_path, inputs):
    def broken_plan(args):
        raise KeyError("palette")

    monkeypatch.setattr(cli, "plan_jobs", broken_plan)
    code, out, err = run(capsys, inputs[0], "-k", 4)
    assert code == EXIT_BUG and out == ""
    assert err.splitlines()[0] == "kquant: internal error: KeyError: 'palette'"
    assert err.splitlines()[1].startswith(HINT) and len(err.splitlines()) == 2
    code, _, err = run(capsys, inputs[0], "-k", 4, "--debug")
    assert "Traceback" in err and "in broken_plan" in err


def test_user_errors_are_not_called_bugs(capsys, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    code, _, err = run(capsys, bad, "-k", 4, "--debug")
    assert code == EXIT_FAILED
    told = [line for line in err.splitlines() if not line.startswith("kquant: DEBUG:")]
    assert len(told) == 1 and told[0].startswith(f"kquant: error: {bad}: ")
    assert "bug" not in err and "Traceback" not in err


def test_kquant_log_debug_logs_each_step_and_leaves_logging_as_it_was(
    capsys, monkeypatch, tmp_path, inputs
):
    logger = logging.getLogger("kquant_gui")
    before = (logger.level, logger.propagate, list(logger.handlers))
    monkeypatch.setenv("KQUANT_LOG", "debug")
    code, _, err = run(capsys, inputs[0], "-k", 4, "-o", tmp_path / "a.png")
    assert code == 0
    assert "kquant: DEBUG: kquant_gui.cli: 1 jobs on up to" in err
    assert f"kquant: DEBUG: kquant_gui.cli.jobs: {inputs[0]}: 40x30 px loaded in" in err
    assert (logger.level, logger.propagate, list(logger.handlers)) == before
    monkeypatch.setenv("KQUANT_LOG", "nonsense")  # unknown: the quiet default
    code, _, err = run(capsys, inputs[0], "-k", 4, "-o", tmp_path / "b.png")
    assert code == 0 and err == ""


def test_a_dying_worker_process_fails_its_files_not_the_batch(
    capsys, monkeypatch, tmp_path, inputs
):
    monkeypatch.setattr(jobs, "run_job", _dying_worker)
    code, out, err = run(capsys, *inputs, "-k", 4, "--out-dir", tmp_path / "o", "--jobs", 2)
    assert code == EXIT_FAILED
    died = [line for line in err.splitlines() if "the worker process died" in line]
    assert len(died) == len(inputs), err
    assert all(str(p) in err for p in inputs)
    assert "bug" not in err and "3 failed" in out


def test_an_error_escaping_a_worker_is_reported_as_a_bug(capsys, monkeypatch, tmp_path, inputs):
    monkeypatch.setattr(jobs, "run_job", _escaping_error)
    code, _, err = run(capsys, *inputs[:2], "-k", 4, "--out-dir", tmp_path / "o", "--jobs", 2)
    assert code == EXIT_BUG
    assert err.count("internal error (RuntimeError: escaped run_job)") == 2
    assert err.splitlines()[-1].startswith(HINT)


def test_interrupt_stops_the_pool_and_exits_130(capsys, monkeypatch, tmp_path, inputs):
    real_run = WorkerPool.run

    def run_then_interrupt(self, items):
        for answer in real_run(self, items):
            yield answer
            raise Interrupted(signal.SIGINT)  # as the handler does on Ctrl-C

    monkeypatch.setattr(WorkerPool, "run", run_then_interrupt)
    out_dir = tmp_path / "o"
    code, out, err = run(capsys, *inputs, "-k", 4, "--out-dir", out_dir, "--jobs", 2)
    assert code == EXIT_INTERRUPTED and out == ""
    # Whatever the workers finished is whole and counted; nothing temporary is left.
    written = sorted(out_dir.iterdir())
    for path in written:
        assert path.name.endswith("-k4.png"), path.name
        with Image.open(path) as im:
            im.verify()
    assert err.splitlines()[-1] == (
        f"kquant: interrupted by SIGINT: {len(written)} of 3 files written, the others not"
    )


def test_interrupt_of_a_single_process_run(capsys, monkeypatch, tmp_path, inputs):
    def interrupted(job: jobs.Job, opts: jobs.Options) -> jobs.JobResult:
        raise KeyboardInterrupt

    monkeypatch.setattr(jobs, "run_job", interrupted)
    code, _, err = run(capsys, inputs[0], "-k", 4, "-o", tmp_path / "a.png")
    assert code == EXIT_INTERRUPTED
    assert err == "kquant: interrupted by SIGINT: 0 of 1 files written, the others not\n"
    assert not (tmp_path / "a.png").exists()


@pytest.mark.parametrize("level", ["DEBUG", "info", " Warning "])
def test_log_level_names(monkeypatch, level):
    from kquant_gui.cli.logs import level_from_env

    monkeypatch.setenv("KQUANT_LOG", level)
    assert level_from_env() == logging.getLevelName(level.strip().upper())
    assert level_from_env(debug=True) == logging.DEBUG


def test_an_image_too_big_for_memory_is_a_user_error(capsys, monkeypatch, tmp_path, inputs):
    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(jobs, "quantize", out_of_memory)
    code, _, err = run(capsys, inputs[0], "-k", 4, "-o", tmp_path / "a.png")
    assert code == EXIT_FAILED
    assert err == f"kquant: error: {inputs[0]}: not enough memory for this image\n"


def test_an_empty_folder_is_named_and_the_rest_is_done(capsys, tmp_path, inputs):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image")
    code, out, err = run(capsys, empty, inputs[0], "-k", 4, "--out-dir", tmp_path / "o")
    assert code == EXIT_FAILED
    assert err == f"kquant: error: {empty}: the folder holds no image files\n"
    assert "1 file written (k=4)" in out and "1 failed" in out


def test_an_out_dir_that_cannot_be_created(capsys, tmp_path, inputs):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run(capsys, inputs[0], "-k", 4, "--out-dir", blocker / "sub")
    assert code == EXIT_FAILED
    assert err.startswith(f"kquant: error: cannot create {blocker / 'sub'}: ")
    assert len(err.splitlines()) == 1
    code, _, err = run(capsys, inputs[0], "-k", 4, "--out-dir", blocker)
    assert code == 2 and f"--out-dir {blocker} is a file, not a folder" in err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_is_drawn_and_wiped() -> None:
    stream = _Terminal()
    bar = jobs.Progress(4, stream, enabled=True)
    bar.step()
    assert stream.getvalue() == "\rkquant [#######-----------------------] 1/4 files"
    for _ in range(3):
        bar.step()
    assert stream.getvalue().endswith("\rkquant [##############################] 4/4 files")
    bar.close()
    assert stream.getvalue().endswith("\r" + " " * 60 + "\r")
    quiet = _Terminal()
    for enabled, total in ((False, 4), (True, 1)):  # --quiet, or a single file: no bar
        off = jobs.Progress(total, quiet, enabled=enabled)
        off.step()
        off.close()
    assert quiet.getvalue() == ""
