"""The notebooks in notebooks/ run top to bottom, headless, each in under a minute; none is committed with outputs.

Each notebook runs in a fresh kernel of this interpreter (a kernel spec written for the test, so a
``python3`` kernel installed elsewhere on the machine is never picked up), with ``MPLBACKEND=Agg``
and the notebook's output files sent to a temporary folder (``NEGSIM_NOTEBOOK_OUT``).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT

os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")  # before jupyter_core is imported: no platformdirs warning

NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
TIME_LIMIT_S = 60.0
CELL_TIMEOUT_S = 120
KERNEL = "negsim-test-python"
RUN_FROM_ROOT = {"01_quickstart"}
"""Notebooks executed with the repository root as working directory (the others from notebooks/)."""


def test_the_six_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == [
        "01_quickstart",
        "02_security_guarantees",
        "03_tweak_parameters",
        "04_established_models",
        "05_sweeps",
        "06_calibration",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    raw = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in raw["cells"] if c["cell_type"] == "code"]
    assert code, "a notebook without code"
    for k, cell in enumerate(code):
        assert cell.get("outputs") == [], f"code cell {k} has outputs: clear them before committing"
        assert cell.get("execution_count") is None, f"code cell {k} has an execution count"
    assert "widgets" not in raw.get("metadata", {}), "saved widget state: clear it before committing"


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """A kernel spec for this interpreter on JUPYTER_PATH; headless matplotlib; outputs into tmp_path."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "negsim tests",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # debugpy's note on frozen modules
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("NEGSIM_NOTEBOOK_OUT", str(out))
    return out


def execute(path: Path, cwd: Path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(cwd)}},
    )
    t0 = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - t0


def outputs(nb, kind: str | None = None) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if kind is None or o.output_type == kind]


def stdout(nb) -> str:
    return "".join(o.text for o in outputs(nb, "stream") if o.name == "stdout")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_headless(path, kernel_env):
    cwd = ROOT if path.stem in RUN_FROM_ROOT else NOTEBOOK_DIR
    nb, seconds = execute(path, cwd)
    stderr = [o.text for o in outputs(nb, "stream") if o.name == "stderr"]
    assert not stderr, f"{path.name} wrote to stderr: {stderr}"
    assert not outputs(nb, "error")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    assert seconds < TIME_LIMIT_S, f"{path.name} took {seconds:.1f} s (limit {TIME_LIMIT_S:.0f} s)"
    print(f"{path.name}: {seconds:.1f} s")
    text = stdout(nb)
    if path.stem == "01_quickstart":
        assert (kernel_env / "quickstart-report.html").is_file() and (kernel_env / "quickstart-run").is_dir()
        assert "A ceasefire is agreed in" in text
        html = [o for o in outputs(nb, "execute_result") if "text/html" in o.get("data", {})]
        assert len(html) >= 3  # the scenario, the run and the comparison show themselves as tables
        pngs = [o for o in outputs(nb, "execute_result") if "image/png" in o.get("data", {})]
        assert len(pngs) == 5  # r.plot.*() drawn as images, even without pyplot's inline backend
        plain = [o["data"]["text/plain"] for o in html if o["data"]["text/plain"].startswith("<")]
        assert [s.split()[0] for s in plain] == ["<LoadedScenario", "<RunResult", "<Comparison"], plain
        assert all(len(s) < 300 for s in plain)  # one-line text views, not dataclass dumps
    if path.stem == "02_security_guarantees":
        assert "with non-overlapping 95% intervals: True" in text
    if path.stem == "03_tweak_parameters":
        views = [o for o in outputs(nb) if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert views, "the sliders were not displayed"
        m = re.search(r"6 re-runs of 1,000 replicates x 104 weeks: median ([0-9.]+) s", text)
        assert m, text
        assert float(m.group(1)) < 1.0, f"a slider re-run takes {m.group(1)} s (target: under a second)"
