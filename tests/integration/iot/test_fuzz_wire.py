"""The short version of ``firesight bench fuzz``: 2,000 hostile payloads from devices with
their own certificates against the gateway, the shadow service and the rules engine over the
embedded mTLS broker; no crash, no hang, and a valid device is served afterwards."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.timeout(240)


def test_bench_fuzz_short_run_has_no_crash_no_hang_and_serves_a_valid_device():
    from firesight.cli import app

    result = CliRunner().invoke(app, ["bench", "fuzz", "--payloads", "2000", "--codec", "2000", "--devices", "4",
                                      "--seed", "11"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    wire = out["wire"]
    assert out["crashes"] == 0, wire["crash_details"]
    assert out["hangs"] == 0, wire["hang_details"]
    assert out["valid_device_served_after"] is True, wire["positive_control"]
    assert wire["payloads_sent"]["total"] + sum(wire["refused_by_client"].values()) == 2000
    assert wire["payloads_sent"]["shadow"] > 300 and wire["payloads_sent"]["device"] > 1000
    # the services saw the fuzz and refused it for many different reasons
    assert wire["received"]["gateway"] > 500 and wire["received"]["shadow"] > 300
    assert len(wire["rejections"]["gateway"]) >= 8
    assert {"rejected_400", "rejected_413"} <= set(wire["rejections"]["shadow"])
    assert {"too_deep", "not_utf8"} <= set(wire["rejections"]["rules"])
    assert out["codec"]["payloads"] == 2000 and out["codec"]["crashes"] == 0


def test_fuzz_drivers_refuse_bad_settings():
    from firesight.errors import InvalidParameterError
    from firesight.iot.fuzz_wire import run_wire_fuzz

    with pytest.raises(InvalidParameterError):
        run_wire_fuzz(0, np.random.default_rng(0))
    with pytest.raises(InvalidParameterError):
        run_wire_fuzz(10, np.random.default_rng(0), shadow_share=1.5)
