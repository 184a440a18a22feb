"""Request bodies in, response bodies out, for SageMaker's ``/invocations`` contract.

Inputs
------
``text/csv``
    One window per line, the model's features in its documented order, no header, comma
    separated (``\\r\\n`` or ``\\n``). An empty field is a missing value (as SageMaker's
    built-in algorithms read CSV); the tokens ``nan``/``inf`` and anything that is not a
    decimal number are refused.
``application/json``
    ``{"instances": [[v, ...], ...]}`` (rows in feature order) or
    ``{"instances": [{"name": v, ...}, ...]}`` (every feature named once); ``null`` is a
    missing value; ``NaN``/``Infinity`` literals, booleans, strings and numbers beyond the
    float range are refused. Optional ``"sequence": "independent" | "stream"`` and
    ``"variant": "full" | "thermal" | "gas"``.

Every refusal is a :class:`RequestError` carrying the HTTP status and a reason that names
the line/instance, the column and what arrived.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass

import numpy as np

from firesight.errors import DataError

CSV = "text/csv"
JSON = "application/json"
#: Request bodies above this size are refused with 413 (SageMaker real-time endpoints accept
#: at most 6 MB per invocation: "Amazon SageMaker endpoints and quotas", Maximum payload size).
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
#: Line counts up to this are parsed in Python (lowest latency); longer bodies with pandas.
_SMALL_LINES = 64
SEQUENCE_MODES = ("independent", "stream")


class RequestError(DataError):
    """A request that cannot be served, with its HTTP status (400, 406, 413, 415)."""

    def __init__(self, status: int, reason: str):
        self.status = int(status)
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Parsed:
    """A parsed request: the feature matrix (NaN where missing) and the options it carried."""

    values: np.ndarray
    sequence: str | None = None
    variant: str | None = None


def media_type(header: str | None) -> str:
    """The bare media type of a Content-Type or Accept entry, lower case."""
    return (header or "").split(";", 1)[0].strip().lower()


def parse_body(body: bytes, content_type: str | None, feature_names: list[str]) -> Parsed:
    """Parse a request body into a ``(rows, len(feature_names))`` float64 matrix."""
    kind = media_type(content_type)
    if kind == CSV:
        return Parsed(parse_csv(body, feature_names))
    if kind == JSON:
        return parse_json(body, feature_names)
    raise RequestError(415, f"Content-Type must be {CSV!r} or {JSON!r}, got {content_type!r}")


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(400, f"body is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _bad_token(line_no: int, col: int, token: str, names: list[str]) -> RequestError:
    return RequestError(400, f"line {line_no}, column {col + 1} ({names[col]}): {token!r} is not a "
                             "finite decimal number (leave the field empty for a missing value)")


def parse_csv(body: bytes, names: list[str]) -> np.ndarray:
    """Rows of a CSV body; see the module docstring for the rules."""
    text = _decode(body)
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise RequestError(400, "body holds no rows")
    n_cols = len(names)
    counts = [line.count(",") for line in lines]
    for i, c in enumerate(counts):
        if c != n_cols - 1:
            got = c + 1 if lines[i] else 0
            raise RequestError(400, f"line {i + 1} has {got} columns, the model takes {n_cols} "
                                    f"(features in order: {', '.join(names[:3])}, ...)")
    if len(lines) <= _SMALL_LINES:
        out = np.empty((len(lines), n_cols))
        for i, line in enumerate(lines):
            for j, token in enumerate(line.split(",")):
                token = token.strip()
                if token == "":
                    out[i, j] = math.nan
                    continue
                try:
                    value = float(token)
                except ValueError:
                    raise _bad_token(i + 1, j, token, names) from None
                if not math.isfinite(value):
                    raise _bad_token(i + 1, j, token, names)
                out[i, j] = value
        return out
    return _parse_csv_bulk(text, lines, names)


def _parse_csv_bulk(text: str, lines: list[str], names: list[str]) -> np.ndarray:
    import pandas as pd

    try:
        frame = pd.read_csv(io.StringIO(text), header=None, names=range(len(names)),
                            keep_default_na=False, na_values=[""], engine="c",
                            skip_blank_lines=False, skipinitialspace=True)
    except (ValueError, pd.errors.ParserError) as exc:
        raise RequestError(400, f"CSV body is malformed ({exc})") from None
    for j in range(len(names)):
        if not pd.api.types.is_numeric_dtype(frame[j]) or pd.api.types.is_bool_dtype(frame[j]):
            for i, line in enumerate(lines):
                token = line.split(",")[j].strip()
                if token == "":
                    continue
                try:
                    ok = math.isfinite(float(token))
                except ValueError:
                    ok = False
                if not ok:
                    raise _bad_token(i + 1, j, token, names)
            raise RequestError(400, f"column {j + 1} ({names[j]}) is not numeric")
    values = frame.to_numpy(dtype=np.float64)
    bad = np.isinf(values)
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise _bad_token(i + 1, j, lines[i].split(",")[j].strip(), names)
    return values


def _refuse_constant(name: str):
    raise RequestError(400, f"JSON holds {name}, which is not a number (use null for a missing value)")


def _number(value, where: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RequestError(400, f"{where}: {value!r} is not a number (use null for a missing value)")
    try:
        out = float(value)
    except OverflowError:
        out = math.inf
    if not math.isfinite(out):
        raise RequestError(400, f"{where}: {value!r} is beyond the float range")
    return out


def parse_json(body: bytes, names: list[str]) -> Parsed:
    """Instances of a JSON body; see the module docstring for the rules."""
    text = _decode(body)
    try:
        payload = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise RequestError(400, "JSON is nested too deeply") from None
    except ValueError as exc:
        raise RequestError(400, f"body is not valid JSON ({exc})") from None
    if not isinstance(payload, dict) or "instances" not in payload:
        raise RequestError(400, 'JSON must be an object {"instances": [...]}')
    instances = payload["instances"]
    if not isinstance(instances, list) or not instances:
        raise RequestError(400, '"instances" must be a non-empty list of rows or objects')
    unknown = sorted(set(payload) - {"instances", "sequence", "variant"})
    if unknown:
        raise RequestError(400, f"unknown JSON keys {unknown}; allowed: instances, sequence, variant")
    n_cols = len(names)
    out = np.empty((len(instances), n_cols))
    index = {name: j for j, name in enumerate(names)}
    for i, inst in enumerate(instances):
        if isinstance(inst, list):
            if len(inst) != n_cols:
                raise RequestError(400, f"instance {i} has {len(inst)} values, the model takes {n_cols}")
            for j, v in enumerate(inst):
                out[i, j] = _number(v, f"instance {i}, column {j + 1} ({names[j]})")
        elif isinstance(inst, dict):
            extra = sorted(set(inst) - set(index))
            if extra:
                raise RequestError(400, f"instance {i} names unknown features {extra[:5]}")
            absent = [n for n in names if n not in inst]
            if absent:
                raise RequestError(400, f"instance {i} lacks features {absent[:5]}"
                                        f"{' ...' if len(absent) > 5 else ''} (use null for missing)")
            for name, v in inst.items():
                out[i, index[name]] = _number(v, f"instance {i}, {name}")
        else:
            raise RequestError(400, f"instance {i} must be a list of values or an object, "
                                    f"got {type(inst).__name__}")
    sequence, variant = payload.get("sequence"), payload.get("variant")
    if sequence is not None and sequence not in SEQUENCE_MODES:
        raise RequestError(400, f'"sequence" must be one of {SEQUENCE_MODES}, got {sequence!r}')
    if variant is not None and not isinstance(variant, str):
        raise RequestError(400, f'"variant" must be a string, got {variant!r}')
    return Parsed(out, sequence=sequence, variant=variant)


def custom_attributes(header: str | None) -> dict[str, str]:
    """``key=value`` pairs of SageMaker's ``X-Amzn-SageMaker-Custom-Attributes`` header
    (comma or semicolon separated)."""
    out = {}
    for part in (header or "").replace(";", ",").split(","):
        if "=" in part:
            key, value = part.split("=", 1)
            out[key.strip().lower()] = value.strip()
    return out


def choose_accept(header: str | None) -> str:
    """The response media type for an ``Accept`` header (JSON unless CSV is asked for)."""
    if not header:
        return JSON
    for entry in header.split(","):
        kind = media_type(entry)
        if kind in (JSON, CSV):
            return kind
        if kind in ("*/*", "application/*"):
            return JSON
        if kind == "text/*":
            return CSV
    raise RequestError(406, f"Accept must allow {JSON!r} or {CSV!r}, got {header!r}")


def render(probabilities: np.ndarray, levels: list[str | None], accept: str) -> bytes:
    """Response body: JSON ``{"predictions": [...]}`` or CSV ``probability,level`` lines
    (an empty probability and level for a row whose inputs are all missing)."""
    if accept == CSV:
        lines = []
        for p, level in zip(probabilities.tolist(), levels):
            lines.append(f"{'' if math.isnan(p) else repr(p)},{level or ''}")
        return ("\n".join(lines) + "\n").encode()
    preds = [{"probability": None if math.isnan(p) else p, "level": level}
             for p, level in zip(probabilities.tolist(), levels)]
    return json.dumps({"predictions": preds}, allow_nan=False).encode()
