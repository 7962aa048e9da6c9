"""Hardening tests for the graded assignments: real runs of scripts/assignments.py (nbgrader releases; the
grader runs each submission in a bubblewrap sandbox and writes the feedback pages itself).

The repository pieces grading needs (course_lib, scripts, the assignment sources, nbgrader_config.py) are
copied to a temporary folder with its own empty HOME, so that the tests can check that grading writes nothing
outside that copy's build/ folder. The release is made once per test session and copied into each grading
module's course (``released_course``); three grading runs are shared by all tests (module-scoped fixtures):

    main run    students solution (ps1-ps4), blank (ps1-ps4, the untouched release), partial (ps1),
                tamper (ps2: deleted and edited cells), noisy (ps1: stderr, warnings, long output)
    loop run    student looper (ps1 with an endless loop), with a short per-cell timeout (--only ps1)
    stuck run   student stuck (ps1 hanging past the per-submission limit), corrupt (not JSON) (--only ps1)

Every (student, assignment) pair of a run is a row: in the main run, students who handed in only some
assignments get ``missing`` rows for the others, and the run exits 1.

Submissions are built from the source and release notebooks: answer cells are filled with the source's
solution code, or with broken code, and cells are deleted or edited as a student might.

Time limits are checked through what the grader itself reports (grades.csv's status and timed_out_cells
columns, its log lines, its exit status), never by timing the run here. The fast unit tests of the same
package are in tests/test_grading_unit.py.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import html
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib.grading.classroom import fill_answers as student_version
from course_lib.grading.classroom import solution_code
from course_lib.grading.layout import source_root

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ("ps1", "ps2", "ps3", "ps4", "ps5", "ps6")
# Each limit is waited out in full by its run (the endless loop spins a core all that time), so they are as
# short as is safe on a loaded CI machine. The looper's sandbox runs only NumPy code (ps1 hides TensorFlow
# there; the tests, which import it, run in the grader): its honest cells and calls take about 0.5 s together
# (measured: the whole submission graded in 3.5 s with a 3 s cell timeout, at a load average of 5 on 2 cores),
# so 8 s leaves a wide margin. The stuck submission needs nothing to finish, but its sandbox has to start (a
# warm interpreter importing NumPy and IPython first) before the limit bites.
LOOP_CELL_TIMEOUT = 8
STUCK_LIMIT = 10

pytestmark = pytest.mark.grading


# ----------------------------------------------------------------------------------------- notebook helpers

def load(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def save(nb: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1))


def meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def source(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def region_lines(nb: dict, begin: str, end: str) -> list[str]:
    """Lines inside ### BEGIN .../### END ... regions."""
    lines, inside = [], False
    for cell in nb["cells"]:
        for line in source(cell).split("\n"):
            if begin in line:
                inside = True
            elif end in line:
                inside = False
            elif inside:
                lines.append(line)
    return lines


def distinctive(nb: dict, begin: str, end: str) -> set[str]:
    """Code lines found only inside the given regions: if one shows up elsewhere, the region leaked."""
    outside = []
    for cell in nb["cells"]:
        inside = False
        for line in source(cell).split("\n"):
            if begin in line:
                inside = True
            elif end in line:
                inside = False
            elif not inside:
                outside.append(line)
    outside_text = "\n".join(outside)
    return {ln.strip() for ln in region_lines(nb, begin, end)
            if len(ln.strip()) >= 16 and not ln.strip().startswith("#") and ln.strip() not in outside_text}


def questions(src_nb: dict) -> dict[str, list[str]]:
    """answer cell id -> ids of the test cells that follow it (up to the next answer cell)."""
    out: dict[str, list[str]] = {}
    current = None
    for cell in src_nb["cells"]:
        m = meta(cell)
        if m.get("solution"):
            current = m["grade_id"]
            out[current] = []
        elif m.get("grade") and current:
            out[current].append(m["grade_id"])
    return out


def points(src_nb: dict) -> dict[str, float]:
    return {meta(c)["grade_id"]: float(meta(c)["points"]) for c in src_nb["cells"] if meta(c).get("grade")}


