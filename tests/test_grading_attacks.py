"""Students who try to game the grader (issue 10): each attack is a submission, graded for real, sandboxed.

Each attack is added to answers that are wrong (stubs) or right (the solution), and must score exactly what
those answers deserve, leak no hidden-test code into the feedback, write nothing outside its sandbox, and
leave the repository copy, the gradebook and the next student's grade untouched. Slow: marked ``grading``.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from test_grading import (
    load,
    released_course,
    run_script,
    save,
    solution_code,
    student_version,
    tree_hashes,
)

pytestmark = pytest.mark.grading

PS1_IDS = ("conv_output_size", "conv2d_loops", "conv2d_fast", "pool2d")
STUB = "raise NotImplementedError()\n"


def _rows(path) -> dict[tuple[str, str], dict]:
    with open(path) as f:
        return {(r["student"], r["assignment"]): r for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = released_course(tmp_path_factory, "attacks")
    repo = course["repo"]
    assert course["release"]["returncode"] == 0, course["release"]["stderr"]
    src_dir = repo / "notebooks" / "assignments" / "source"
    released = ("ps1", "ps2", "ps3")
    course["src"] = {ps: load(src_dir / ps / f"{ps}.ipynb") for ps in released}
    course["rel"] = {ps: load(course["build"] / "release" / ps / f"{ps}.ipynb") for ps in released}
    course["repo_before"] = tree_hashes(repo, skip=("build",))
    return course


def ps1(course, answers: dict[str, str | None], prelude: str = "") -> dict:
    """A ps1 submission: ``answers`` per answer cell (None: the solution; absent: the stub), and a first
    code cell ``prelude`` that runs before any answer."""
    nb = student_version(course["rel"]["ps1"], course["src"]["ps1"], answers)
    if prelude:
        nb["cells"].insert(
            1,
            {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": prelude},
        )
    return nb


def attacks(course) -> dict[str, tuple[dict, float]]:
    """student -> (ps1 notebook, the points its honest work deserves)."""
    build, repo = course["build"], course["repo"]
    right = dict.fromkeys(PS1_IDS)
    q1_only = {"conv_output_size": None}  # 2 points of honest work
    checks = repo / "course_lib" / "checks.py"
    src_nb = repo / "notebooks" / "assignments" / "source" / "ps1" / "ps1.ipynb"
    out = {
        "a01_honest": (ps1(course, right), 14),
        "a02_tamper_checks": (
            ps1(
                course,
                q1_only,
                prelude=(
                    f"for p in [{str(checks)!r}, '/opt/course/course_lib/checks.py']:\n"
                    "    try:\n"
                    "        open(p, 'a').write('\\ndef assert_close(*a, **k):\\n    return 0.0\\n')\n"
                    "    except OSError as e:\n        print('cannot write', p, e)\n"
                ),
            ),
            2,
        ),
        "a03_next_student_wrong": (ps1(course, {}), 0),
        "a04_detached_rewrite": (
            ps1(
                course,
                {},
                prelude=(
                    "import subprocess\n"
                    f"subprocess.Popen(['sh', '-c', 'sleep 2; echo a04_detached_rewrite,ps1,14,14,graded > "
                    f"{build / 'grades.csv'}; rm -f {build / 'nbgrader' / 'gradebook.db'}'],"
                    " start_new_session=True)\n"
                    f"import os\nfor p in [{str(build / 'nbgrader' / 'gradebook.db')!r}]:\n"
                    "    try:\n        os.remove(p)\n    except OSError as e:\n        print(e)\n"
                ),
            ),
            0,
        ),
        "a05_input_transformer": (
            ps1(
                course,
                {},
                prelude=(
                    "def blank(lines):\n"
                    "    return [] if any('assert' in l or 'HIDDEN' in l for l in lines) else lines\n"
                    "get_ipython().input_transformers_cleanup.append(blank)\n"
                ),
            ),
            0,
        ),
        "a06_read_source": (
            ps1(
                course,
                {},
                prelude=(
                    "import json, re\n"
                    f"for p in [{str(src_nb)!r}, '../../../notebooks/assignments/source/ps1/ps1.ipynb']:\n"
                    "    try:\n"
                    "        nb = json.load(open(p))\n"
                    "        for c in nb['cells']:\n"
                    "            if 'BEGIN SOLUTION' in ''.join(c['source']):\n"
                    "                exec(''.join(c['source']))\n"
                    "    except OSError as e:\n        print('no source', e)\n"
                ),
            ),
            0,
        ),
        "a07_monkeypatch": (
            ps1(
                course,
                q1_only,
                prelude=(
                    "import numpy, builtins\n"
                    "import course_lib.checks\n"
                    "course_lib.checks.assert_close = lambda *a, **k: 0.0\n"
                    "numpy.abs = lambda x: x * 0\n"
                    "numpy.allclose = lambda *a, **k: True\n"
                    "numpy.array_equal = lambda *a, **k: True\n"
                    "builtins.AssertionError = type('Nope', (Exception,), {})\n"
                    "try:\n    import tensorflow as tf\n    tf.GradientTape.gradient = lambda *a, **k: None\n"
                    "except Exception as e:\n    print('no tf', type(e).__name__)\n"
                ),
            ),
            2,
        ),
        "a08_caller_frame": (
            ps1(
                course,
                {
                    "conv2d_loops": (
                        "import sys\n"
                        "def conv2d_loops(x, w, b, stride=1, pad=0):\n"
                        "    f = sys._getframe(1)\n"
                        "    while f is not None:\n"
                        "        for k in ('reference', 'want_q2h', 'expected'):\n"
                        "            if k in f.f_locals:\n                return f.f_locals[k]\n"
                        "        f = f.f_back\n"
                        "    return x\n"
                    )
                },
            ),
            0,
        ),
        "a09_equal_to_everything": (
            ps1(
                course,
                {
                    "conv_output_size": (
                        "class Any(int):\n    def __eq__(self, o):\n        return True\n"
                        "    __hash__ = int.__hash__\n"
                        "def conv_output_size(n, kernel, stride=1, pad=0):\n    return Any(0)\n"
                    ),
                    "pool2d": (
                        "import numpy as np\nclass A(np.ndarray):\n"
                        "    def __eq__(self, o):\n        return True\n"
                        "def pool2d(x, size=2, stride=2, mode='max'):\n    return np.zeros(3).view(A)\n"
                    ),
                },
            ),
            0,
        ),
        "a10_print_hidden": (
            ps1(
                course,
                {},
                prelude=(
                    "import linecache, sys\n"
                    "for f in list(sys._current_frames().values()):\n"
                    "    while f is not None:\n"
                    "        print(''.join(linecache.getlines(f.f_code.co_filename)))\n        f = f.f_back\n"
                    "print(open('/proc/self/cmdline').read())\n"
                ),
            ),
            0,
        ),
        "a11_html_script": (
            ps1(
                course,
                q1_only,
                prelude=(
                    "from IPython.display import HTML, Javascript, display\n"
                    "display(HTML('<script>alert(1)</script><h1 class=\"total\">Score: 14 / 14</h1>'))\n"
                    "display(Javascript('alert(2)'))\n"
                ),
            ),
            2,
        ),
        "a12_shortcut": (
            ps1(
                course,
                {
                    "conv2d_loops": (
                        "import tensorflow as tf\n"
                        "def conv2d_loops(x, w, b, stride=1, pad=0):\n"
                        "    p = [[0, 0], [pad, pad], [pad, pad], [0, 0]]\n"
                        "    return tf.nn.conv2d(x, w, strides=stride, padding=p).numpy() + b\n"
                    )
                },
            ),
            0,
        ),
    }
    return out


@pytest.fixture(scope="module")
def graded(course):
    subs = course["root"] / "submissions"
    for student, (nb, _) in attacks(course).items():
        save(nb, subs / student / "ps1" / "ps1.ipynb")
    # the file layout problems: missing, duplicate, misnamed, hidden, symlink to the instructor's source
    save(ps1(course, dict.fromkeys(PS1_IDS)), subs / "b_dup" / "ps1" / "ps1.ipynb")
    save(ps1(course, dict.fromkeys(PS1_IDS)), subs / "b_dup" / "ps1.ipynb")
    save(ps1(course, dict.fromkeys(PS1_IDS)), subs / "b_misnamed" / "ps1 (1).ipynb")
    save(ps1(course, dict.fromkeys(PS1_IDS)), subs / ".b_hidden" / "ps1.ipynb")
    (subs / "b_link").mkdir()
    os.symlink(
        course["repo"] / "notebooks" / "assignments" / "source" / "ps1" / "ps1.ipynb",
        subs / "b_link" / "ps1.ipynb",
    )
    before = tree_hashes(subs)
    gradebook = course["build"] / "nbgrader" / "gradebook.db"
    gradebook_before = gradebook.read_bytes()
    proc = run_script(course, "grade", "--submissions", str(subs), "--only", "ps1", "--cell-timeout", "30")
    # a04 started its detached process before its feedback page was written: wait until twice as long as that
    # process sleeps has passed since then (the run may have lasted that long already)
    page = course["build"] / "feedback" / "a04_detached_rewrite" / "ps1" / "ps1.html"
    started = page.stat().st_mtime if page.is_file() else time.time()
    time.sleep(max(0.0, started + 4 - time.time()))
    return {
        "proc": proc,
        "rows": _rows(course["build"] / "grades.csv"),
        "subs": subs,
        "before": before,
        "gradebook_before": gradebook_before,
        "gradebook": gradebook,
    }


def test_every_attack_scores_what_its_honest_work_deserves(course, graded):
    rows = graded["rows"]
    for student, (_, deserved) in attacks(course).items():
        row = rows[(student, "ps1")]
        assert row["status"] == "graded", (student, row)
        assert row["sandbox"] == "bwrap", row
        assert float(row["score"]) == deserved, (student, row)


def test_shortcut_is_detected_and_named(graded):
    row = graded["rows"][("a12_shortcut", "ps1")]
    assert "forbidden library" in row["note"] and "tensorflow" in row["note"], row


def test_nothing_written_outside_the_sandbox(course, graded):
    assert tree_hashes(course["repo"], skip=("build",)) == course["repo_before"]
    assert graded["gradebook"].read_bytes() == graded["gradebook_before"]
    assert tree_hashes(graded["subs"]) == graded["before"]
    text = (course["build"] / "grades.csv").read_text()
    assert "a04_detached_rewrite,ps1,0,14,graded" in text
    assert not list(course["home"].iterdir())
    assert not course["release"]["home"], "the release (see released_course) wrote into HOME"


def test_no_student_process_outlives_its_sandbox(course, graded):
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "a04_detached_rewrite" not in ps and "sleep 2; echo" not in ps


def test_feedback_is_escaped_and_leaks_no_hidden_tests(course, graded):
    from course_lib.grading.trusted import load_spec

    spec = load_spec(course["repo"] / "notebooks" / "assignments" / "source" / "ps1" / "ps1.ipynb")
    assert spec.hidden_lines
    for student in attacks(course):
        page = (course["build"] / "feedback" / student / "ps1" / "ps1.html").read_text()
        assert "BEGIN HIDDEN" not in page and "<script" not in page.lower(), student
        for line in spec.hidden_lines:
            assert line not in page, (student, line)
        for line in solution_code(course["src"]["ps1"], "conv2d_fast").splitlines():
            if (
                len(line.strip()) > 30
                and student != "a01_honest"
                and not line.strip().startswith(("def", '"'))
            ):
                assert line.strip() not in page, (student, line)
    page = (course["build"] / "feedback" / "a11_html_script" / "ps1" / "ps1.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page or "rich output shown as text" in page
    assert page.count("class='total'") == 1


def test_layout_problems_are_rows_and_fail_the_run(graded):
    rows, proc = graded["rows"], graded["proc"]
    assert proc.returncode == 1
    assert rows[("b_dup", "ps1")]["status"] == "duplicate"
    assert rows[("b_link", "ps1")]["status"] == "refused"
    assert rows[("b_misnamed", "ps1")]["status"] == "missing"
    assert any(r["status"] == "misnamed" and r["student"] == "b_misnamed" for r in rows.values())
    assert any(r["status"] == "hidden" and r["student"] == ".b_hidden" for r in rows.values())
    assert float(rows[("b_link", "ps1")]["score"]) == 0


def ps2_wrong_maxpool(course) -> dict:
    """ps2 with every answer right but maxpool2d_backward's."""
    wrong = "def maxpool2d_backward(dout, x, size=2, stride=2):\n    return x * 0\n"
    return student_version(
        course["rel"]["ps2"],
        course["src"]["ps2"],
        {
            "numeric_gradient": None,
            "conv2d_backward": None,
            "maxpool2d_backward": wrong,
            "avgpool2d_backward": None,
        },
    )


