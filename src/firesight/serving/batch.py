"""Batch transform with SageMaker's conventions, on a folder or an object-store URL.

As a SageMaker transform job with ``SplitType=Line`` and ``AssembleWith=Line``:

- every object under the input prefix (or the one input file) is split into records by
  line; records are scored in mini-batches of at most ``max_payload_bytes`` (SageMaker's
  ``MaxPayloadInMB``), exactly as ``/invocations`` scores a request;
- the output for input ``KEY`` is ``KEY.out`` under the output prefix, one output line per
  input line, in order;
- nothing partial: every input is scored before the first output is written, and if any
  input fails (a malformed line, named by file and line) the job writes nothing; if an
  output write itself fails, the outputs already written by this job are deleted again.

``sequence="stream"`` treats each input file as the consecutive windows of one device (the
LSTM reads history across mini-batches); the default scores every line on its own.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass

import numpy as np

from firesight.errors import DataError, InvalidParameterError
from firesight.ops import metrics
from firesight.ports import ObjectStore
from firesight.serving.model import InferenceService
from firesight.serving.payload import CSV, MAX_PAYLOAD_BYTES, RequestError, parse_csv, parse_json

JSONLINES = "application/jsonlines"
CONTENT_TYPES = (CSV, JSONLINES)


@dataclass(frozen=True)
class TransformResult:
    """What a job did: inputs, records, output keys and the time it took."""

    inputs: list[str]
    outputs: list[str]
    records: int
    seconds: float

    def to_dict(self) -> dict:
        return {"inputs": self.inputs, "outputs": self.outputs, "records": self.records,
                "seconds": round(self.seconds, 3),
                "records_per_s": round(self.records / self.seconds) if self.seconds > 0 else None}


def _mini_batches(lines: list[bytes], limit: int):
    """Consecutive (start, lines) groups whose joined size stays within ``limit`` bytes."""
    start, size, group = 0, 0, []
    for i, line in enumerate(lines):
        if len(line) + 1 > limit:
            raise RequestError(413, f"line {i + 1} is {len(line)} bytes, above the mini-batch "
                                    f"limit of {limit} bytes")
        if group and size + len(line) + 1 > limit:
            yield start, group
            start, size, group = i, 0, []
        group.append(line)
        size += len(line) + 1
    if group:
        yield start, group


def _parse(lines: list[bytes], content_type: str, names: list[str]) -> np.ndarray:
    if content_type == CSV:
        return parse_csv(b"\n".join(lines), names)
    instances = b"[" + b",".join(lines) + b"]"
    return parse_json(b'{"instances": ' + instances + b"}", names).values


def _render_line(p: float, level: str | None, accept: str) -> str:
    if accept == CSV:
        return f"{'' if math.isnan(p) else repr(p)},{level or ''}"
    return json.dumps({"probability": None if math.isnan(p) else p, "level": level})


def transform_object(service: InferenceService, data: bytes, *, content_type: str = CSV,
                     accept: str = CSV, variant: str | None = None, sequence: str | None = None,
                     max_payload_bytes: int = MAX_PAYLOAD_BYTES, name: str = "input") -> tuple[bytes, int]:
    """Score one input object; return the output bytes and the record count.

    Raises :class:`DataError` naming ``name`` and the line for a malformed record.
    """
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    while lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        return b"", 0
    variant = service.variant(variant)
    names = service.feature_names(variant)
    parts = []
    for start, group in _mini_batches(lines, max_payload_bytes):
        try:
            parts.append(_parse(group, content_type, names))
        except RequestError as exc:
            raise DataError(f"{name}: {_shift_line(exc.reason, start)}") from None
    values = np.concatenate(parts)
    t0 = time.perf_counter()
    if sequence == "stream":
        probs, levels = service.predict(values, variant=variant, sequence="stream")
    else:
        probs = np.concatenate([service.predict(v, variant=variant)[0] for v in parts])
        levels = service.levels(probs, variant, "independent")
    metrics.INFERENCE_LATENCY.labels(path="batch", variant=variant).observe(time.perf_counter() - t0)
    metrics.INFERENCE_ROWS.labels(path="batch", variant=variant).inc(len(probs))
    out = "\n".join(_render_line(p, lv, accept) for p, lv in zip(probs.tolist(), levels)) + "\n"
    return out.encode(), len(probs)


def _shift_line(reason: str, start: int) -> str:
    """Make a mini-batch's ``line N`` / ``instance N`` the file's line number."""
    import re

    reason = re.sub(r"\bline (\d+)", lambda m: f"line {int(m.group(1)) + start}", reason)
    return re.sub(r"\binstance (\d+)", lambda m: f"line {int(m.group(1)) + start + 1}", reason)


def run_transform(service: InferenceService, source: ObjectStore, keys: list[str],
                  sink: ObjectStore, *, output_prefix: str = "", content_type: str = CSV,
                  accept: str = CSV, variant: str | None = None, sequence: str | None = None,
                  max_payload_bytes: int = MAX_PAYLOAD_BYTES) -> TransformResult:
    """Score ``keys`` of ``source`` and write ``{output_prefix}{key}.out`` to ``sink``, all or
    nothing (see the module docstring)."""
    if content_type not in CONTENT_TYPES:
        raise InvalidParameterError("content_type", f"one of {CONTENT_TYPES}", content_type)
    if accept not in CONTENT_TYPES:
        raise InvalidParameterError("accept", f"one of {CONTENT_TYPES}", accept)
    if not keys:
        raise DataError(f"no input objects under {source.url}")
    t0 = time.perf_counter()
    staged: list[tuple[str, bytes]] = []
    records = 0
    for key in keys:
        out, n = transform_object(service, source.get_bytes(key), content_type=content_type,
                                  accept=accept, variant=variant, sequence=sequence,
                                  max_payload_bytes=max_payload_bytes, name=key)
        staged.append((f"{output_prefix}{key}.out", out))
        records += n
    written: list[str] = []
    try:
        for key, data in staged:
            sink.put_bytes(key, data)
            written.append(key)
    except Exception:
        for key in written:
            sink.delete(key)
        raise
    return TransformResult(inputs=list(keys), outputs=written, records=records,
                           seconds=time.perf_counter() - t0)


def open_locations(input_url: str, output_url: str) -> tuple[ObjectStore, list[str], ObjectStore]:
    """Stores and input keys for an input folder/URL (every object under it, recursively;
    ``.out`` files and hidden files skipped) or one input file, and the output folder/URL."""
    import os

    from firesight.bootstrap import object_store

    if "://" not in input_url and os.path.isfile(input_url):
        source = object_store(os.path.dirname(os.path.abspath(input_url)))
        keys = [os.path.basename(input_url)]
    else:
        source = object_store(input_url)
        keys = [k for k in source.list() if not k.endswith(".out")
                and not any(part.startswith(".") for part in k.split("/"))]
    return source, keys, object_store(output_url)
