"""Fast tests of course_lib.grading: submissions, reports, sources, layout, nbgrader's configuration, process
control, the CLI.

No grading run here (tests/test_grading.py and tests/test_grading_attacks.py do those; the sandbox, wire and
feedback pieces are in tests/test_grading_safety.py). Notebooks are built by hand with nbformat and the
nbgrader metadata the assignments use.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course_lib.grading import layout, markers, processes, reports, sources, submissions
from course_lib.grading.release import stale_assignments

REPO = Path(__file__).resolve().parents[1]
PUBLIC_SOURCE = REPO / "notebooks" / "assignments" / "source"
SCRIPT = REPO / "scripts" / "assignments.py"


# ------------------------------------------------------------------------------------------------- helpers

def nbg_cell(kind: str, grade_id: str, text: str, **extra):
    """A cell with nbgrader metadata: kind is "answer", "test" or "readonly" (a locked markdown cell)."""
    meta = {"grade": kind == "test", "solution": kind == "answer", "locked": kind in ("test", "readonly"),
            "grade_id": grade_id, "schema_version": 3, "task": False}
    if kind == "test":
        meta["points"] = 1
    meta.update(extra)
    cell = new_markdown_cell(text) if kind == "readonly" else new_code_cell(text)
    cell.metadata["nbgrader"] = meta
    return cell


def grade_ids(nb) -> list[str]:
    return [cell["metadata"].get("nbgrader", {}).get("grade_id") for cell in nb["cells"]]


def tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


def venv_on_path(monkeypatch) -> None:
    # nbgrader's Gradebook runs `alembic` from PATH; the grader puts this environment's bin/ first, so do we.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    monkeypatch.setenv("PATH", path)


# ------------------------------------------------------------------------------------------- notebooks

def source_notebook():
    return new_notebook(cells=[
        nbg_cell("readonly", "intro", "# Problem set"),
        nbg_cell("answer", "a1", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
        nbg_cell("test", "t1", "assert x == 1"),
        nbg_cell("answer", "a2", "### BEGIN SOLUTION\ny = 2\n### END SOLUTION"),
        nbg_cell("test", "t2", "assert y == 2"),
        nbg_cell("test", "t3", "assert y > 0"),
    ])


# --------------------------------------------------------------------------------------------- submissions

def write(path: Path, text: str = "{}") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_both_submission_layouts_are_found_and_bad_entries_reported(tmp_path):
    for rel in ("ann/ps1/ps1.ipynb", "ann/ps1/data.csv", "bob/ps2.ipynb", "bob/notes.txt", "bad id/ps1.ipynb",
                "-dash/ps1.ipynb", ".hidden/ps1.ipynb", "cy/ps1/ps1.ipynb", "cy/ps1.ipynb", "cy/ps2.ipynb",
                "dee/ps3/ps3.ipynb"):
        write(tmp_path / rel)
    write(tmp_path / "stray.ipynb")  # a file at the top level is not a student folder
    (tmp_path / "eve").mkdir()
    (tmp_path / "eve" / "ps1.ipynb").symlink_to(tmp_path / "ann" / "ps1" / "ps1.ipynb")
    found, problems = submissions.find_submissions(tmp_path, ["ps1", "ps2"], ["ps1", "ps2", "ps3"])
    got = [(s.student, s.assignment, s.source.relative_to(tmp_path).as_posix()) for s in found]
    assert got == [("ann", "ps1", "ann/ps1"), ("bob", "ps2", "bob/ps2.ipynb"), ("cy", "ps2", "cy/ps2.ipynb")]
    rows = {(p.student, p.assignment, p.status) for p in problems}
    assert rows == {(".hidden", "", "hidden"), ("-dash", "", "misnamed"), ("bad id", "", "misnamed"),
                    ("stray.ipynb", "", "misnamed"), ("ann", "ps2", "missing"), ("bob", "ps1", "missing"),
                    ("bob", "", "misnamed"), ("cy", "ps1", "duplicate"), ("dee", "ps1", "missing"),
                    ("dee", "ps2", "missing"), ("eve", "ps1", "refused"), ("eve", "ps2", "missing")}
    assert all(p.note for p in problems)


@pytest.mark.parametrize("good", ["ann", "a.b@uni.edu", "s_123", "X-9+y"])
def test_valid_student_ids(good):
    assert markers.STUDENT_ID.match(good)


@pytest.mark.parametrize("bad", ["bad id", "-x", ".x", "a/b", "", "é"])
def test_invalid_student_ids(bad):
    assert not markers.STUDENT_ID.match(bad)


def test_stage_copies_both_layouts_and_leaves_read_only_originals_untouched(tmp_path):
    subs = tmp_path / "subs"
    nested = write(subs / "ann" / "ps1" / "ps1.ipynb", '{"a": 1}')
    write(subs / "ann" / "ps1" / "data.csv", "1,2")
    write(subs / "ann" / "ps1" / ".ipynb_checkpoints" / "ps1-checkpoint.ipynb")
    flat = write(subs / "bob" / "ps1.ipynb", '{"b": 2}')
    for path in (nested, flat):
        path.chmod(0o444)
    before = tree_hashes(subs)
    build = layout.BuildLayout(tmp_path / "build")
    found, _ = submissions.find_submissions(subs, ["ps1"])
    dests = [submissions.stage(sub, build) for sub in found]
    assert dests == [build.submitted("ann", "ps1"), build.submitted("bob", "ps1")]
    assert sorted(p.name for p in dests[0].iterdir()) == ["data.csv", "ps1.ipynb"]
    assert (dests[1] / "ps1.ipynb").read_text() == '{"b": 2}'
    # mode bits, not os.access: these tests may run as root, who may write anything
    assert all(p.stat().st_mode & 0o200 for d in dests for p in [d, *d.rglob("*")]), "regrading deletes them"
    submissions.stage(found[0], build)  # staging again replaces the copy
    assert tree_hashes(subs) == before
    assert nested.stat().st_mode & 0o777 == 0o444


# ------------------------------------------------------------------------------------------------- reports

def test_reports_have_the_exact_columns_and_one_row_per_submission(tmp_path):
    build = layout.BuildLayout(tmp_path / "build")
    ann = submissions.Submission("ann", "ps1", Path("x"), status="graded", score=7.5, max_score=14,
                                 by_question=[("test_q1", 2.0, 2.0), ("hidden_q1", 0.0, 3.0)],
                                 timed_out_cells=["conv2d_fast", "pool2d"], sandbox="bwrap")
    bob = submissions.Submission("bob", "ps2", Path("y"), status="timeout", max_score=13, sandbox="bwrap",
                                 note="killed after 20 s; see log, with a comma")
    grades, by_question = reports.write_reports([ann, bob], build)
    assert (grades, by_question) == (build.build / "grades.csv", build.build / "grades_by_question.csv")
    assert build.build == tmp_path / "build"
    with open(grades, newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [
        ["student", "assignment", "score", "max_score", "status", "sandbox", "timed_out_cells", "note"],
        ["ann", "ps1", "7.5", "14", "graded", "bwrap", "conv2d_fast;pool2d", ""],
        ["bob", "ps2", "0", "13", "timeout", "bwrap", "", "killed after 20 s; see log, with a comma"],
    ]
    with open(by_question, newline="") as f:
        assert list(csv.reader(f)) == [["student", "assignment", "cell", "score", "max_score"],
                                       ["ann", "ps1", "test_q1", "2", "2"],
                                       ["ann", "ps1", "hidden_q1", "0", "3"]]
    summary = reports.format_summary([ann, bob], build).splitlines()
    assert summary[1].split()[:4] == ["ann", "ps1", "7.5/14", "graded"]
    assert summary[2].split()[:4] == ["bob", "ps2", "0/13", "timeout"]
    assert summary[-1].startswith("2 submission(s)")


# ------------------------------------------------------------------------------------------- source linter

def save_nb(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def test_lint_passes_a_sound_source_and_names_every_problem_of_a_broken_one(tmp_path):
    good = save_nb(source_notebook(), tmp_path / "good.ipynb")
    assert sources.lint_source(good) == []
    bad = new_notebook(cells=[
        nbg_cell("answer", "a1", "x = 1"),
        nbg_cell("readonly", "r1", "# instructions"),
        nbg_cell("test", "t1", "assert x == 1", locked=False),
    ])
    bad.cells[0].outputs = [new_output("stream", name="stdout", text="1")]
    problems = sources.lint_source(save_nb(bad, tmp_path / "bad.ipynb"))
    assert problems == [
        "answer cell a1 has no ### BEGIN SOLUTION region: the release would show it",
        "cell a1 has stored outputs: clear them before committing",
        "test cell t1 is not read-only: students could edit it",
        "test cell t1 follows the read-only cell r1: put it right after its answer cell or another test cell",
    ]


@pytest.mark.parametrize("ps", sources.discover_assignments(PUBLIC_SOURCE))
def test_course_sources_lint_clean(ps):
    assert sources.lint_source(PUBLIC_SOURCE / ps / f"{ps}.ipynb") == []


def test_notebook_points_add_up_the_test_cells(tmp_path):
    nb = source_notebook()
    nb.cells[4].metadata.nbgrader["points"] = 2.5
    assert sources.notebook_points(save_nb(nb, tmp_path / "ps.ipynb")) == 4.5


# -------------------------------------------------------------------------------------------------- layout

def test_source_root_prefers_the_option_then_the_environment_then_the_public_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(layout.SOURCE_ENV_VAR, raising=False)
    assert layout.source_root() == PUBLIC_SOURCE.resolve()
    monkeypatch.setenv(layout.SOURCE_ENV_VAR, str(tmp_path / "env"))
    assert layout.source_root() == tmp_path / "env"
    assert layout.source_root(tmp_path / "opt") == tmp_path / "opt"
    monkeypatch.setenv(layout.SOURCE_ENV_VAR, "")
    assert layout.source_root() == PUBLIC_SOURCE.resolve()


def test_build_dir_is_read_when_asked_not_at_import(tmp_path, monkeypatch):
    monkeypatch.setenv(layout.BUILD_ENV_VAR, str(tmp_path / "b1"))
    assert layout.build_dir() == tmp_path / "b1"
    monkeypatch.setenv(layout.BUILD_ENV_VAR, str(tmp_path / "b2"))
    assert layout.build_dir() == tmp_path / "b2"
    assert layout.build_dir(tmp_path / "b3") == tmp_path / "b3"
    monkeypatch.delenv(layout.BUILD_ENV_VAR)
    assert layout.build_dir() == (REPO / "build").resolve()


def test_nbgrader_config_uses_the_package_and_configures_the_release_only(tmp_path, monkeypatch):
    from traitlets.config.loader import PyFileConfigLoader

    monkeypatch.setenv(layout.BUILD_ENV_VAR, str(tmp_path))
    c = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    assert c.CourseDirectory.root == str(tmp_path)
    assert c.CourseDirectory.db_url == f"sqlite:///{tmp_path / 'nbgrader' / 'gradebook.db'}"
    assert c.CourseDirectory.release_directory == "release"
    assert c.CourseDirectory.source_directory == "nbgrader/source"
    # grading does not go through nbgrader: nothing configures its autograde or feedback steps
    assert sorted(c) == ["CourseDirectory"]


def test_grading_imports_neither_tensorflow_nor_keras():
    code = textwrap.dedent("""
        import sys
        sys.dont_write_bytecode = True
        import course_lib.grading, course_lib.grading.cli, course_lib.grading.runner
        import course_lib.grading.trusted, course_lib.grading.feedback, course_lib.grading.driver
        from traitlets.config.loader import PyFileConfigLoader
        PyFileConfigLoader("nbgrader_config.py", path=sys.argv[1]).load_config()
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
        print(heavy)
    """)
    out = subprocess.run([sys.executable, "-c", code, str(REPO)], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------------------------- processes

def test_kill_tree_kills_a_grandchild_in_its_own_session(tmp_path):
    # a grandchild started in a new session: killing the child's process group alone would miss it
    pid_file = tmp_path / "grandchild.pid"
    child = textwrap.dedent(f"""
        import subprocess, sys, time
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
        open({str(pid_file)!r}, "w").write(str(p.pid))
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], cwd=tmp_path, start_new_session=True)
    for _ in range(300):  # up to 30 s for the grandchild to start
        if pid_file.is_file() and pid_file.read_text():
            break
        time.sleep(0.1)
    grandchild = int(pid_file.read_text())
    assert grandchild in processes.descendants(proc.pid)
    processes.kill_tree(proc)
    assert proc.returncode is not None
    stat = Path(f"/proc/{grandchild}/stat")
    for _ in range(100):  # the orphan is reaped by init soon after the kill; wait for that, up to 10 s
        if not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.1)
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z", "grandchild survived"


