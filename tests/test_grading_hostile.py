"""The second instructor's trial (issue 21): submissions that tried to sink the run, or to score what they did
not earn, each graded for real in its sandbox, in parallel (``--jobs 2``), beside honest students.

Each attack is added to answers that are right (the solution) or left as stubs, and must score exactly what
those honest answers deserve, leave the next student's grade and the run intact (every row written, the run's
exit status what the rows say), and end inside its limits. Two runs share one release:

    main run     the quick attacks (ps1-ps4), each followed in the CSV by honest students
    limits run   the attacks that only a time limit stops (a driver that stops reading, a model the grader
                 would train for minutes, a cell that never ends under a formula-shaped id), with short
                 limits; a second run started on the same build folder meanwhile is refused

The sandbox's own kernel limits (memory and pids cgroups, capped tmpfs) are tested directly in
tests/test_grading_sandbox.py. Slow: marked ``grading``.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
from test_grading import load, released_course, run_script, save, solution_code, student_version

pytestmark = pytest.mark.grading

PS1_RIGHT = dict.fromkeys(("conv_output_size", "conv2d_loops", "conv2d_fast", "pool2d"))
Q1_ONLY = {"conv_output_size": None}  # 2 points of honest work in ps1
WARM_PROBE = "import sys\nprint('warm:', 'keras' in sys.modules)\n"  # run before the notebook imports Keras
MARKER_VARIABLE = "GRADER_SECRET_MARKER"
MARKER_VALUE = "s3cret-grader-environment-7f3a"


def _rows(path: Path) -> dict[tuple[str, str], dict]:
    with open(path, newline="") as f:
        return {(r["student"], r["assignment"]): r for r in csv.DictReader(f)}


def _cell(source: str, grade_id: str | None = None) -> dict:
    meta = {"nbgrader": {"grade_id": grade_id, "solution": False, "grade": False}} if grade_id else {}
    return {"cell_type": "code", "metadata": meta, "outputs": [], "execution_count": None, "source": source}


def notebook(course, ps: str, answers: dict, prelude: str = "", extra: list[dict] | None = None) -> dict:
    """A submission of ``ps``: ``answers`` per answer cell (None: the solution; absent: the stub), a first
    code cell ``prelude`` and ``extra`` cells after it."""
    nb = student_version(course["rel"][ps], course["src"][ps], answers)
    cells = ([_cell(prelude)] if prelude else []) + (extra or [])
    nb["cells"][1:1] = cells
    return nb


def edited_train_briefly(nb: dict) -> dict:
    """The submission with its read-only ``train_briefly`` cell edited (a larger batch): grading must run the
    source's version of it, as the problem set says."""
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "train_briefly":
            text = "".join(cell["source"])
            assert "batch_size=32" in text
            cell["source"] = text.replace("batch_size=32", "batch_size=64")
            return nb
    raise AssertionError("ps4's release has no train_briefly cell")


def every_answer(course, ps: str) -> dict:
    src = course["src"][ps]
    return {c["metadata"]["nbgrader"]["grade_id"]: None for c in src["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("solution")}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = released_course(tmp_path_factory, "hostile")
    assert course["release"]["returncode"] == 0, course["release"]["stderr"]
    src_dir = course["repo"] / "notebooks" / "assignments" / "source"
    course["src"] = {ps: load(src_dir / ps / f"{ps}.ipynb") for ps in ("ps1", "ps2", "ps3", "ps4")}
    course["rel"] = {ps: load(course["build"] / "release" / ps / f"{ps}.ipynb")
                     for ps in ("ps1", "ps2", "ps3", "ps4")}
    return course


def base_site_packages() -> list[str]:
    """Where the interpreter the venv was made from keeps its packages (scipy is there too, reachable by
    path unless the sandbox hides it)."""
    paths = {sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})["purelib"]}
    paths.add(sysconfig.get_paths()["purelib"])
    return sorted(paths)


