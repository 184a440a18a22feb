"""`DashboardServer.from_config` (what `firesight dashboard` runs and `firesight run` can
start beside the agents) builds the app on the configured home: tokens, alert store and
audit trail in real SQLite and files, the shipped model's version, a feed others push to."""

from __future__ import annotations

import httpx

from firesight.bootstrap import metadata_store
from firesight.config import load_config
from firesight.ops.tokens import TokenStore
from firesight.web.server import DashboardConfig, DashboardServer


def test_from_config_serves_the_configured_stores(tmp_path):
    cfg = load_config({"FIRESIGHT_HOME": str(tmp_path)})
    token, _ = TokenStore(metadata_store(cfg)).create("desk", "viewer")
    server = DashboardServer.from_config(DashboardConfig(port=0), app_config=cfg).start()
    try:
        server.feed.push_scd41("site-a", "n1", ts_ms=1_796_000_000_000, co2_ppm=700.0,
                               temperature_c=22.0, humidity_rh=40.0)
        r = httpx.get(server.url + "/api/state", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        state = r.json()
        assert state["model"]["source"] == "default (shipped)" and state["model"]["code_version"]
        assert state["devices"][0]["scd41"][0]["co2_ppm"] == 700.0
        assert state["alerts"] == {"open": [], "history": []}
        assert httpx.get(server.url + "/api/state").status_code == 401
        assert server.url.startswith("http://127.0.0.1:")
    finally:
        server.stop()