# ----------------------------------------------------------------------------------------- private sources

def test_export_source_copies_into_a_private_folder_and_leaves_the_public_one_alone(tmp_path):
    before = tree_hashes(PUBLIC_SOURCE)
    dest = tmp_path / "private"
    names = sources.export_source(dest, source=PUBLIC_SOURCE)
    assert names == sources.discover_assignments(PUBLIC_SOURCE) and len(names) >= 1
    for ps in names:
        assert (dest / ps / f"{ps}.ipynb").read_bytes() == (PUBLIC_SOURCE / ps / f"{ps}.ipynb").read_bytes()
    assert layout.SOURCE_ENV_VAR in (dest / "README.md").read_text()
    with pytest.raises(ValueError, match="already holds"):
        sources.export_source(dest, source=PUBLIC_SOURCE, only=names[:1])
    (dest / names[0] / "extra.txt").write_text("stale")
    assert sources.export_source(dest, source=PUBLIC_SOURCE, only=names[:1], force=True) == names[:1]
    assert not (dest / names[0] / "extra.txt").exists(), "force replaces the folder"
    assert tree_hashes(PUBLIC_SOURCE) == before


@pytest.mark.parametrize("where", ["inside_repo", "inside_source"])
def test_export_source_refuses_folders_that_would_be_published_or_overlap(tmp_path, where):
    if where == "inside_repo":
        dest, source = REPO / "build" / "private-sources", PUBLIC_SOURCE
        match = "outside the repository"
    else:
        source = tmp_path / "src"
        write(source / "ps1" / "ps1.ipynb")
        dest, match = source / "copy", "overlap"
    with pytest.raises(ValueError, match=match):
        sources.export_source(dest, source=source)
    assert not dest.exists()