def main_attacks(course) -> dict[str, tuple[str, dict, float]]:
    """student -> (assignment, notebook, the points its honest work deserves)."""
    ps2_all, ps3_all, ps4_all = (every_answer(course, ps) for ps in ("ps2", "ps3", "ps4"))
    write_to_grader = (
        "import os, struct, sys\n"
        "fd = int(sys.argv[-1])  # the descriptor the driver reports on\n"
        "{payload}\n"
        "os.write(fd, struct.pack('>I', len(body)) + body)\n"
    )
    return {
        # -- one submission used to take down the whole run
        "h01_deep_json": ("ps1", notebook(course, "ps1", Q1_ONLY, write_to_grader.format(
            payload="body = b'[' * 100_000 + b']' * 100_000")), 2),
        "h02_not_json": ("ps1", notebook(course, "ps1", Q1_ONLY, write_to_grader.format(
            payload="body = b'{\"event\": \\xff'")), 2),
        "h03_huge_outputs": ("ps1", notebook(course, "ps1", Q1_ONLY, extra=[
            _cell("from IPython.display import display\n"
                  "display({f'x-{i}/y': 'v' * 20 for i in range(12_000)}, raw=True)\n")
            for _ in range(40)]), 2),
        "h04_callback_broadcast": ("ps2", notebook(course, "ps2", {
            "numeric_gradient": (
                "import numpy as np\n"
                + solution_code(course["src"]["ps2"], "numeric_gradient").replace(
                    "def numeric_gradient(", "def honest_gradient(")
                + "\n\ndef numeric_gradient(f, x, h=1e-5):\n"
                "    try:\n"
                "        f(np.zeros(190_000_000, np.uint8))  # the grader's f broadcasts it to 18 GB\n"
                "    except Exception as e:\n"
                "        print('refused:', type(e).__name__)\n"
                "    return honest_gradient(f, x, h)\n"),
            "conv2d_backward": (
                "def conv2d_backward(dout, x, w, stride=1, pad=0):\n"
                "    dout[...] = 0  # the finite-difference check used to read it back\n"
                "    return ()\n")}), 2),
        "h05_forged_model": ("ps3", notebook(course, "ps3", {**ps3_all}, prelude=(
            # a real model's config, 1.3 KB, edited to ask for a 50000 x 60000 Dense layer (12 GB of weights):
            # the grader builds it on the student's behalf, inside the submission's memory limit
            "import json, keras\n"
            "from course_lib.grading import wire\n"
            "small = keras.Sequential([keras.Input((5,)), keras.layers.Dense(7, name='huge')], name='big')\n"
            "config = json.loads(small.to_json())\n"
            "def grow(node):\n"
            "    if isinstance(node, dict):\n"
            "        if node.get('class_name') == 'InputLayer':\n"
            "            node['config']['batch_shape'] = [None, 50000]\n"
            "        if node.get('class_name') == 'Dense':\n"
            "            node['config']['units'] = 60000\n"
            "        if isinstance(node.get('input_shape'), list):\n"
            "            node['input_shape'] = [None, 50000]\n"
            "        for value in node.values():\n"
            "            grow(value)\n"
            "    elif isinstance(node, list):\n"
            "        for value in node:\n"
            "            grow(value)\n"
            "grow(config)\n"
            "FORGED = json.dumps(config)\n"
            "_real = wire.KerasModel.of\n"
            "def of(model, *, call=False):\n"
            "    if model.name == 'lenet':\n"
            "        return wire.KerasModel(FORGED, [], call)\n"
            "    return _real(model, call=call)\n"
            "wire.KerasModel.of = staticmethod(of)\n")), 12 - 5),
        "h06_fill_home": ("ps1", notebook(course, "ps1", Q1_ONLY, (
            "import os\n"
            "written = 0\n"
            "try:\n"
            "    for i in range(16):  # 256 MiB files (a file is capped anyway): 4 GiB if nothing stops it\n"
            "        with open(os.path.expanduser(f'~/fill{i}.bin'), 'wb') as f:\n"
            "            for _ in range(16):\n"
            "                f.write(b'\\0' * 2**24)\n"
            "                written += 2**24\n"
            "except OSError as e:\n"
            "    print('stopped after', written >> 20, 'MiB:', e.strerror)\n"
            "for i in range(16):\n"
            "    if os.path.exists(os.path.expanduser(f'~/fill{i}.bin')):\n"
            "        os.remove(os.path.expanduser(f'~/fill{i}.bin'))\n")), 2),
        "h07_log_flood": ("ps1", notebook(course, "ps1", Q1_ONLY, (
            "import os\n"
            "for _ in range(40):\n"
            "    os.write(2, b'x' * 2**24)  # 640 MiB straight to the sandbox's log\n")), 2),
        "h08_many_threads": ("ps1", notebook(course, "ps1", Q1_ONLY, (
            "import threading, time\n"
            "made = 0\n"
            "try:\n"
            "    for _ in range(3000):\n"
            "        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
            "        made += 1\n"
            "except RuntimeError as e:\n"
            "    print('threads stopped at', made)\n")), 2),
        "h09_fork_bomb": ("ps1", notebook(course, "ps1", Q1_ONLY, (
            "import os, time\n"
            "kids = []\n"
            "for _ in range(3000):\n"
            "    try:\n"
            "        pid = os.fork()\n"
            "    except OSError as e:\n"
            "        print('fork stopped after', len(kids)); break\n"
            "    if pid == 0:\n"
            "        time.sleep(60); os._exit(0)\n"
            "    kids.append(pid)\n"
            "for pid in kids:\n"
            "    os.kill(pid, 9)\n"
            "    os.waitpid(pid, 0)\n")), 2),
        # -- points not earned
        "h10_zero_the_input": ("ps1", notebook(course, "ps1", {**Q1_ONLY, "pool2d": (
            "import numpy as np\n"
            "def pool2d(x, size=2, stride=2, mode='max'):\n"
            "    x[...] = 0\n"
            "    n, h, w, c = x.shape\n"
            "    return np.zeros((n, (h - size) // stride + 1, (w - size) // stride + 1, c))\n")}), 2),
        "h11_scipy_by_path": ("ps1", notebook(course, "ps1", {
            "conv_output_size": None, "pool2d": None,
            "conv2d_loops": (
                "def conv2d_loops(x, w, b, stride=1, pad=0):\n"
                "    return shortcut(x, w, b, stride, pad)\n"),
            "conv2d_fast": (
                "def conv2d_fast(x, w, b, stride=1, pad=0):\n"
                "    return shortcut(x, w, b, stride, pad)\n")}, prelude=(
            "import importlib.util, os, sys\n"
            f"for p in {base_site_packages()!r} + ['/usr/lib/python3/dist-packages']:\n"
            "    sys.path.append(p)\n"
            "found = None\n"
            "try:\n"
            "    from scipy.signal import correlate\n"
            "    found = correlate\n"
            "except ImportError as e:\n"
            "    print('no scipy by path:', e)\n"
            "for root in [p for p in sys.path if os.path.isdir(p)]:\n"
            "    init = os.path.join(root, 'scipy', '__init__.py')\n"
            "    if found is None and os.path.isfile(init):\n"
            "        try:\n"
            "            spec = importlib.util.spec_from_file_location('scipy', init)\n"
            "            mod = importlib.util.module_from_spec(spec); sys.modules['scipy'] = mod\n"
            "            spec.loader.exec_module(mod)\n"
            "            from scipy.signal import correlate as found\n"
            "        except Exception as e:\n"
            "            print('no scipy by file:', type(e).__name__)\n"
            "import numpy as np\n"
            "def shortcut(x, w, b, stride=1, pad=0):\n"
            "    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))\n"
            "    full = np.stack([sum(found(xp[n, :, :, c], w[:, :, c, f], mode='valid')\n"
            "                         for c in range(x.shape[-1])) for n in range(x.shape[0])\n"
            "                     for f in range(w.shape[-1])])\n"
            "    full = full.reshape(x.shape[0], w.shape[-1], *full.shape[1:]).transpose(0, 2, 3, 1)\n"
            "    return full[:, ::stride, ::stride, :] + b\n")), 6),
        "h12_made_up_losses": ("ps4", notebook(course, "ps4", {**ps4_all, "degradation_experiment": (
            "def degradation_experiment(depth=16, epochs=3, seed=0):\n"
            "    return {'plain': [2.31, 2.305, 2.303][:epochs], 'residual': [1.9, 0.6, 0.25][:epochs]}\n")}),
            8),
        # -- honest work that the checks must not fail: a deep_cnn that makes its layers in another order than
        # it applies them (so a copy made with clone_model draws its weights in another order), and an edited
        # copy of the read-only train_briefly cell (grading runs the source's)
        # (its first cell also shows that the sandbox was forked from a warm interpreter: Keras imported)
        "h15_other_layer_order": ("ps4", edited_train_briefly(notebook(course, "ps4", {
            **ps4_all, "deep_cnn": (
            "def deep_cnn(depth, *, residual, width=8, input_shape=(8, 8, 1), num_classes=10):\n"
            "    if not isinstance(depth, int) or depth < 2 or depth % 2:\n"
            "        raise ValueError(f'depth must be a positive even int, got {depth!r}')\n"
            "    head = layers.Dense(num_classes, activation='softmax', name='predictions')  # made first\n"
            "    def conv(i):\n"
            "        second = residual and i % 2\n"
            "        return layers.Conv2D(width, 3, padding='same', activation=None if second else 'relu')\n"
            "    convs = [conv(i) for i in reversed(range(depth))][::-1]  # made last first, used in order\n"
            "    inputs = keras.Input(input_shape)\n"
            "    x = layers.Conv2D(width, 3, padding='same', activation='relu', name='stem')(inputs)\n"
            "    if residual:\n"
            "        for i in range(depth // 2):\n"
            "            h = convs[2 * i + 1](convs[2 * i](x))\n"
            "            x = layers.Activation('relu')(layers.Add()([x, h]))\n"
            "    else:\n"
            "        for layer in convs:\n"
            "            x = layer(x)\n"
            "    return keras.Model(inputs, head(layers.Flatten()(x)))\n")}, WARM_PROBE)), 11),
        # -- leaks and what is shown
        "h13_environ": ("ps1", notebook(course, "ps1", Q1_ONLY, (
            "import glob\n"
            "for p in sorted(glob.glob('/proc/[0-9]*/environ')):\n"
            "    try:\n"
            "        print(p, open(p, 'rb').read().replace(b'\\0', b' ').decode(errors='replace'))\n"
            "    except OSError as e:\n"
            "        print(p, e.strerror)\n")), 2),
        "h14_figure": ("ps1", notebook(course, "ps1", Q1_ONLY, (
            "import matplotlib\nmatplotlib.use('Agg')\n"
            "import matplotlib.pyplot as plt\nimport numpy as np\n"
            "from IPython.display import Image, display\nimport io\n"
            "fig, ax = plt.subplots(figsize=(6, 4), dpi=100)\n"
            "rng = np.random.default_rng(0)\n"
            "ax.scatter(rng.random(300), rng.random(300), s=4, c=rng.random(300))  # about 38 KB\n"
            "buf = io.BytesIO(); fig.savefig(buf, format='png'); plt.close(fig)\n"
            "print('figure bytes', len(buf.getvalue()))\n"
            "display(Image(buf.getvalue()))\n")), 2),
        # -- honest students graded around the attacks
        "z_honest_ps1": ("ps1", notebook(course, "ps1", PS1_RIGHT), 14),
        "z_honest_ps2": ("ps2", notebook(course, "ps2", ps2_all), 13),
    }


