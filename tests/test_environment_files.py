"""environment.yml (conda users), the Makefile and pyproject.toml must describe the same environment: the
dependency ranges live in pyproject.toml, the exact development versions in constraints.txt, and both
installers use them."""

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent
# the Pythons the compatibility matrix (make test-compat, tests/compat/) and the CI workflow run on
SUPPORTED_PYTHONS = {"3.10", "3.11", "3.12", "3.13"}


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _conda():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_entries = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return env, pip_entries


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_conda_installs_the_package_with_the_constraints_and_the_dev_extra():
    env, pip_entries = _conda()
    assert pip_entries == ["-c constraints.txt", "-e .[dev]"]
    assert "pip" in env["dependencies"]


def test_makefile_installs_with_the_constraints():
    text = (ROOT / "Makefile").read_text()
    recipe = text[text.index("$(STAMP):"):text.index("touch $(STAMP)")]
    assert "constraints.txt" in recipe.splitlines()[0]  # a new pin reinstalls
    commands = re.split(r"&&|\|\||\n\t", recipe.replace("\\\n", " "))
    installs = [c for c in commands if "pip install" in c and "--upgrade pip" not in c]
    assert len(installs) >= 3 and all("-c constraints.txt" in c for c in installs), installs


def test_every_requirement_has_a_pin_inside_its_range():
    # the pinned development environment is one point inside the ranges the kit promises
    pins = _pins()
    project = _pyproject()
    extras = project["optional-dependencies"]
    requirements = list(project["dependencies"]) + [r for name, extra in extras.items() if name != "gpu"
                                                    for r in extra]
    for text in requirements:
        req = Requirement(text)
        name = req.name.lower().replace("_", "-")
        if name == "course-lib" or (req.marker and not req.marker.evaluate()):
            continue
        assert name in pins, f"{name} has no pin in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), (text, pins[name])


def test_hosted_kernels_keep_their_stack():
    # no exact pins at run time (pip on Colab would replace the kernel's TensorFlow) and no desktop tools
    deps = [Requirement(r) for r in _pyproject()["dependencies"]]
    assert not any(s.operator in ("==", "===") for r in deps for s in r.specifier), deps
    names = {r.name for r in deps}
    assert not names & {"jupyterlab", "ipywidgets", "notebook"}, names
    lab = {Requirement(r).name for r in _pyproject()["optional-dependencies"]["lab"]}
    assert {"jupyterlab", "ipywidgets"} <= lab


def test_extras_the_issue_asks_for():
    extras = _pyproject()["optional-dependencies"]
    dev = {Requirement(r).name for r in extras["dev"]}
    assert {"nbval", "ruff", "nbconvert"} <= dev
    assert "course_lib[lab,test]" in extras["dev"]
    assert {"pytest", "hypothesis"} <= {Requirement(r).name for r in extras["test"]}
    assert any(r.startswith("tensorflow[and-cuda]") for r in extras["gpu"])


def test_requires_python_allows_exactly_the_versions_ci_tests():
    allowed = SpecifierSet(_pyproject()["requires-python"])
    candidates = [f"3.{minor}" for minor in range(8, 20)]
    assert {v for v in candidates if f"{v}.0" in allowed} == SUPPORTED_PYTHONS
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    matrix = {str(v) for job in workflow["jobs"].values()
              for v in job.get("strategy", {}).get("matrix", {}).get("python", [])}
    assert matrix == SUPPORTED_PYTHONS
    matrix_file = (ROOT / "tests" / "compat" / "matrix.toml").read_text()
    from_compat = set(re.findall(r'python = "(3\.\d+)"', matrix_file))
    assert from_compat | {"3.11"} == SUPPORTED_PYTHONS
    env, _ = _conda()
    conda_python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert conda_python == "python=3.11"  # the version constraints.txt was made on


def test_license_is_an_spdx_expression_and_setuptools_can_read_it():
    project = _pyproject()
    assert project["license"] == "MIT"  # a plain string: the table form is deprecated in setuptools >= 77
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    assert any(re.fullmatch(r"setuptools>=(\d+)", r) and int(r.split(">=")[1]) >= 77 for r in build)
