"""environment.yml (conda users) and pyproject.toml (pip users) must describe the same environment."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _name_and_spec(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", requirement)
    assert match, requirement
    return match.group(1).lower().replace("_", "-"), match.group(3).replace(" ", "")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _conda_pip_section():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_entries = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return env, pip_entries


def test_same_dependency_names_and_pins():
    project = dict(_name_and_spec(r) for r in _pyproject()["dependencies"])
    _, pip_entries = _conda_pip_section()
    conda = dict(_name_and_spec(e) for e in pip_entries if not e.startswith("-e"))
    assert conda == project


def test_conda_installs_the_package_with_dev_extra_and_python_311():
    env, pip_entries = _conda_pip_section()
    assert "-e .[dev]" in pip_entries
    assert "python=3.11" in env["dependencies"]
    assert "pip" in env["dependencies"]


def test_extras_the_issue_asks_for():
    extras = _pyproject()["optional-dependencies"]
    dev = {_name_and_spec(r)[0] for r in extras["dev"]}
    assert {"pytest", "nbval", "hypothesis", "ruff", "nbconvert"} <= dev
    assert any(r.startswith("tensorflow[and-cuda]") for r in extras["gpu"])


def test_requires_python_allows_exactly_the_versions_ci_tests():
    from packaging.specifiers import SpecifierSet

    allowed = SpecifierSet(_pyproject()["requires-python"])
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    tested = {str(step["with"]["python-version"]) for job in workflow["jobs"].values()
              for step in job["steps"] if "setup-python" in step.get("uses", "")}
    candidates = [f"3.{minor}" for minor in range(8, 20)]
    assert {v for v in candidates if f"{v}.0" in allowed} == tested
    env, _ = _conda_pip_section()
    conda_python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert {conda_python.split("=")[1]} == tested


def test_license_is_an_spdx_expression_and_setuptools_can_read_it():
    project = _pyproject()
    assert project["license"] == "MIT"  # a plain string: the table form is deprecated in setuptools >= 77
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    assert any(re.fullmatch(r"setuptools>=(\d+)", r) and int(r.split(">=")[1]) >= 77 for r in build)