# Student folders whose names would be formulas or forge lines if written raw (they are "misnamed" rows).
HOSTILE_NAMES = ('=HYPERLINK("http:\\x.invalid","click")', "+cmd", "@SUM(1+1)", "-2+3",
                 "\x1b[31mred", "evil\n  zz_forged-ps1: graded 14 of 14")


@pytest.fixture(scope="module")
def main_run(course):
    subs = course["root"] / "subs-main"
    attacks = main_attacks(course)
    for student, (ps, nb, _) in attacks.items():
        save(nb, subs / student / ps / f"{ps}.ipynb")
    (subs / "h02_not_json" / "ps1" / "pipe").parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(subs / "h02_not_json" / "ps1" / "pipe")  # a FIFO beside a nested-layout notebook
    for name in HOSTILE_NAMES:
        save(notebook(course, "ps1", PS1_RIGHT), subs / name / "ps1.ipynb")
    env_extra = {MARKER_VARIABLE: MARKER_VALUE}
    proc = run_script_env(course, env_extra, "grade", "--submissions", str(subs), "--jobs", "2",
                          "--cell-timeout", "60")
    return {"proc": proc, "rows": _rows(course["build"] / "grades.csv"), "attacks": attacks}


def run_script_env(course, extra: dict, *args: str) -> subprocess.CompletedProcess:
    os.environ.update(extra)
    try:
        return run_script(course, *args)
    finally:
        for key in extra:
            os.environ.pop(key, None)


