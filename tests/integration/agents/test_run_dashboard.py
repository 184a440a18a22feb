"""``firesight run`` with the dashboard enabled: the page is served by the running system,
refuses anonymous callers, and shows a device's live reading that came over the broker
(embedded mTLS broker, real HTTP)."""

from __future__ import annotations

import time

import httpx

from firesight import bootstrap
from firesight.agents.runtime_config import parse_run_config
from firesight.agents.system import start_system
from firesight.config import Config
from firesight.iot import open_registry
from firesight.iot.client import DeviceClient
from firesight.iot.codec import encode_scd41
from firesight.ops.tokens import TokenStore


def test_run_serves_the_dashboard_with_live_readings(tmp_path):
    home = tmp_path / "home"
    registry = open_registry(Config(home=home))
    creds = registry.register_device("room-1", site="lab")
    cfg = parse_run_config({"home": str(home), "site": "lab", "response": {"enabled": False},
                            "model": {"poll_s": 0}, "coordinator": {"health_interval_s": 0},
                            "dashboard": {"enabled": True, "port": 0}}, environ={})
    system = start_system(cfg)
    device = None
    try:
        url = system.health()["dashboard"]["url"]
        token, _ = TokenStore(bootstrap.metadata_store(cfg.base_config())).create("op", "viewer")
        assert httpx.get(f"{url}/api/state").status_code == 401          # anonymous: refused
        device = DeviceClient("room-1", system.device_url, cert_path=creds.cert_path, key_path=creds.key_path,
                              ca_path=creds.ca_path, site="lab").connect()
        now_ms = int(time.time() * 1000)
        device.publish(device.topic("scd41"), encode_scd41(co2_ppm=612.0, temperature_c=21.5, humidity_rh=41.0,
                                                           ts_ms=now_ms, seq=1), qos=1)
        deadline, devices = time.monotonic() + 15, []
        while time.monotonic() < deadline:
            state = httpx.get(f"{url}/api/state", headers={"Authorization": f"Bearer {token}"})
            assert state.status_code == 200
            devices = state.json()["devices"]
            if devices and devices[0]["scd41"]:
                break
            time.sleep(0.1)
        assert [(d["site"], d["thing"]) for d in devices] == [("lab", "room-1")]
        assert "612" in str(devices[0]["scd41"][-1])
        assert system.health()["dashboard"]["received"] >= 1
    finally:
        if device is not None:
            device.close()
        system.stop()
    # staged stop: nothing listens any more
    try:
        httpx.get(f"{url}/ping", timeout=2)
        listening = True
    except httpx.HTTPError:
        listening = False
    assert not listening
