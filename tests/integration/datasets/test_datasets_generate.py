"""`firesight generate` end to end: the documented layout, byte-identical output for any
number of workers, resume after a hard kill, clean refusals of bad arguments, fsspec
URLs, the catalog and `firesight show`."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.datasets import catalog, generate_dataset, open_dataset

REPO = Path(__file__).resolve().parents[3]
CONTRACT = REPO.parent / "shared" / "checks" / "dataset_contract.py"
FAMILIES = "tf3_smouldering_cotton,gas_stove_cooking,people_gathering"
FIRESIGHT = str(Path(sys.executable).parent / "firesight")
ARGS = ["--count", "3", "--seed", "7", "--duration-s", "30", "--frame-rate-hz", "1", "--families", FAMILIES]


def _cli(*args, home: Path, check: bool = True, **popen) -> subprocess.CompletedProcess:
    env = {**os.environ, "FIRESIGHT_HOME": str(home)}
    return subprocess.run([FIRESIGHT, *args], env=env, capture_output=True, text=True,
                          check=check, timeout=300, **popen)


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    out = tmp_path_factory.mktemp("ref") / "ds"
    result = _cli("generate", "--out", str(out), "--workers", "1", *ARGS, home=home)
    assert "3 scenarios" in result.stdout
    return out, home


def test_layout_holds_the_contract(reference):
    out, _ = reference
    for sid in open_dataset(str(out)).ids:
        for name in ("thermal.zarr", "scd41.parquet", "truth.parquet", "scenario.json"):
            assert (out / "scenarios" / sid / name).exists()
    if not CONTRACT.exists():
        pytest.skip(f"{CONTRACT} not present")
    check = subprocess.run([sys.executable, str(CONTRACT), str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    assert "dataset contract holds: 3 scenarios" in check.stdout


def test_two_workers_give_byte_identical_files(reference, tmp_path):
    out, home = reference
    other = tmp_path / "ds"
    _cli("generate", "--out", str(other), "--workers", "2", *ARGS, home=home)
    ref, got = _digest(out), _digest(other)
    assert len(ref) > 20 and ref == got


def test_resume_after_kill_leaves_only_whole_scenarios_and_finishes_identically(reference, tmp_path):
    out, _ = reference
    home = tmp_path / "home"
    target = tmp_path / "ds"
    env = {**os.environ, "FIRESIGHT_HOME": str(home)}
    proc = subprocess.Popen([FIRESIGHT, "generate", "--out", str(target), "--workers", "1",
                             *ARGS], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = target / "manifest.parquet"
    deadline = time.time() + 240
    while not manifest.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert manifest.exists(), "the run ended before committing a scenario"
    ds = open_dataset(str(target))
    assert 1 <= len(ds) <= 3
    for sid in ds.ids:  # every listed scenario is whole and readable
        scenario = ds.load(sid)
        assert scenario.thermal.frames[...].shape == (30, 120, 160)
    store = SQLiteMetadataStore(str(home / "metadata.db"))
    assert {i["id"] for i in catalog.list_scenarios(store, dataset=str(target))} <= set(ds.ids)
    # leave debris of the kind an interrupted run can leave: a staging folder, an
    # uncommitted scenario folder
    (target / "scenarios" / ".tmp-s00009-x-123").mkdir(parents=True)
    (target / "scenarios" / "s00099-stale").mkdir()
    result = _cli("generate", "--out", str(target), "--workers", "1", *ARGS, home=home)
    assert "already there" in result.stdout and "unfinished removed" in result.stdout
    assert not (target / "scenarios" / ".tmp-s00009-x-123").exists()
    assert not (target / "scenarios" / "s00099-stale").exists()
    assert _digest(target) == _digest(out)
    assert {i["id"] for i in catalog.list_scenarios(store, dataset=str(target))} == set(open_dataset(str(target)).ids)


@pytest.mark.parametrize("args, message", [
    (["--duration-s", "-5"], "duration_s must be a number of seconds in [30, 604800], or None (each family's natural length), got -5.0"),
    (["--families", "tf1_open_wood,bonfire"], "families must be names from `firesight scenarios`"),
])
def test_invalid_arguments_fail_at_once_naming_the_parameter(args, message, tmp_path):
    target = tmp_path / "never"
    result = _cli("generate", "--out", str(target), "--count", "2", *args, home=tmp_path / "home", check=False)
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split())
    assert not target.exists()


def test_unwritable_destination_is_refused(tmp_path):
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    result = _cli("generate", "--out", str(blocker / "ds"), "--count", "1", home=tmp_path / "home", check=False)
    assert result.returncode == 2 and "out must be a writable folder or fsspec URL" in result.stderr


def test_fsspec_memory_url_round_trip():
    url = "memory://firesight-test/ds"
    result = generate_dataset(url, count=2, seed=3, duration_s=30.0, frame_rate_hz=1.0,
                              families=["empty_room", "candles"])
    assert result["count"] == 2
    ds = open_dataset(url)
    scenario = ds.load(ds.ids[1])
    assert scenario.thermal.frames[0:3].shape == (3, 120, 160)
    assert len(scenario.truth) == 31


def test_catalog_list_and_show_commands(reference, tmp_path):
    out, home = reference
    listed = _cli("catalog", "list", "--label", "fire", "--json", home=home)
    assert '"family": "tf3_smouldering_cotton"' in listed.stdout and "gas_stove" not in listed.stdout
    table = _cli("catalog", "list", "--dataset", str(out), "--where", "room_height_m>=2.4", home=home)
    assert "3 scenarios" in table.stdout
    sid = next(i for i in open_dataset(str(out)).ids if "tf3" in i)
    png = tmp_path / "fire.png"
    _cli("show", sid, "--data", str(out), "--png", str(png), home=home)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    families = _cli("scenarios", "--json", home=home)
    assert '"name": "window_opening"' in families.stdout