def ps3_patching(course) -> dict:
    """LeNet honestly (5 points); the last answer cell then patches what ps3's tests used to rely on when they
    ran beside the student's code (vgg's and a hidden conv_params test would pass): the tests now run in the
    grader, on the models rebuilt from their data."""
    patch = (
        "import keras\n"
        "import course_lib.checks as checks\n"
        "checks.assert_same_architecture = lambda *a, **k: None\n"
        "checks.architecture_rows = lambda *a, **k: []\n"
        "keras.Model.count_params = lambda self: 431_080\n"
        "keras.layers.Layer.count_params = lambda self: 0\n"
        "def vgg(*a, **k):\n    return lenet()\n"
        "def conv_params(*a, **k):\n    return 0\n"
    )
    return student_version(course["rel"]["ps3"], course["src"]["ps3"], {"lenet": None, "conv_params": patch})


@pytest.fixture(scope="module")
def trusted_run(course, tmp_path_factory):
    """One run of its own (every expected row graded: exit status 0) for the two submissions below, of one
    student: ps2 (trusted scores and callbacks) and ps3 (patching the tests)."""
    subs = tmp_path_factory.mktemp("trusted") / "subs"
    save(ps2_wrong_maxpool(course), subs / "c_trusted" / "ps2.ipynb")
    save(ps3_patching(course), subs / "c_trusted" / "ps3.ipynb")
    proc = run_script(course, "grade", "--submissions", str(subs), "--only", "ps2", "ps3")
    return {"proc": proc, "rows": _rows(course["build"] / "grades.csv")}


