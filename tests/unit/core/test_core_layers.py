"""Imports point down the layers (docs/ARCHITECTURE: physics <- sensors <- scenarios <-
datasets <- features <- detection <- services/agents), and the domain layers import no
cloud, messaging, SQL or web library. Read from the source with :mod:`ast`, so imports
inside functions count too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import firesight
from support.imports import imported_modules

SRC = Path(firesight.__file__).resolve().parent

#: the firesight packages each layer may import (besides itself)
ALLOWED = {
    "physics": {"errors", "units"},
    "sensors": {"errors", "units", "physics", "_atomic"},
    "scenarios": {"errors", "units", "physics", "sensors", "_atomic"},
    "datasets": {"errors", "units", "physics", "sensors", "scenarios", "engines", "ports", "_atomic"},
}
FORBIDDEN_LIBRARIES = {"boto3", "botocore", "paho", "amqtt", "sqlite3", "sqlalchemy",
                       "fastapi", "starlette", "uvicorn", "aiohttp", "requests", "httpx"}
DOMAIN = ("physics", "sensors", "features", "detection")


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_lower_layers_import_only_downwards(layer):
    bad = []
    for path in sorted((SRC / layer).rglob("*.py")):
        for line, module in imported_modules(path):
            parts = module.split(".")
            if parts[0] != "firesight" or len(parts) < 2 or parts[1] == layer:
                continue
            if parts[1] not in ALLOWED[layer]:
                bad.append(f"{path.relative_to(SRC)}:{line} imports {module}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("layer", DOMAIN)
def test_domain_layers_import_no_io_libraries(layer):
    bad = [f"{path.relative_to(SRC)}:{line} imports {module}"
           for path in sorted((SRC / layer).rglob("*.py"))
           for line, module in imported_modules(path)
           if module.split(".")[0] in FORBIDDEN_LIBRARIES]
    assert not bad, "\n".join(bad)


def test_the_checker_sees_an_upward_import(tmp_path):
    """Positive control: an import inside a function is found."""
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from firesight.scenarios.scene import ThermalScene\n")
    assert (2, "firesight.scenarios.scene") in imported_modules(source)


def _loaded_after(modules: str, prefixes: tuple[str, ...]) -> list[str]:
    """Modules starting with one of ``prefixes`` loaded by importing ``modules`` in a fresh
    interpreter."""
    code = (f"import json, sys, {modules}; "
            f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_importing_sensors_loads_no_scenario_module():
    upper = ("firesight.scenarios", "firesight.datasets", "firesight.features", "firesight.detection")
    sensors = "firesight.sensors.frames, firesight.sensors.lepton, firesight.sensors.scd41, firesight.physics"
    assert _loaded_after(sensors, upper) == []
    assert _loaded_after("firesight.scenarios", upper) != []  # positive control


def test_units_loads_neither_numba_nor_physics():
    """The services convert TLinear counts with :mod:`firesight.units`; it must stay light."""
    heavy = ("numba", "scipy", "firesight.physics", "firesight.sensors")
    assert _loaded_after("firesight.units, firesight._atomic", heavy) == []


def test_reading_frames_loads_no_camera_model():
    """Dataset and replay readers build :class:`~firesight.sensors.frames.LeptonFrames`;
    that must not compile or load the camera model's numba kernels."""
    heavy = ("numba", "firesight.sensors.lepton")
    assert _loaded_after("firesight.sensors, firesight.sensors.frames, firesight.datasets.reader", heavy) == []
    assert _loaded_after("firesight.sensors.lepton", heavy) != []  # positive control


def test_camera_pose_is_one_type():
    from firesight.scenarios.scene import CameraPose as ScenePose
    from firesight.sensors.pose import CameraPose

    assert ScenePose is CameraPose
