"""course_lib.install: what the set-up cell says after pip ran on a hosted kernel (the snapshots here are
made up by hand; the real install on a Colab-like kernel is tests/compat/hosted_kernel.py's job)."""

import subprocess
import sys

import pytest

from course_lib import install

BEFORE = {"tensorflow": "2.19.0", "keras": "3.10.0", "numpy": "2.0.2", "Jupyter_Client": "8.6.3"}


def test_only_additions_need_no_restart():
    after = {**BEFORE, "course-lib": "0.1.0", "mnist1d": "0.0.2"}
    report = install.compare(BEFORE, after, imported_modules=["numpy", "tensorflow.python"])
    assert report.added == {"course-lib": "0.1.0", "mnist1d": "0.0.2"}
    assert not report.replaced and not report.removed and not report.restart_needed
    text = report.message()
    assert "added course-lib 0.1.0, mnist1d 0.0.2" in text and "no restart is needed" in text


def test_a_replaced_package_that_was_imported_asks_for_a_restart():
    after = {**BEFORE, "numpy": "2.1.0", "jupyter-client": "8.7.0", "course-lib": "0.1.0"}
    owners = {"numpy": ["numpy"], "jupyter-client": ["jupyter_client"]}
    report = install.compare(BEFORE, after, imported_modules=["numpy.linalg", "os"], modules_of=owners)
    # names compare normalised (Jupyter_Client is jupyter-client)
    assert report.replaced == {"numpy": ("2.0.2", "2.1.0"), "jupyter-client": ("8.6.3", "8.7.0")}
    assert report.imported == ["numpy"] and report.restart_needed
    text = report.message()
    assert "pip replaced numpy 2.0.2 with 2.1.0." in text and "Restart the kernel" in text


def test_a_replaced_package_nobody_imported_needs_no_restart():
    after = {**BEFORE, "keras": "3.12.0"}
    report = install.compare(BEFORE, after, imported_modules=["numpy"], modules_of={"keras": ["keras"]})
    assert report.replaced == {"keras": ("3.10.0", "3.12.0")} and not report.restart_needed
    assert "None of them had been imported yet" in report.message()


def test_installed_versions_reads_this_environment():
    # independent reference: pip's own listing of this interpreter's packages
    listed = subprocess.run([sys.executable, "-m", "pip", "list", "--format=freeze"], capture_output=True,
                            text=True, check=True).stdout
    pip_says = dict(line.split("==") for line in listed.splitlines() if "==" in line)
    ours = install.installed_versions()
    assert ours["numpy"] == pip_says["numpy"] and ours["keras"] == pip_says["keras"]


def test_modules_of_real_distributions():
    report = install.compare({"numpy": "1"}, {"numpy": "2"}, imported_modules=["numpy"])
    assert report.imported == ["numpy"]  # found through the installed metadata


@pytest.mark.parametrize("bad", [None, ["numpy==1"], "numpy"])
def test_snapshots_must_be_mappings(bad):
    with pytest.raises(TypeError, match="before must be a mapping of distribution name to version, got"):
        install.compare(bad, {})
