"""The inference endpoint over real HTTP: uvicorn on 127.0.0.1:0, httpx as the client.

Covers SageMaker's contract (GET /ping, POST /invocations with CSV and JSON, Accept), the
numbers against the reference path, sequence modes, every refusal code (400, 406, 413, 415)
with its reason, that bad input never gets a 500, the OpenAPI schema and SageMaker mode.
"""

from __future__ import annotations

import json

import httpx
import numpy as np
import pandas as pd
import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.ops.tokens import TokenStore
from firesight.serving.endpoint import EndpointConfig, create_app
from firesight.serving.model import InferenceService
from support.uvicorn_server import running_server


@pytest.fixture(scope="module")
def service():
    return InferenceService.load("default")


@pytest.fixture(scope="module")
def rows(service):
    rng = np.random.default_rng(7)
    n = len(service.feature_names())
    x = rng.normal(size=(120, n)) * rng.choice([0.5, 5, 50, 500], size=n)
    x[rng.random(x.shape) < 0.05] = np.nan
    return x


@pytest.fixture(scope="module")
def server(service, tmp_path_factory):
    store = SQLiteMetadataStore(str(tmp_path_factory.mktemp("ep") / "meta.db"))
    tokens = TokenStore(store)
    operator, _ = tokens.create("test-operator", "operator")
    viewer, _ = tokens.create("test-viewer", "viewer")
    app = create_app(service, tokens=tokens, config=EndpointConfig(max_payload_bytes=200_000))
    with running_server(app) as url:
        yield {"url": url, "operator": operator, "viewer": viewer}


def _csv(x: np.ndarray) -> str:
    return "".join(",".join("" if np.isnan(v) else repr(float(v)) for v in row) + "\n" for row in x)


def _post(server, body, content_type="text/csv", token="operator", **headers):
    h = {"Content-Type": content_type, **headers} if content_type else dict(headers)
    if token:
        h["Authorization"] = f"Bearer {server[token]}"
    data = body.encode() if isinstance(body, str) else body
    return httpx.post(server["url"] + "/invocations", content=data, headers=h, timeout=30)


def _reference(service, x, variant="full", stream=False):
    names = service.feature_names(variant)
    groups = np.zeros(len(x)) if stream else np.arange(len(x))
    return service.bundle.predict_proba(pd.DataFrame(x, columns=names), variant, groups=groups)


def test_ping_is_anonymous_and_200(server):
    r = httpx.get(server["url"] + "/ping")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_single_csv_row_matches_the_reference_path(server, service, rows):
    r = _post(server, _csv(rows[:1]))
    assert r.status_code == 200, r.text
    pred = r.json()["predictions"]
    assert len(pred) == 1
    np.testing.assert_allclose(pred[0]["probability"], _reference(service, rows[:1])[0], atol=1e-6)
    policy = service.bundle.policies["full"]
    p = pred[0]["probability"]
    expected = "alarm" if p >= policy.alarm_on else "watch" if p >= policy.watch_on else "normal"
    assert pred[0]["level"] == expected


def test_many_csv_rows_and_json_forms_agree(server, service, rows):
    ref = _reference(service, rows)
    r_csv = _post(server, _csv(rows))  # > 64 lines: the bulk parser
    assert r_csv.status_code == 200, r_csv.text
    p_csv = np.array([p["probability"] for p in r_csv.json()["predictions"]], dtype=float)
    np.testing.assert_allclose(p_csv, ref, atol=1e-6)
    as_lists = [[None if np.isnan(v) else float(v) for v in row] for row in rows[:10]]
    r_list = _post(server, json.dumps({"instances": as_lists}), "application/json")
    names = service.feature_names()
    as_dicts = [dict(zip(names, row)) for row in as_lists]
    r_dict = _post(server, json.dumps({"instances": as_dicts}), "application/json; charset=utf-8")
    for r in (r_list, r_dict):
        assert r.status_code == 200, r.text
        got = np.array([p["probability"] for p in r.json()["predictions"]], dtype=float)
        np.testing.assert_allclose(got, ref[:10], atol=1e-6)


