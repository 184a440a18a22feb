"""The dashboard in a real headless Chromium (Debian's /usr/bin/chromium via Playwright):
the page loads without console errors, a simulated fire pushed into the live feed shows up
(devices, heat map, charts) and raises an alert through the real response path (durable
queue -> response agent -> alert store), the alert is acknowledged with a click and the
acknowledgement persists in the store and the audit trail. Served by ``firesight run``
(start_system with the dashboard on), the fire-probability chart fills with the analysis
agent's probability records of a device publishing over the broker. Screenshots are kept
under ``test-artifacts/dashboard/``."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.adapters.local.queue import SQLiteMessageQueue
from firesight.agents.alert_store import AlertStore
from firesight.agents.events import ALERT_EVENTS_QUEUE, AlertEvent
from firesight.agents.response import ResponseAgent
from firesight.agents.response_policy import default_policy
from firesight.notify.channels import ConsoleNotifier
from firesight.ops.audit import AuditTrail
from firesight.ops.tokens import TokenStore
from firesight.web.app import create_dashboard_app
from firesight.web.feed import DashboardFeed
from support.uvicorn_server import running_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
T0_MS = 1_796_300_000_000  # a fixed device clock


def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        pytest.skip("Debian's chromium is not installed (make system-deps installs it)")
    return path


def _frame(hot_c: float, radius_px: int) -> np.ndarray:
    """A 160 x 120 TLinear frame (0.01 K): a 22 C room with a hot disc near the floor."""
    yy, xx = np.mgrid[0:120, 0:160]
    temp_c = 22.0 + 0.02 * yy
    disc = (yy - 85) ** 2 + (xx - 60) ** 2 <= radius_px ** 2
    temp_c = np.where(disc, hot_c, temp_c)
    return np.round((temp_c + 273.15) / 0.01).astype(np.uint16)


@pytest.fixture()
def system(tmp_path):
    store = SQLiteMetadataStore(str(tmp_path / "metadata.db"))
    queue = SQLiteMessageQueue(str(tmp_path / "queue.db"))
    alerts = AlertStore(store)
    tokens = TokenStore(store)
    operator, _ = tokens.create("duty-operator", "operator")
    audit = AuditTrail(tmp_path / "audit")
    feed = DashboardFeed(thermal_interval_s=0.0)
    feed.set_model({"source": "registry", "version": "7"})
    responder = ResponseAgent(queue, alerts, {"console": ConsoleNotifier(io.StringIO())},
                              default_policy(["console"]))
    app = create_dashboard_app(feed, tokens=tokens, alerts=alerts, audit=audit)
    with running_server(app) as url:
        yield {"url": url, "feed": feed, "alerts": alerts, "audit": audit, "queue": queue,
               "responder": responder, "token": operator}


def test_simulated_fire_raises_an_alert_that_is_acknowledged(system):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    feed = system["feed"]
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(system["url"] + "/?access_token=" + system["token"])
            page.wait_for_selector("[data-testid=conn].conn-on", timeout=15000)
            assert page.url.rstrip("/") == system["url"]  # the token left the address bar
            assert page.inner_text("[data-testid=model]") == "7 (registry)"

            # a quiet room, then a fire: readings, frames and probabilities as the agents push them
            feed.push_status("hq", "kitchen-2", ts_ms=T0_MS, state="online")
            feed.set_device_health("hq", "kitchen-2", state="degraded", violations=["message-rate"])
            for i in range(40):
                t = T0_MS + i * 5000
                fire = max(0, i - 15)
                feed.push_scd41("hq", "store-1", ts_ms=t, co2_ppm=450 + 45 * fire,
                                temperature_c=22 + 0.5 * fire, humidity_rh=45 - 0.6 * fire)
                feed.push_thermal("hq", "store-1", ts_ms=t, pixels=_frame(22 + 12 * fire, 2 + fire // 3),
                                  resolution_k=0.01)
                p = min(0.97, 0.02 + 0.05 * fire)
                feed.push_probability("hq", "store-1", ts_ms=t, probability=p,
                                      level="alarm" if p >= 0.8 else "watch" if p >= 0.3 else "normal")
            event = AlertEvent(event_id="store-1:alarm:39", site="hq", thing="store-1", signal="alarm",
                               state="active", level="alarm", previous="watch", ts_ms=T0_MS + 39 * 5000,
                               probability=0.97, variant="full", model_version="7",
                               correlation_id="reading-store-1-39")
            system["queue"].send(ALERT_EVENTS_QUEUE, event.to_json())
            assert system["responder"].process_available() == 1
            feed.push_alert(event)

            alert_id = system["alerts"].list(thing="store-1")[0]["alert_id"]
            item = page.locator(f"[data-testid=alert-{alert_id}]")
            item.wait_for(timeout=15000)
            assert "ALARM" in item.inner_text() and "hq / store-1" in item.inner_text()
            page.wait_for_function("document.getElementById('chart-co2') !== null")
            page.locator("[data-testid=device-store-1]").click()
            page.wait_for_function("document.getElementById('frame-info').textContent.includes('°C')")
            # the hot disc is drawn hot (bright) where it is, the room dark
            hot, room = page.evaluate("""() => {
                const canvas = document.getElementById('heat');
                const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                const px = (x, y) => Array.from(d.slice(4 * (y * canvas.width + x), 4 * (y * canvas.width + x) + 3));
                return [px(60 * 3, 85 * 3), px(150 * 3, 10 * 3)]; }""")
            assert sum(hot) > 600 and sum(room) < 150, (hot, room)
            assert page.get_attribute("[data-testid=chart-probability]", "data-points") == "40"
            assert "degraded" in page.inner_text("[data-testid=device-kitchen-2]")
            assert "defender:message-rate" in page.inner_text("[data-testid=device-kitchen-2]")
            page.screenshot(path=str(ARTIFACTS / "01-fire-alarm.png"), full_page=True)

            item.get_by_role("button", name="Acknowledge").click()
            page.wait_for_function(f"""() => {{
                const li = document.querySelector('[data-testid="alert-{alert_id}"]');
                return li && li.dataset.state === 'acknowledged'; }}""", timeout=15000)
            page.screenshot(path=str(ARTIFACTS / "02-acknowledged.png"), full_page=True)
        finally:
            browser.close()
    stored = system["alerts"].get(alert_id)
    assert stored["state"] == "acknowledged" and stored["acknowledged_by"] == "duty-operator"
    acks = system["audit"].records(action="AcknowledgeAlert")
    assert len(acks) == 1 and acks[0]["requestParameters"]["alert_id"] == alert_id
    assert acks[0]["userIdentity"]["userName"] == "duty-operator"
    assert system["audit"].verify()["ok"]
    assert problems == []


def test_the_running_system_fills_the_probability_chart(tmp_path):
    """Device readings over the embedded broker -> monitoring -> analysis -> probability
    records on firesight/v1/lab/probability -> the dashboard's broker bridge -> the page."""
    import time

    from playwright.sync_api import sync_playwright

    from firesight import bootstrap
    from firesight.agents.runtime_config import parse_run_config
    from firesight.agents.system import start_system
    from firesight.config import Config
    from firesight.iot import open_registry
    from firesight.iot.client import DeviceClient
    from firesight.iot.codec import encode_scd41, encode_thermal

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    home = tmp_path / "home"
    creds = open_registry(Config(home=home)).register_device("room-1", site="lab")
    # every window's record (the default sends at most one a second per device; these
    # readings arrive all at once)
    cfg = parse_run_config({"home": str(home), "site": "lab", "response": {"enabled": False},
                            "model": {"poll_s": 0}, "coordinator": {"health_interval_s": 0},
                            "analysis": {"probability_interval_s": 0},
                            "dashboard": {"enabled": True, "port": 0}}, environ={})
    executable = _chromium()
    system = start_system(cfg)
    device = None
    problems: list[str] = []
    try:
        url = system.health()["dashboard"]["url"]
        token, _ = TokenStore(bootstrap.metadata_store(cfg.base_config())).create("op", "viewer")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1500, "height": 1000})
                page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                        if m.type in ("error", "warning") else None)
                page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
                page.goto(url + "/?access_token=" + token)
                page.wait_for_selector("[data-testid=conn].conn-on", timeout=15000)
                page.wait_for_function("document.getElementById('chart-p').dataset.points === '0'")
                device = DeviceClient("room-1", system.device_url, cert_path=creds.cert_path,
                                      key_path=creds.key_path, ca_path=creds.ca_path, site="lab").connect()
                now_ms = int(time.time() * 1000)
                rng = np.random.default_rng(3)
                for k in range(70):  # 8 s of frames at 8.7 Hz, SCD41 readings every 5 s
                    ts = now_ms + k * 115
                    counts = _frame(22.0, 0) + rng.integers(0, 4, (120, 160), dtype=np.uint16)
                    device.publish(device.topic("thermal"), encode_thermal(counts, ts_ms=ts, seq=k + 1), qos=1)
                    if k % 43 == 0:
                        device.publish(device.topic("scd41"), encode_scd41(
                            co2_ppm=480.0 + k, temperature_c=22.0, humidity_rh=45.0, ts_ms=ts + 1, seq=k // 43 + 1),
                            qos=1)
                page.locator("[data-testid=device-room-1]").click()
                page.wait_for_function(
                    "Number(document.getElementById('chart-p').dataset.points) >= 5", timeout=30000)
                page.screenshot(path=str(ARTIFACTS / "03-running-system-probability.png"), full_page=True)
            finally:
                browser.close()
        analysis = system.coordinator.agent("analysis").health()
        assert analysis["counts"]["probabilities"] >= 5, analysis
    finally:
        if device is not None:
            device.close()
        system.stop()
    assert problems == []