def test_every_attack_scores_what_its_honest_work_deserves(main_run):
    rows = main_run["rows"]
    for student, (ps, _, deserved) in main_run["attacks"].items():
        row = rows[(student, ps)]
        assert row["status"] == "graded", (student, row)
        assert float(row["score"]) == deserved, (student, row)


def test_the_run_is_intact_and_says_what_it_refused(main_run):
    rows, proc = main_run["rows"], main_run["proc"]
    assert proc.returncode == 1  # the misnamed folders are rows that are not graded
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert not [r for r in rows.values() if r["status"] == "incomplete"]
    for student in ("h01_deep_json", "h02_not_json"):
        assert "refused" in rows[(student, "ps1")]["note"], rows[(student, "ps1")]


def test_grader_never_computes_references_from_what_came_back(course, main_run):
    page = (course["build"] / "feedback" / "h10_zero_the_input" / "ps1" / "ps1.html").read_text()
    assert "changed the array" in page
    page = (course["build"] / "feedback" / "h04_callback_broadcast" / "ps2" / "ps2.html").read_text()
    assert "conv2d_backward changed the array" in page  # it zeroed dout, which the check then used
    assert "refused: RuntimeError" in page  # the 190 MB argument never reached the grader's function


def test_keras_submissions_start_warm(course, main_run):
    page = (course["build"] / "feedback" / "h15_other_layer_order" / "ps4" / "ps4.html").read_text()
    assert "warm: True" in page
    assert "started in a fresh sandbox" not in main_run["proc"].stdout


