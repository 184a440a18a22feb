"""The container entry point as SageMaker runs it: `serve` (here `python -m
firesight.serving.sagemaker serve`) loads the model folder named by FIRESIGHT_MODEL_DIR (the
stand-in for /opt/ml/model), listens on SAGEMAKER_BIND_TO_PORT, answers /ping and anonymous
/invocations."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx

from firesight.detection.shipped_model import default_model_path

REPO = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ping(url: str, proc: subprocess.Popen, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(url + "/ping", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not answer /ping")


def _run(args, env):
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)


def test_serve_entry_point_in_the_sagemaker_layout(tmp_path):
    model_dir = tmp_path / "opt" / "ml" / "model"
    shutil.copytree(default_model_path(), model_dir)
    port = _free_port()
    env = {**os.environ, "FIRESIGHT_MODEL_DIR": str(model_dir), "SAGEMAKER_BIND_TO_PORT": str(port),
           "FIRESIGHT_HOME": str(tmp_path / "home")}
    proc = _run([sys.executable, "-m", "firesight.serving.sagemaker", "serve"], env)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ping(url, proc)
        assert httpx.get(url + "/ping").json()["source"] == "path"
        n = len((model_dir / "bundle.json").read_text().split('"feature_names"')[1].split("]")[0].split(","))
        r = httpx.post(url + "/invocations", content=",".join(["0.5"] * n), headers={"Content-Type": "text/csv"})
        assert r.status_code == 200, r.text
        assert 0.0 <= r.json()["predictions"][0]["probability"] <= 1.0
    finally:
        proc.terminate()
        proc.wait(20)


def test_serve_console_script_is_declared():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["serve"] == "firesight.serving.sagemaker:main"
