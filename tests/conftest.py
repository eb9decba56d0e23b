from __future__ import annotations

import os
import shutil
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]


def _find_shared() -> Path:
    """The workplace's read-only ``shared/`` folder: $NEGSIM_SHARED, beside the repo, or /work/shared."""
    for cand in (os.environ.get("NEGSIM_SHARED"), ROOT.parent / "shared", "/work/shared"):
        if cand and (Path(cand) / "reference-cases").is_dir():
            return Path(cand)
    return ROOT.parent / "shared"


SHARED = _find_shared()
SCENARIOS = ROOT / "scenarios"
BUNDLED = ["baseline", "nato_entry", "reassurance_backstop", "reassurance_only", "aid_only"]
ARRANGEMENTS = ["nato_entry", "reassurance_backstop", "reassurance_only", "aid_only"]


@pytest.fixture(autouse=True)
def _seeds_beside_tmp(request):
    """Scenarios copied into a test's tmp folder cite ../seeds/...: put the digests there."""
    if "tmp_path" not in request.fixturenames:
        return
    tmp = request.getfixturevalue("tmp_path")
    seeds = tmp.parent / "seeds"
    if not seeds.exists():
        shutil.copytree(ROOT / "seeds", seeds, dirs_exist_ok=True)


def scenario_path(name: str) -> Path:
    return SCENARIOS / f"{name}.yaml"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def default_runs():
    """The bundled arrangements at the face-validity ensemble size (shared by several tests)."""
    import sim

    return {name: sim.run(sim.load(scenario_path(name)), replicates=4000, seed=20250227) for name in BUNDLED}