def test_accept_csv_answers_csv_lines(server, service, rows):
    r = _post(server, _csv(rows[:3]), Accept="text/csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.strip().split("\n")
    assert len(lines) == 3
    probs = [float(line.split(",")[0]) for line in lines]
    np.testing.assert_allclose(probs, _reference(service, rows[:3]), atol=1e-6)
    assert all(line.split(",")[1] in ("normal", "watch", "alarm") for line in lines)


def test_stream_mode_reads_history_from_earlier_rows(server, service, rows):
    x = rows[:40]
    r = _post(server, _csv(x), **{"X-Amzn-SageMaker-Custom-Attributes": "sequence=stream"})
    assert r.status_code == 200, r.text
    got = np.array([p["probability"] for p in r.json()["predictions"]], dtype=float)
    np.testing.assert_allclose(got, _reference(service, x, stream=True), atol=1e-6)
    if service.bundle.history_windows("full") > 1:
        # a model with a sequence member: the history changes the numbers
        assert np.nanmax(np.abs(got - _reference(service, x))) > 1e-4


def test_variant_by_custom_attribute_takes_its_own_columns(server, service, rows):
    n_gas = len(service.feature_names("gas"))
    x = rows[:2, :n_gas]
    r = _post(server, _csv(x), **{"X-Amzn-SageMaker-Custom-Attributes": "variant=gas"})
    assert r.status_code == 200, r.text
    got = [p["probability"] for p in r.json()["predictions"]]
    np.testing.assert_allclose(got, _reference(service, x, "gas"), atol=1e-6)


def test_empty_fields_are_missing_values_and_all_missing_row_has_no_probability(server, service):
    n = len(service.feature_names())
    r = _post(server, "," * (n - 1) + "\n")
    assert r.status_code == 200, r.text
    assert r.json()["predictions"] == [{"probability": None, "level": None}]


@pytest.mark.parametrize("body, reason", [
    ("1,2,3\n", "has 3 columns"),
    ("{row}\n{short}\n", "line 2 has"),
    ("{bad}\n", "'abc' is not a finite decimal number"),
    ("{nan}\n", "'nan' is not a finite"),
    ("{inf}\n", "'inf' is not a finite"),
    ("\n\n", "body is empty"),
])
def test_csv_refusals_are_400_with_reason(server, service, rows, body, reason):
    cells = [repr(float(v)) if not np.isnan(v) else "" for v in rows[0]]
    fmt = {"row": ",".join(cells), "short": ",".join(cells[:-1]),
           "bad": ",".join(cells[:5] + ["abc"] + cells[6:]),
           "nan": ",".join(["nan"] + cells[1:]), "inf": ",".join(cells[:-1] + ["inf"])}
    r = _post(server, body.format(**fmt))
    assert r.status_code == 400, r.text
    assert reason in r.json()["error"]


def test_bulk_csv_names_the_bad_line(server, rows):
    lines = _csv(rows[:100]).split("\n")
    cells = lines[69].split(",")
    cells[3] = "12x"
    lines[69] = ",".join(cells)
    r = _post(server, "\n".join(lines))
    assert r.status_code == 400
    assert "line 70, column 4" in r.json()["error"]


@pytest.mark.parametrize("payload, reason", [
    ('{"instances": [[NaN]]}', "NaN"),
    ('{"instances": [[1, 2]]}', "has 2 values"),
    ('{"instances": [{"thermal_max_c": 20}]}', "lacks features"),
    ('{"instances": [[true]]}', "not a number"),
    ('{"rows": []}', "instances"),
    ('{"instances": [[1e999]]}', "float range"),
    ("not json", "not valid JSON"),
])
def test_json_refusals_are_400_with_reason(server, service, payload, reason):
    n = len(service.feature_names())
    if payload == '{"instances": [[true]]}':
        payload = json.dumps({"instances": [[True] + [1.0] * (n - 1)]})
    if payload == '{"instances": [[1e999]]}':
        payload = '{"instances": [[1e999' + ", 1.0" * (n - 1) + "]]}"
    r = _post(server, payload, "application/json")
    assert r.status_code == 400, r.text
    assert reason in r.json()["error"]


def test_unknown_or_missing_content_type_is_415(server):
    assert _post(server, "<x/>", "application/xml").status_code == 415
    assert _post(server, "1,2", None).status_code == 415


def test_body_above_the_limit_is_413(server):
    r = _post(server, "1," * 150_000)
    assert r.status_code == 413 and "limit" in r.json()["error"]


def test_unsupported_accept_is_406(server, rows):
    assert _post(server, _csv(rows[:1]), Accept="application/xml").status_code == 406


def test_garbage_never_gets_a_500(server):
    rng = np.random.default_rng(3)
    for i in range(40):
        body = rng.integers(0, 256, size=int(rng.integers(1, 400)), dtype=np.uint8).tobytes()
        kind = ["text/csv", "application/json"][i % 2]
        r = _post(server, body, kind)
        assert r.status_code in (400, 413, 415), (r.status_code, body)


def test_openapi_schema_documents_invocations(server):
    spec = httpx.get(server["url"] + "/openapi.json").json()
    op = spec["paths"]["/invocations"]["post"]
    assert set(op["requestBody"]["content"]) == {"text/csv", "application/json"}
    assert {"400", "413", "415"} <= set(op["responses"])
    assert "/ping" in spec["paths"]


def test_model_card_gives_the_feature_order(server, service):
    r = httpx.get(server["url"] + "/model", headers={"Authorization": f"Bearer {server['viewer']}"})
    assert r.status_code == 200
    assert r.json()["variants"]["full"]["feature_names"] == service.feature_names("full")


def test_sagemaker_mode_invocations_are_anonymous(service, rows):
    app = create_app(service, tokens=None, config=EndpointConfig(sagemaker=True))
    with running_server(app) as url:
        r = httpx.post(url + "/invocations", content=_csv(rows[:1]),
                       headers={"Content-Type": "text/csv"})
        assert r.status_code == 200
        assert httpx.get(url + "/metrics").status_code == 401


def test_refusals_are_logged_as_json_with_the_request_correlation_id(server):
    import io
    import logging

    from firesight.ops.logs import configure_logging

    stream = io.StringIO()
    handler = configure_logging(stream=stream)
    try:
        r = _post(server, "1,2\n", **{"X-Correlation-Id": "req-77"})
    finally:
        logging.getLogger("firesight").removeHandler(handler)
    assert r.status_code == 400 and r.headers["x-correlation-id"] == "req-77"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    refused = [x for x in lines if x["message"] == "invocation refused"]
    assert refused and refused[0]["correlation_id"] == "req-77" and refused[0]["reason"] == "columns"