def test_a_forged_model_is_built_inside_the_submissions_limits(course, main_run):
    page = (course["build"] / "feedback" / "h05_forged_model" / "ps3" / "ps3.html").read_text()
    # the grader tried to build it, inside the worker's memory limit, and the test that asked for it failed
    assert "could not be rebuilt" in page and ("OOM" in page or "MemoryError" in page or "memory" in page)


def test_forbidden_library_unreachable_by_path(course, main_run):
    page = (course["build"] / "feedback" / "h11_scipy_by_path" / "ps1" / "ps1.html").read_text()
    assert "no scipy by path" in page


def test_grader_environment_is_not_visible_in_the_sandbox(course, main_run):
    page = (course["build"] / "feedback" / "h13_environ" / "ps1" / "ps1.html").read_text()
    assert "/proc/1/environ" in page  # the loop ran and printed
    assert MARKER_VALUE not in page and MARKER_VARIABLE not in page


def test_an_ordinary_figure_is_shown(course, main_run):
    page = (course["build"] / "feedback" / "h14_figure" / "ps1" / "ps1.html").read_text()
    size = int(re.search(r"figure bytes (\d+)", page).group(1))
    assert size > 20_000  # an ordinary figure, larger than the old 20,000-character cut
    assert re.search(r'<img[^>]+src="data:image/png;base64,', page)


def test_feedback_of_a_flood_stays_small(course, main_run):
    page = course["build"] / "feedback" / "h03_huge_outputs" / "ps1" / "ps1.html"
    assert page.stat().st_size < 8 * 2**20
    logs = list((course["build"] / "nbgrader").rglob("sandbox.log"))
    assert logs and max(p.stat().st_size for p in logs) < 2 * 2**20


def test_names_reach_the_csv_and_terminal_neutralised(course, main_run):
    text = (course["build"] / "grades.csv").read_text()
    assert "\x1b" not in text
    names = set()
    with open(course["build"] / "grades.csv", newline="") as f:
        for row in csv.reader(f):
            names.add(row[0])
            for value in row:
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row
                assert "\n" not in value and "\x1b" not in value, row
    assert {"'=HYPERLINK(\"http:\\x.invalid\",\"click\")", "'+cmd", "'@SUM(1+1)", "'-2+3"} <= names, names
    out = main_run["proc"].stdout
    assert "\x1b" not in out
    # the forged line never appears as a line of its own
    assert not any(line.lstrip().startswith("zz_forged") for line in out.splitlines()), out[-3000:]


# ------------------------------------------------------------------------------------------- limits run

LIMIT_CELL_TIMEOUT = 5
LIMIT_SUBMISSION = 32


