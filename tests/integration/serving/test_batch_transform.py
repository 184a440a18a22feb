"""Batch transform with SageMaker's conventions: one KEY.out per input, line for line, equal
to the reference path; all or nothing on failure; folders and object-store URLs; the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from firesight.adapters.local.objectstore import FsspecObjectStore
from firesight.errors import DataError
from firesight.serving.batch import run_transform, transform_object
from firesight.serving.model import InferenceService


@pytest.fixture(scope="module")
def service():
    return InferenceService.load("default")


def _rows(service, n, seed=0, variant="full"):
    rng = np.random.default_rng(seed)
    k = len(service.feature_names(variant))
    x = rng.normal(size=(n, k)) * rng.choice([0.5, 5, 50, 500], size=k)
    x[rng.random(x.shape) < 0.05] = np.nan
    return x


def _csv(x):
    return "".join(",".join("" if np.isnan(v) else repr(float(v)) for v in r) + "\n" for r in x).encode()


def _reference(service, x, stream=False):
    frame = pd.DataFrame(x, columns=service.feature_names())
    return service.bundle.predict_proba(frame, "full", groups=np.zeros(len(x)) if stream else np.arange(len(x)))


def _probs(out: bytes):
    return np.array([float(line.split(",")[0]) if line.split(",")[0] else np.nan
                     for line in out.decode().strip().split("\n")])


def test_folder_in_folder_out_line_for_line(tmp_path, service):
    src, dst = tmp_path / "in", tmp_path / "out"
    (src / "site-a").mkdir(parents=True)
    a, b = _rows(service, 150, 1), _rows(service, 20, 2)
    (src / "site-a" / "room1.csv").write_bytes(_csv(a))
    (src / "room2.csv").write_bytes(_csv(b))
    result = run_transform(service, FsspecObjectStore(str(src)), ["room2.csv", "site-a/room1.csv"],
                           FsspecObjectStore(str(dst)), max_payload_bytes=4000)  # many mini-batches
    assert sorted(result.outputs) == ["room2.csv.out", "site-a/room1.csv.out"]
    assert result.records == 170
    np.testing.assert_allclose(_probs((dst / "site-a" / "room1.csv.out").read_bytes()),
                               _reference(service, a), atol=1e-6)
    np.testing.assert_allclose(_probs((dst / "room2.csv.out").read_bytes()), _reference(service, b),
                               atol=1e-6)


def test_stream_mode_carries_history_across_mini_batches(service):
    x = _rows(service, 80, 3)
    out, n = transform_object(service, _csv(x), sequence="stream", max_payload_bytes=3000)
    assert n == 80
    np.testing.assert_allclose(_probs(out), _reference(service, x, stream=True), atol=1e-6)


def test_a_bad_line_fails_the_job_and_writes_nothing(tmp_path, service):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    good = _csv(_rows(service, 30, 4))
    lines = _csv(_rows(service, 120, 5)).split(b"\n")
    lines[99] = lines[99].replace(b",", b",oops,", 1)
    (src / "a.csv").write_bytes(good)
    (src / "b.csv").write_bytes(b"\n".join(lines))
    n_cols = len(service.feature_names()) + 1
    with pytest.raises(DataError, match=rf"b.csv: line 100 has {n_cols} columns"):
        run_transform(service, FsspecObjectStore(str(src)), ["a.csv", "b.csv"],
                      FsspecObjectStore(str(dst)), max_payload_bytes=5000)
    assert not dst.exists() or list(dst.rglob("*")) == []


class _FailingStore(FsspecObjectStore):
    """A real folder store whose write of one key fails (a full disk, a dropped connection)."""

    def __init__(self, url, fail_key):
        super().__init__(url)
        self.fail_key = fail_key

    def put_bytes(self, key, data):
        if key == self.fail_key:
            raise OSError("simulated write failure")
        super().put_bytes(key, data)


def test_a_failed_write_removes_the_outputs_already_written(tmp_path, service):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in ("a.csv", "b.csv", "c.csv"):
        (src / name).write_bytes(_csv(_rows(service, 5, 6)))
    with pytest.raises(OSError):
        run_transform(service, FsspecObjectStore(str(src)), ["a.csv", "b.csv", "c.csv"],
                      _FailingStore(str(dst), "c.csv.out"))
    assert [p for p in dst.rglob("*") if p.is_file()] == []


def test_object_store_url_and_jsonlines(service):
    src = FsspecObjectStore("memory://bt-in")
    dst = FsspecObjectStore("memory://bt-out/results")
    x = _rows(service, 12, 7)
    body = "\n".join(json.dumps([None if np.isnan(v) else float(v) for v in r]) for r in x).encode()
    src.put_bytes("dev/part-0.jsonl", body)
    result = run_transform(service, src, ["dev/part-0.jsonl"], dst, content_type="application/jsonlines",
                           accept="application/jsonlines")
    assert result.outputs == ["dev/part-0.jsonl.out"]
    got = [json.loads(line) for line in dst.get_bytes("dev/part-0.jsonl.out").decode().strip().split("\n")]
    np.testing.assert_allclose([g["probability"] for g in got], _reference(service, x), atol=1e-6)
    assert {g["level"] for g in got} <= {"normal", "watch", "alarm"}


def test_cli_batch_transform_on_a_folder(tmp_path, service):
    from firesight.cli import app

    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    x = _rows(service, 25, 8)
    (src / "r.csv").write_bytes(_csv(x))
    (src / ".hidden").write_bytes(b"not an input")
    res = CliRunner().invoke(app, ["batch-transform", "--model", "default", "--input", str(src),
                                   "--output", str(dst)])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["inputs"] == ["r.csv"] and report["records"] == 25
    np.testing.assert_allclose(_probs((dst / "r.csv.out").read_bytes()), _reference(service, x), atol=1e-6)
    # one input file: its output lands as FILE.out under the output folder
    res = CliRunner().invoke(app, ["batch-transform", "--model", "default", "--input", str(src / "r.csv"),
                                   "--output", str(tmp_path / "out2")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out2" / "r.csv.out").read_bytes() == (dst / "r.csv.out").read_bytes()
