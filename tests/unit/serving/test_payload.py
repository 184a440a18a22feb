"""Request parsing and SageMaker mode selection, without a server."""

from __future__ import annotations

import math

import numpy as np
import pytest

from firesight.serving.payload import (RequestError, choose_accept, custom_attributes, parse_body,
                                       render)
from firesight.serving.sagemaker import in_sagemaker, settings

NAMES = ["a_c", "b_ppm", "c_s"]


def test_csv_small_and_bulk_paths_agree():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 3))
    x[5, 1] = np.nan
    body = "".join(",".join("" if math.isnan(v) else repr(float(v)) for v in row) + "\r\n" for row in x).encode()
    bulk = parse_body(body, "text/csv", NAMES).values
    small = np.concatenate([parse_body(body.split(b"\r\n")[i] + b"\n", "text/csv", NAMES).values for i in range(100)])
    np.testing.assert_array_equal(bulk, small)
    np.testing.assert_array_equal(bulk, x)


@pytest.mark.parametrize("body, status, text", [
    (b"1,2\n", 400, "line 1 has 2 columns"),
    (b"1,2,NaN\n", 400, "'NaN' is not a finite"),
    (b"1,2,-inf\n", 400, "'-inf'"),
    (b"1,2,0x10\n", 400, "'0x10'"),
    (b"\xff\xfe,1,2\n", 400, "not UTF-8"),
])
def test_csv_refusals(body, status, text):
    with pytest.raises(RequestError) as e:
        parse_body(body, "text/csv", NAMES)
    assert e.value.status == status and text in e.value.reason


def test_json_options_and_refusals():
    p = parse_body(b'{"instances": [{"a_c": 1, "b_ppm": null, "c_s": 3}], "sequence": "stream", '
                   b'"variant": "gas"}', "application/json", NAMES)
    assert p.sequence == "stream" and p.variant == "gas" and math.isnan(p.values[0, 1])
    for body, text in [(b'{"instances": [[1, 2, 3]], "extra": 1}', "unknown JSON keys"),
                       (b'{"instances": [[1, 2, Infinity]]}', "Infinity"),
                       (b'{"instances": [[1, 2, "3"]]}', "not a number"),
                       (b'{"instances": [[1, 2, 1' + b"0" * 400 + b']]}', "float range"),
                       (b'{"instances": [{"a_c": 1, "b_ppm": 2, "c_s": 3, "d": 4}]}', "unknown features"),
                       (b'{"instances": [[1, 2, 3]], "sequence": "random"}', "sequence"),
                       (b'{"instances": []}', "non-empty"),
                       (b"[" * 100_000, "JSON")]:
        with pytest.raises(RequestError) as e:
            parse_body(body, "application/json", NAMES)
        assert e.value.status == 400 and text in e.value.reason, (body[:40], e.value.reason)
    with pytest.raises(RequestError) as e:
        parse_body(b"x", "text/plain", NAMES)
    assert e.value.status == 415


def test_accept_attributes_and_rendering():
    assert choose_accept(None) == "application/json"
    assert choose_accept("text/csv;q=0.9, application/json") == "text/csv"
    assert choose_accept("*/*") == "application/json"
    with pytest.raises(RequestError) as e:
        choose_accept("image/png")
    assert e.value.status == 406
    assert custom_attributes("sequence=stream, variant=gas") == {"sequence": "stream", "variant": "gas"}
    out = render(np.array([0.25, np.nan]), ["normal", None], "text/csv").decode()
    assert out == "0.25,normal\n,\n"


def test_sagemaker_mode_from_the_environment():
    assert in_sagemaker({"SM_CURRENT_HOST": "algo-1"}) and in_sagemaker({"SAGEMAKER_BIND_TO_PORT": "9000"})
    assert not in_sagemaker({"HOME": "/root"})
    s = settings({"SAGEMAKER_BIND_TO_PORT": "9000"})
    assert (s.model_dir, s.host, s.port) == ("/opt/ml/model", "0.0.0.0", 9000)
    assert settings({"FIRESIGHT_MODEL_DIR": "/m"}).model_dir == "/m"