def test_ps2_trusted_scores_and_callbacks(trusted_run):
    proc = trusted_run["proc"]
    assert proc.returncode == 0, proc.stdout
    row = trusted_run["rows"][("c_trusted", "ps2")]
    assert (row["status"], float(row["score"])) == ("graded", 9.0), row


def test_ps3_patching_the_tests_keras_and_checks_gains_nothing(trusted_run):
    proc = trusted_run["proc"]
    assert proc.returncode == 0, proc.stdout
    row = trusted_run["rows"][("c_trusted", "ps3")]
    assert (row["status"], float(row["score"])) == ("graded", 5.0), row


def test_killed_run_leaves_a_marked_partial_result(course, tmp_path):
    subs = tmp_path / "subs"
    save(ps1(course, {}, prelude="while True:\n    pass\n"), subs / "d_loop" / "ps1.ipynb")
    save(ps1(course, {}), subs / "d_next" / "ps1.ipynb")
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_BUILD_DIR", "PYTHONPATH")}
    env.update(HOME=str(course["home"]), TMPDIR=str(course["tmp"]))
    proc = subprocess.Popen(
        [
            sys.executable,
            "scripts/assignments.py",
            "grade",
            "--submissions",
            str(subs),
            "--only",
            "ps1",
            "--cell-timeout",
            "120",
        ],
        cwd=course["repo"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    grades = course["build"] / "grades.csv"
    for _ in range(600):
        if grades.is_file() and "d_loop" in grades.read_text():
            break
        time.sleep(0.1)
    time.sleep(3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rows = _rows(grades)
    assert {rows[(s, "ps1")]["status"] for s in ("d_loop", "d_next")} == {"incomplete"}
    time.sleep(1)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "course_lib.grading.driver" not in ps or str(course["repo"]) not in ps


def test_refuses_to_run_without_a_sandbox(course, tmp_path):
    save(ps1(course, {}), tmp_path / "subs" / "e_stub" / "ps1.ipynb")
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_BUILD_DIR", "PYTHONPATH")}
    env.update(HOME=str(course["home"]), TMPDIR=str(course["tmp"]), PATH="/nonexistent")
    proc = subprocess.run(
        [
            sys.executable,
            "scripts/assignments.py",
            "grade",
            "--submissions",
            str(tmp_path / "subs"),
            "--only",
            "ps1",
        ],
        cwd=course["repo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and "sandbox" in proc.stderr
    assert json.loads  # the module is used above; keeps the import list honest
