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