def html_text(path: Path) -> str:
    class Text(html.parser.HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []

        def handle_data(self, data):
            self.parts.append(data)

    parser = Text()
    parser.feed(path.read_text())
    return "".join(parser.parts)


def feedback_tests(page: str) -> dict[str, str]:
    """Test cell id -> the unescaped text of its block on a feedback page (``<div class='test'>``)."""
    found = {}
    for block in re.findall(r"<div class='test'>(.*?)</div>", page, re.S):
        head = re.search(r"Test (\S+): ", block)
        assert head, block[:200]
        found[html.unescape(head.group(1))] = html.unescape(re.sub(r"<[^>]+>", "", block))
    return found


def tree_hashes(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts and rel.parts[0] in skip:
            continue
        out[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return out


# --------------------------------------------------------------------------------------------- fixtures

# Variables that move the tools' settings folders out of HOME (the Makefile exports them, pointing into this
# checkout's build/home/). They are dropped so that the grader has to redirect the tools itself: anything it
# forgets lands in the empty HOME, where test_nothing_is_written_outside_build sees it.
TOOL_VARIABLES = ("KERAS_HOME", "MPLCONFIGDIR", "IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR",
                  "JUPYTER_RUNTIME_DIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
                  "COURSE_ASSIGNMENTS_SOURCE")


def run_script(course: dict, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("COURSE_BUILD_DIR", "PYTHONPATH", *TOOL_VARIABLES)}
    env["HOME"] = str(course["home"])
    env["TMPDIR"] = str(course["tmp"])
    proc = subprocess.run([sys.executable, str(course["repo"] / "scripts" / "assignments.py"), *args],
                          cwd=course["repo"], env=env, capture_output=True, text=True, timeout=timeout)
    print(proc.stdout[-4000:], proc.stderr[-4000:])
    return proc


def copy_course(tmp_path_factory, name: str) -> dict:
    """A copy of the repository pieces grading uses (course_lib, scripts, the sources, nbgrader_config.py,
    pyproject.toml), with an empty HOME and temp folder beside it: grading runs there, so the real
    repository is never at risk. The grading modules get theirs released, from ``released_course``."""
    return _copy_course_to(tmp_path_factory.mktemp(name))


def _copy_course_to(root: Path) -> dict:
    repo, home, tmp = root / "repo", root / "home", root / "tmp"
    home.mkdir(parents=True)
    tmp.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "build")
    for part in ("course_lib", "scripts"):
        shutil.copytree(REPO / part, repo / part, ignore=ignore)
    # the sources grading would use here: $COURSE_ASSIGNMENTS_SOURCE (an instructor's private copy) or the
    # repository's own; in the copy they sit in the default place
    shutil.copytree(source_root(), repo / "notebooks" / "assignments" / "source", ignore=ignore)
    shutil.copy(REPO / "nbgrader_config.py", repo / "nbgrader_config.py")
    # makes the copy a checkout for config.course_dir: build/ here, not an installed kit's per-user cache
    shutil.copy(REPO / "pyproject.toml", repo / "pyproject.toml")
    return {"root": root, "repo": repo, "home": home, "tmp": tmp, "build": repo / "build"}


def _session_root(tmp_path_factory) -> Path:
    """The temporary folder of the whole test session: shared by the xdist workers (each has its own
    basetemp below it), or the basetemp itself when pytest runs alone."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def released_course(tmp_path_factory, name: str) -> dict:
    """``copy_course`` with the four assignments already released into its build/ folder.

    Releasing (``assignments.py release``: nbgrader, the gradebook) is the same work for every grading module,
    so it runs once per test session: the first module to ask releases in a course copy of its own under the
    session's temporary folder, holding a file lock there (the xdist workers share that folder), and keeps it
    as the cache for the content of the copied repository pieces; every module then gets a fresh copy of the
    course with that release's build/ folder copied into it (the gradebook and released.json name no path, so
    grading sees it released and up to date). ``course["release"]`` says what the release did: its exit status
    and output, and whether it wrote anything outside its build/ folder (test_nothing_is_written_outside_build
    checks that as it checks the grading runs).
    """
    course = copy_course(tmp_path_factory, name)
    key = hashlib.sha256(json.dumps(tree_hashes(course["repo"]), sort_keys=True).encode()).hexdigest()[:20]
    root = _session_root(tmp_path_factory)
    cache = root / f"grading-release-{key}"
    facts_file = cache / "release.json"
    with open(root / "grading-release.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed, or when this process dies
        if not facts_file.is_file():
            shutil.rmtree(cache, ignore_errors=True)  # what a release that died half-way left
            made = _copy_course_to(cache)
            before = tree_hashes(made["repo"], skip=("build",))
            proc = run_script(made, "release")
            facts = {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr,
                     "repo_unchanged": tree_hashes(made["repo"], skip=("build",)) == before,
                     "home": sorted(p.name for p in made["home"].iterdir()),
                     "tmp": sorted(p.name for p in made["tmp"].iterdir())}
            (cache / "release.json.part").write_text(json.dumps(facts))
            (cache / "release.json.part").rename(facts_file)
    course["release"] = json.loads(facts_file.read_text())
    if (cache / "repo" / "build").is_dir():
        shutil.copytree(cache / "repo" / "build", course["build"], symlinks=True)
    return course


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of the repository pieces grading uses, released (``released_course``)."""
    course = released_course(tmp_path_factory, "grading")
    repo = course["repo"]
    course["repo_before"] = tree_hashes(repo, skip=("build",))
    assert course["release"]["returncode"] == 0, course["release"]["stderr"]
    course["release_output"] = course["release"]["stdout"]
    sources = repo / "notebooks" / "assignments" / "source"
    course["src"] = {ps: load(sources / ps / f"{ps}.ipynb") for ps in ASSIGNMENTS}
    course["rel"] = {ps: load(course["build"] / "release" / ps / f"{ps}.ipynb") for ps in ASSIGNMENTS}
    return course


# What a noisy student adds at the top of each answer's function body: a stderr print, a line shaped like
# TensorFlow's C++ start-up log, a Python warning, thousands of printed lines.
NOISE = {
    "conv_output_size": "    print(f'{__name__} debug output', file=sys.stderr)\n",
    "conv2d_loops": "    print('I0000 00:00:1700000000.000001   4242 ' + 'cuda_fake.cc:42] fake TF line',"
                    " file=sys.stderr)\n",
    "pool2d": "    warnings.warn('this is only a warning')\n",
    "conv2d_fast": "    print('\\n'.join(f'line {i}' for i in range(3000)))\n",
}


def make_main_submissions(course: dict, subs: Path) -> None:
    src, rel = course["src"], course["rel"]
    everything = {ps: {gid: None for gid in questions(src[ps])} for ps in ASSIGNMENTS}
    for ps in ASSIGNMENTS:
        # the solution student uses the nbgrader layout, the blank student the flat one
        save(student_version(rel[ps], src[ps], everything[ps]), subs / "solution" / ps / f"{ps}.ipynb")
        save(rel[ps], subs / "blank" / f"{ps}.ipynb")
    # partial: questions 1, 2 and 4 right; question 3 runs but returns the wrong numbers
    answers = dict(everything["ps1"], conv2d_fast="def conv2d_fast(x, w, b, stride=1, pad=0):\n"
                                                  "    return conv2d_loops(x, w, b, stride, pad) * 1.01\n")
    save(student_version(rel["ps1"], src["ps1"], answers), subs / "partial" / "ps1" / "ps1.ipynb")
    # tamper (ps2): Q2's tests deleted (answer right), Q3's test edited to `pass` (answer wrong),
    # Q4's answer and both its test cells deleted
    wrong = "def maxpool2d_backward(dout, x, size=2, stride=2):\n    return x * 0\n"
    answers = dict(everything["ps2"], maxpool2d_backward=wrong)
    nb = student_version(rel["ps2"], src["ps2"], answers)
    dropped = {"test_conv2d_backward", "hidden_conv2d_backward",
               "avgpool2d_backward", "test_avgpool2d_backward", "hidden_avgpool2d_backward"}
    nb["cells"] = [c for c in nb["cells"] if meta(c).get("grade_id") not in dropped]
    for cell in nb["cells"]:
        if meta(cell).get("grade_id") == "test_maxpool2d_backward":
            cell["source"] = "pass  # the tests were in my way"
    save(nb, subs / "tamper" / "ps2" / "ps2.ipynb")
    # noisy (ps1): every answer right, but they write to stderr, warn, and print thousands of lines
    noisy = {}
    for gid in everything["ps1"]:
        head, _, body = solution_code(src["ps1"], gid).partition(":\n")  # split after the def line
        noisy[gid] = "import sys\nimport warnings\n\n" + head + ":\n" + NOISE[gid] + body
    save(student_version(rel["ps1"], src["ps1"], noisy), subs / "noisy" / "ps1" / "ps1.ipynb")


@pytest.fixture(scope="module")
def graded(course):
    """One grading run over the main submissions; returns the script's outputs and the CSV rows."""
    subs = course["root"] / "submissions"
    make_main_submissions(course, subs)
    before = tree_hashes(subs)
    proc = run_script(course, "grade", "--submissions", str(subs), "--cell-timeout", "120",
                      "--submission-timeout", "300")
    rows = {(r["student"], r["assignment"]): r for r in csv.DictReader(open(course["build"] / "grades.csv"))}
    cells: dict[tuple[str, str], dict[str, float]] = {}
    for r in csv.DictReader(open(course["build"] / "grades_by_question.csv")):
        cells.setdefault((r["student"], r["assignment"]), {})[r["cell"]] = float(r["score"])
    return {"proc": proc, "rows": rows, "cells": cells, "subs": subs, "before": before,
            "after": tree_hashes(subs)}


@pytest.fixture(scope="module")
def looped(course, graded):
    """A second run: ps1 whose question 3 answer cell never finishes, with a short per-cell timeout."""
    src, rel = course["src"], course["rel"]
    subs = course["root"] / "submissions-loop"
    answers = {gid: None for gid in questions(src["ps1"])}
    endless = "while True:  # forgot the exit condition\n    pass\n"
    answers["conv2d_fast"] = endless + solution_code(src["ps1"], "conv2d_fast")
    save(student_version(rel["ps1"], src["ps1"], answers), subs / "looper" / "ps1" / "ps1.ipynb")
    before = tree_hashes(subs)
    proc = run_script(course, "grade", "--submissions", str(subs), "--only", "ps1",
                      "--cell-timeout", str(LOOP_CELL_TIMEOUT), "--submission-timeout", "240")
    rows = {(r["student"], r["assignment"]): r for r in csv.DictReader(open(course["build"] / "grades.csv"))}
    by_cell = csv.DictReader(open(course["build"] / "grades_by_question.csv"))
    cells = {r["cell"]: float(r["score"]) for r in by_cell}
    return {"proc": proc, "rows": rows, "cells": cells, "subs": subs, "before": before,
            "after": tree_hashes(subs)}


@pytest.fixture(scope="module")
def stuck(course, looped):
    """A third run where the per-submission limit is the one that bites, plus a notebook that is not JSON."""
    src, rel = course["src"], course["rel"]
    subs = course["root"] / "submissions-stuck"
    (subs / "corrupt" / "ps1").mkdir(parents=True)
    (subs / "corrupt" / "ps1" / "ps1.ipynb").write_text('{"cells": [')  # a truncated upload
    answers = {"conv_output_size": "while True:\n    pass\n"}
    save(student_version(rel["ps1"], src["ps1"], answers), subs / "stuck" / "ps1" / "ps1.ipynb")
    proc = run_script(course, "grade", "--submissions", str(subs), "--only", "ps1", "--cell-timeout", "300",
                      "--submission-timeout", str(STUCK_LIMIT))
    rows = {(r["student"], r["assignment"]): r for r in csv.DictReader(open(course["build"] / "grades.csv"))}
    # the submission's sandbox folder: bwrap's command line names it (its home is mounted from there)
    sandbox = course["build"] / "nbgrader" / "sandboxes" / "stuck-ps1"
    survivors = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(sandbox) in cmdline.read_bytes().decode(errors="replace"):
                survivors.append(cmdline.parent.name)
        except OSError:
            continue
    return {"proc": proc, "rows": rows, "survivors": survivors, "sandbox": sandbox}


def expected_score(src_nb: dict, right: set[str]) -> float:
    pts = points(src_nb)
    return sum(pts[t] for q, tests in questions(src_nb).items() if q in right for t in tests)


# --------------------------------------------------------------------------------------------- release

@pytest.mark.parametrize("ps", ASSIGNMENTS)
def test_release_has_no_solutions_or_hidden_tests(course, ps):
    src, rel = course["src"][ps], course["rel"][ps]
    text = json.dumps(rel)
    secret = distinctive(src, "### BEGIN SOLUTION", "### END SOLUTION") | \
        distinctive(src, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
    assert len(secret) >= 8  # the check has something to look for
    release_lines = {line.strip() for cell in rel["cells"] for line in source(cell).split("\n")}
    assert not secret & release_lines, sorted(secret & release_lines)
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    stubs = sum("raise NotImplementedError()" in source(c) for c in rel["cells"] if meta(c).get("solution"))
    assert stubs == len(questions(src))
    assert sum(points(rel).values()) == sum(points(src).values())
    code_cells = [c for c in src["cells"] if c["cell_type"] == "code"]
    assert not any(c.get("outputs") for c in code_cells), "sources are stored without outputs"


# --------------------------------------------------------------------------------------------- scores

@pytest.mark.parametrize("ps", ASSIGNMENTS)
def test_solution_scores_full_marks(course, graded, ps):
    row = graded["rows"][("solution", ps)]
    assert row["status"] == "graded"
    assert row["timed_out_cells"] == "" and row["note"] == ""
    assert float(row["max_score"]) == sum(points(course["src"][ps]).values())
    assert float(row["score"]) == float(row["max_score"]), graded["cells"][("solution", ps)]
    assert (course["build"] / "feedback" / "solution" / ps / f"{ps}.html").is_file()


@pytest.mark.parametrize("ps", ASSIGNMENTS)
def test_untouched_release_scores_zero_without_crashing(course, graded, ps):
    row = graded["rows"][("blank", ps)]
    assert row["status"] == "graded"
    assert float(row["score"]) == 0.0 and float(row["max_score"]) > 0
    assert (course["build"] / "feedback" / "blank" / ps / f"{ps}.html").is_file()


def test_partial_submission_gets_exactly_its_points(course, graded):
    src = course["src"]["ps1"]
    want = expected_score(src, {"conv_output_size", "conv2d_loops", "pool2d"})
    assert 0 < want < sum(points(src).values())
    assert float(graded["rows"][("partial", "ps1")]["score"]) == want
    cells = graded["cells"][("partial", "ps1")]
    assert cells["test_conv2d_fast"] == 0 and cells["hidden_conv2d_fast"] == 0
    assert cells["test_pool2d"] == points(src)["test_pool2d"]


def test_deleted_and_edited_test_cells_are_restored_and_run(course, graded):
    src = course["src"]["ps2"]
    row = graded["rows"][("tamper", "ps2")]
    assert row["status"] == "graded"
    # Q2's deleted tests came back and passed; Q3's edited test came back and failed the wrong answer; Q4's
    # deleted answer came back as an empty stub, so its restored tests fail.
    assert float(row["score"]) == expected_score(src, {"numeric_gradient", "conv2d_backward"})
    cells = graded["cells"][("tamper", "ps2")]
    assert set(cells) == set(points(src)), "every test cell is graded, deleted ones included"
    assert cells["test_conv2d_backward"] == points(src)["test_conv2d_backward"]
    assert cells["test_maxpool2d_backward"] == 0
    # the feedback shows the source's test cells (the edited one as the instructor wrote it, the deleted ones
    # back in place), never the student's version of a test cell
    page = (course["build"] / "feedback" / "tamper" / "ps2" / "ps2.html").read_text()
    sections = feedback_tests(page)
    assert set(sections) == set(points(src)), "every test cell is in the feedback, deleted ones included"
    assert "tape.gradient" in sections["test_maxpool2d_backward"]
    assert "the tests were in my way" not in page
    assert "hidden tests ran here" in sections["hidden_conv2d_backward"].lower()


def test_stderr_warnings_and_long_output_cost_nothing(course, graded):
    row = graded["rows"][("noisy", "ps1")]
    assert float(row["score"]) == float(row["max_score"]), graded["cells"][("noisy", "ps1")]
    assert all(score == points(course["src"]["ps1"])[cell]
               for cell, score in graded["cells"][("noisy", "ps1")].items()), "no test cell lost a point"
    assert row["note"] == "" and row["timed_out_cells"] == ""
    page = (course["build"] / "feedback" / "noisy" / "ps1" / "ps1.html").read_text()
    # what the student's functions wrote, shown (as escaped text) under the tests that called them: stderr,
    # a line shaped like TensorFlow's log and a warning in the stderr (red) block, none of it failing a test
    stderr = [html.unescape(block) for block in re.findall(r'<pre class="stderr">(.*?)</pre>', page, re.S)]
    for noise in ("__main__ debug output", "cuda_fake.cc:42] fake TF line", "this is only a warning"):
        assert any(noise in block for block in stderr), noise
    sections = feedback_tests(page)
    assert "__main__ debug output" in sections["test_conv_output_size"]
    # the 3000 printed lines of every call are cut, so the page stays small
    assert "line 2999" not in page and "more characters cut)" in sections["test_conv2d_fast"]
    assert len(page) < 1_000_000


def test_endless_loop_scores_zero_for_that_question_only(course, looped):
    src = course["src"]["ps1"]
    row = looped["rows"][("looper", "ps1")]
    # the per-cell timeout cut the loop (and only that cell); the per-submission limit never fired
    assert row["status"] == "graded", row
    assert row["timed_out_cells"] == "conv2d_fast"
    assert looped["proc"].returncode == 0
    assert "cut by the cell timeout: conv2d_fast" in looped["proc"].stdout
    assert row["note"] == "", "the sandbox was neither killed nor stopped"
    assert float(row["score"]) == expected_score(src, set(questions(src)) - {"conv2d_fast"})
    assert looped["cells"]["test_conv2d_fast"] == 0
    page = html_text(course["build"] / "feedback" / "looper" / "ps1" / "ps1.html")
    assert "ran past the per-cell time limit and was interrupted" in page, \
        "the student is told why the cell has no result"


def test_submission_limit_kills_the_sandbox_and_everything_in_it(stuck):
    out = stuck["proc"].stdout
    assert stuck["proc"].returncode == 1, "a submission that could not be graded is reported in the exit code"
    row = stuck["rows"][("stuck", "ps1")]
    assert row["status"] == "timeout" and float(row["score"]) == 0
    assert row["note"] == ("the notebook's process stopped (TimeoutError: killed at the per-submission "
                           f"limit of {STUCK_LIMIT} s)"), row
    assert "  stuck/ps1: timeout 0/" in out
    # a sandbox was started (its job file is left behind) and nothing of it survives
    assert (stuck["sandbox"] / "job" / "job.json").is_file(), "killed before its sandbox started"
    assert stuck["survivors"] == [], "the sandbox of the killed submission is gone too"


def test_unreadable_notebook_is_reported_not_fatal(stuck):
    row = stuck["rows"][("corrupt", "ps1")]
    assert row["status"] == "error" and float(row["score"]) == 0
    assert ("stuck", "ps1") in stuck["rows"], "grading went on after the broken submission"


# --------------------------------------------------------------------------------------------- secrecy

def test_feedback_shows_no_hidden_tests_or_solutions(course, graded):
    pages = sorted((course["build"] / "feedback").rglob("*.html"))
    assert len(pages) >= 10
    for page in pages:
        ps = page.parent.name
        src = course["src"][ps]
        text = html_text(page)
        hidden = distinctive(src, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
        assert hidden, f"{ps} has hidden-test lines to look for"
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{page}: {leaked[:3]}"
        assert "BEGIN HIDDEN TESTS" not in text
        assert "hidden tests ran here" in text
        if page.parts[-3] == "blank":
            solutions = distinctive(src, "### BEGIN SOLUTION", "### END SOLUTION")
            assert not [line for line in solutions if line in text], page


def test_failed_hidden_test_traceback_does_not_quote_it(course, graded):
    from course_lib.grading.feedback import REDACTED

    # ps2's and ps4's tests run in the grader (ps4's on the models rebuilt from their data)
    for ps in ("ps2", "ps4"):
        page = (course["build"] / "feedback" / "blank" / ps / f"{ps}.html").read_text()
        hidden = distinctive(course["src"][ps], "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
        failed = {gid: text for gid, text in feedback_tests(page).items() if gid.startswith("hidden_")}
        assert failed and all(graded["cells"][("blank", ps)][gid] == 0 for gid in failed)
        for gid, text in failed.items():
            assert re.search(r"\b\w+Error\b", text), (ps, gid)  # the student is told why it failed
            assert not [line for line in hidden if line in text], (ps, gid)
        assert any("NotImplementedError" in text for text in failed.values()), ps
    # the grader reports the exception, not a traceback through the hidden lines: nothing to redact
    assert REDACTED not in html_text(course["build"] / "feedback" / "blank" / "ps4" / "ps4.html")


# --------------------------------------------------------------------------------------------- side effects

def test_submissions_are_never_modified(graded, looped):
    assert graded["before"] == graded["after"]
    assert looped["before"] == looped["after"]


def test_nothing_is_written_outside_build(course, graded, looped, stuck):
    # the release (made in a course copy of its own, see released_course), then the three grading runs here
    release = course["release"]
    assert release["repo_unchanged"], "the release changed the repository copy outside build/"
    assert release["home"] == [], release["home"]
    assert release["tmp"] == [], "temporary files stay in build/"
    assert tree_hashes(course["repo"], skip=("build",)) == course["repo_before"]
    assert list(course["home"].iterdir()) == []
    assert list(course["tmp"].iterdir()) == [], "temporary files stay in build/"
    assert (course["build"] / "grades.csv").is_file()
    assert (course["build"] / "nbgrader" / "gradebook.db").is_file()


def test_summary_lists_every_submission_with_its_grade(graded):
    out = graded["proc"].stdout
    # some students handed in only some assignments: each missing one is a row, and the run exits 1
    made = {(s, ps) for s in ("solution", "blank") for ps in ASSIGNMENTS} | \
        {("partial", "ps1"), ("tamper", "ps2"), ("noisy", "ps1")}
    assert {k for k, r in graded["rows"].items() if r["status"] == "graded"} == made
    assert {k for k, r in graded["rows"].items() if r["status"] != "graded"} == \
        {(s, ps) for s in ("partial", "tamper", "noisy") for ps in ASSIGNMENTS} - made
    assert all(r["status"] == "missing" for k, r in graded["rows"].items() if k not in made)
    assert graded["proc"].returncode == 1, out
    summary = out[out.index("student         assignment"):].splitlines()
    assert summary[0].split() == ["student", "assignment", "score", "status", "seconds", "cpu", "s"]
    rows = [line.split() for line in summary[1:1 + len(graded["rows"])]]
    want = [[r["student"], r["assignment"], f"{r['score']}/{r['max_score']}", r["status"]]
            for r in graded["rows"].values()]
    assert [r[:4] for r in rows] == want
    assert {r[0] for r in rows} == {"solution", "blank", "partial", "tamper", "noisy"}
    # each row reports what grading it cost (seconds, CPU seconds): present, not judged
    assert all(re.fullmatch(r"\d+\.\d", r[4]) and re.fullmatch(r"\d+\.\d", r[5]) for r in rows), rows
    # the CPU column counts what ran in each sandbox (a graded submission always uses some)
    assert all(float(r[5]) > 0 for r in rows if r[3] == "graded"), rows
    assert summary[len(rows) + 1].startswith(f"{len(rows)} submission(s)") and "grades.csv" in out