@pytest.fixture(scope="module")
def limits_run(course):
    subs = course["root"] / "subs-limits"
    ps4_all = every_answer(course, "ps4")
    big = (
        "def deep_cnn(depth, residual=False, width=8, input_shape=(8, 8, 1), num_classes=10):\n"
        "    inputs = keras.Input(input_shape)\n"
        "    x = layers.UpSampling2D(16)(inputs)  # few weights, much arithmetic: 128x128 maps\n"
        "    for _ in range(4):\n"
        "        x = layers.Conv2D(48, 3, padding='same', activation='relu')(x)\n"
        "    x = layers.GlobalAveragePooling2D()(x)\n"
        "    return keras.Model(inputs, layers.Dense(num_classes, activation='softmax')(x))\n"
    )
    cases = {
        # the driver shrinks its input pipe to one page and stops reading in the middle of the first request
        # that does not fit: the grader's write used to block for ever
        "l1_stops_reading": notebook(course, "ps1", PS1_RIGHT, prelude=(
            "import fcntl, struct, sys, time\nfrom course_lib.grading import wire\n"
            "fcntl.fcntl(int(sys.argv[-2]), 1031, 4096)  # F_SETPIPE_SZ\n"
            "_real = wire._read_exactly\n"
            "def _read(fd, n, deadline=None):\n"
            "    data = _real(fd, n, deadline)\n"
            "    if n == 4 and struct.unpack('>I', data)[0] > 3000:\n"
            "        time.sleep(10**6)\n"
            "    return data\n"
            "wire._read_exactly = _read\n")),
        # a network that the grader would train for minutes on the student's behalf (training happens in the
        # grader's tests): killed with the submission at its limit
        "l2_huge_model": notebook(course, "ps4", {**ps4_all, "deep_cnn": big, "degradation_experiment": (
            "def degradation_experiment(depth=16, epochs=3, seed=0):\n"
            "    return {'plain': [2.3] * epochs, 'residual': [0.1] * epochs}\n")}),
        "l3_honest_next": notebook(course, "ps1", PS1_RIGHT),
    }
    for student, nb in cases.items():
        ps = "ps4" if student == "l2_huge_model" else "ps1"
        save(nb, subs / student / ps / f"{ps}.ipynb")
    # a cell that never ends, under an id shaped like a formula: the id reaches timed_out_cells
    endless = _cell("while True:\n    pass\n", grade_id="=cmd|' /C calc'!A0")
    nb = notebook(course, "ps1", PS1_RIGHT, extra=[endless])
    save(nb, subs / "l4_formula_id" / "ps1" / "ps1.ipynb")
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_BUILD_DIR", "PYTHONPATH")}
    env.update(HOME=str(course["home"]), TMPDIR=str(course["tmp"]))
    argv = [sys.executable, "scripts/assignments.py", "grade", "--submissions", str(subs), "--jobs", "2",
            "--cell-timeout", str(LIMIT_CELL_TIMEOUT), "--submission-timeout", str(LIMIT_SUBMISSION)]
    first = subprocess.Popen(argv, cwd=course["repo"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    lock = course["build"] / "nbgrader" / "grading.lock"
    for _ in range(600):  # until the first run holds the build folder
        if lock.is_file() and lock.read_text().strip():
            break
        time.sleep(0.1)
    second = subprocess.run(argv, cwd=course["repo"], env=env, capture_output=True, text=True, timeout=120)
    out, err = first.communicate(timeout=600)
    print(out[-4000:], err[-4000:])
    rows = _rows(course["build"] / "grades.csv")
    return {"first": (first.returncode, out, err), "second": second, "rows": rows}


def test_a_second_run_on_the_same_build_is_refused(limits_run):
    second = limits_run["second"]
    assert second.returncode == 2, second
    assert "another grading run" in second.stderr.lower(), second.stderr


def test_stalls_end_inside_their_limits_and_the_next_student_is_graded(limits_run):
    rows = limits_run["rows"]
    assert rows[("l3_honest_next", "ps1")]["status"] == "graded"
    assert float(rows[("l3_honest_next", "ps1")]["score"]) == 14
    stops = rows[("l1_stops_reading", "ps1")]
    # question 1's calls are small and were answered; the first large request found nobody reading
    assert (stops["status"], float(stops["score"])) == ("graded", 2.0), stops
    assert "stopped" in stops["note"], stops
    huge = rows[("l2_huge_model", "ps4")]
    assert huge["status"] == "timeout" and float(huge["score"]) == 0, huge
    # killed by the run at the limit (the grader's side was still training), or stopped by the grader's own
    # deadline check right after its training: a timeout either way
    assert "per-submission limit" in huge["note"], huge
    code, out, _ = limits_run["first"]
    lines = re.finditer(r"  (\S+)/ps\d: \w+ \S+ in ([\d.]+) s", out)
    seconds = {m.group(1): float(m.group(2)) for m in lines}
    # what the grader itself reports: nothing ran past its submission's limit (plus the kill's grace)
    assert seconds and max(seconds.values()) <= LIMIT_SUBMISSION + 15, seconds
    assert code == 1  # the timeout row


def test_formula_shaped_cell_id_is_neutralised(limits_run, course):
    row = limits_run["rows"][("l4_formula_id", "ps1")]
    assert row["status"] == "graded" and float(row["score"]) == 14, row
    assert row["timed_out_cells"].startswith("'="), row
    assert json.dumps(row)  # the row is plain data
