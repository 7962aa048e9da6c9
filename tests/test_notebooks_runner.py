"""The runner behind `make run`: notebook selection, the report table, a quiet terminal, and failures."""

import re

import nbformat
import pytest

from course_lib import config, notebooks


def test_every_course_notebook_is_selected_in_order():
    paths = notebooks.course_notebooks()
    assert [p.name for p in paths] == sorted(p.name for p in paths)
    assert all("assignments" not in str(p) for p in paths)


def test_unknown_fragment_names_it():
    with pytest.raises(ValueError, match="no notebook matches 'zz_nonexistent'"):
        notebooks.course_notebooks(["zz_nonexistent"])


def test_table_reports_status_and_total():
    results = [notebooks.RunResult("00_setup", "ok", 1.25),
               notebooks.RunResult("01_x", "FAILED", 2.0, "Boom")]
    text = notebooks.format_table(results)
    assert "00_setup" in text and "FAILED" in text and "Boom" in text
    assert "2 notebooks, 1 failed" in text and "3.2" in text


def _write_notebook(path, sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["widgets"] = {"state": {}}
    nbformat.write(nb, path)


def test_run_writes_build_copies_and_reports_failures(tmp_path):
    good, bad = tmp_path / "90_good.ipynb", tmp_path / "91_bad.ipynb"
    _write_notebook(good, ["x = 6 * 7", "print(x)"])
    _write_notebook(bad, ["raise RuntimeError('broken on purpose')"])
    results = notebooks.run([good, bad], build_dir=tmp_path / "build")
    assert [r.status for r in results] == ["ok", "FAILED"]
    assert "broken on purpose" in results[1].error
    # the failed notebook's page shows it up to the failing cell
    assert "broken on purpose" in (tmp_path / "build" / "html" / "91_bad.html").read_text()
    executed = nbformat.read(tmp_path / "build" / "notebooks" / "90_good.ipynb", as_version=4)
    assert executed.cells[1].outputs[0]["text"] == "42\n"
    assert "widgets" not in executed.metadata
    assert (tmp_path / "build" / "html" / "90_good.html").read_text().count("42") >= 1
    # the source notebook is untouched without --store
    assert nbformat.read(good, as_version=4).cells[1].outputs == []


def test_tensorflow_startup_noise_is_stripped_and_real_messages_kept():
    text = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1795321537.742420    2860 cudart_stub.cc:31] Could not find cuda drivers.\n"
        "E0000 00:00:1795321542.565815    2860 cuda_platform.cc:52] failed call to cuInit: UNKNOWN\n"
        "UserWarning: something the student should see\n"
    )
    assert notebooks.strip_tensorflow_noise(text) == "UserWarning: something the student should see\n"


TF_LINES = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "E0000 00:00:1795321542.565815    2860 cuda_platform.cc:52] failed call to cuInit: UNKNOWN\n"
)


def test_make_run_prints_only_the_table_and_the_full_error(tmp_path, monkeypatch, capfd):
    # Like TensorFlow, the first notebook writes to the kernel process's file descriptor 2 directly (not via
    # sys.stderr, which the notebook captures); the second fails deep inside a call, so its traceback is long.
    _write_notebook(tmp_path / "90_noisy.ipynb", [
        f"import os\nos.write(2, {TF_LINES.encode()!r})\nprint('fine')"])
    _write_notebook(tmp_path / "91_bad.ipynb", [
        "def inner(depth):\n    if depth == 0:\n        raise ValueError('the real error, shown in full')\n"
        "    inner(depth - 1)\n\ninner(30)"])
    monkeypatch.setattr(notebooks, "NOTEBOOK_DIR", tmp_path)
    monkeypatch.setattr(config, "BUILD_DIR", tmp_path / "build")
    monkeypatch.chdir(tmp_path)
    assert notebooks.main([]) == 1
    captured = capfd.readouterr()
    assert captured.err == ""
    out = captured.out
    for noise in ("cuInit", "absl", "Kernel is running over TCP", "IPKernelApp", "\x1b["):
        assert noise not in out, f"{noise!r} reached the terminal:\n{out}"
    lines = out.splitlines()
    assert lines[0].startswith("Executing 2 notebook(s) into build")
    assert lines[1].split() == ["notebook", "status", "seconds", "html"]
    assert re.fullmatch(r"90_noisy +ok +\d+\.\d  build/html/90_noisy\.html", lines[3])
    assert re.fullmatch(r"91_bad +FAILED +\d+\.\d  build/html/91_bad\.html", lines[4])
    assert lines[6].startswith("total (2 notebooks, 1 failed)")
    # the whole traceback: all 31 frames of inner() and the message, nothing cut
    assert out.count("inner(depth - 1)") >= 30 and "ValueError: the real error, shown in full" in out
    # what the kernel printed outside the notebook was kept, in the log
    assert "failed call to cuInit" in (tmp_path / "build" / "logs" / "90_noisy.log").read_text()