def test_export_source_rejects_unknown_assignments(tmp_path):
    with pytest.raises(ValueError, match="only must name assignments"):
        sources.export_source(tmp_path / "p", source=PUBLIC_SOURCE, only=["nope"])


def run_cli(*args: str, env_extra: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (layout.SOURCE_ENV_VAR, layout.BUILD_ENV_VAR)}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_release_from_a_private_source_folder(tmp_path):
    """export-source, then release from the private copy (named by the environment variable)."""
    before = tree_hashes(PUBLIC_SOURCE)
    private, build = tmp_path / "private", tmp_path / "build"
    proc = run_cli("export-source", str(private), "--only", "ps1")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in private.iterdir()) == ["README.md", "ps1"]
    # an edit only the private copy has, so that the release shows where it came from
    nb = json.loads((private / "ps1" / "ps1.ipynb").read_text())
    intro = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    intro["source"] = "PRIVATE COPY 2024\n\n" + "".join(intro["source"])
    (private / "ps1" / "ps1.ipynb").write_text(json.dumps(nb, indent=1))

    proc = run_cli("--build-dir", str(build), "release", env_extra={layout.SOURCE_ENV_VAR: str(private)})
    assert proc.returncode == 0, proc.stderr
    released = (build / "release" / "ps1" / "ps1.ipynb").read_text()
    assert "PRIVATE COPY 2024" in released
    assert not any(m in released for m in markers.SOLUTION_MARKERS + markers.HIDDEN_MARKERS)
    assert sorted(p.name for p in (build / "release").iterdir()) == ["ps1"], "only what the private copy has"
    assert f"released from {private}" in proc.stdout
    # the record now matches the private copy, so grade would not re-release; the public copy differs
    record = layout.BuildLayout(build)
    assert stale_assignments(["ps1"], record, private) == []
    assert stale_assignments(["ps1"], record, PUBLIC_SOURCE) == ["ps1"]
    assert tree_hashes(PUBLIC_SOURCE) == before


def test_source_option_is_accepted_after_the_command_and_checked(tmp_path):
    proc = run_cli("release", "--source", str(tmp_path / "missing"))
    assert proc.returncode == 2 and "must be a folder of assignment sources" in proc.stderr
    (tmp_path / "empty").mkdir()
    proc = run_cli("--source", str(tmp_path / "empty"), "release")
    assert proc.returncode == 2 and "no assignments under" in proc.stderr
    proc = run_cli("release", "--only", "nope", "--build-dir", str(tmp_path / "b"))
    assert proc.returncode == 2 and "unknown assignment" in proc.stderr
    assert not (tmp_path / "b").exists(), "usage errors write nothing"
