"""The simulated fleet publishes SCD41 readings and status at QoS 1, as a real node does, so
the monitoring agent's persistent session keeps them while the agent is down (embedded
broker and Mosquitto): the agent is stopped, a simulated node plays its SCD41 history, the
agent comes back and handles every reading the node published, in order, counted late."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.adapters.local.queue import SQLiteMessageQueue
from firesight.agents.monitoring import MonitoringAgent
from firesight.agents.system import service_client
from firesight.datasets.reader import ScenarioData
from firesight.iot.ca import CertificateAuthority
from firesight.iot.fleet import FleetSimulator, SimulatorSettings
from firesight.iot.device_registry import DeviceRegistry
from firesight.sensors.frames import LeptonFrames
from support.mqtt import start_broker
from support.waiting import wait_until

pytestmark = pytest.mark.timeout(180)

THING = "room-000"
SERVICE = "monitoring-fleet-backlog"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet-backlog")
    reg = DeviceRegistry(SQLiteMetadataStore(str(root / "metadata.db")), CertificateAuthority(root / "pki"))
    reg.register_device(THING, site="lab")
    reg.register_service(SERVICE)  # before the broker starts: Mosquitto's ACL has them
    return reg


@pytest.fixture(params=["embedded", "mosquitto"])
def broker(request, registry):
    b = start_broker(request.param, registry)
    yield b
    b.stop()


def history_scenario():
    """A room's 120 s of SCD41 history (every 5 s, moving values) before 2 s of frames."""
    n = 17
    time_s = np.arange(n) / 8.7
    frames = (29_315 + np.random.default_rng(0).integers(0, 20, (n, 120, 160))).astype(np.uint16)
    thermal = LeptonFrames(frames=frames, time_s=time_s, gain=np.zeros(n, np.uint8),
                           resolution_k=np.full(n, 0.01, np.float32), ffc_state=np.zeros(n, np.uint8),
                           frame_counter=np.arange(n, dtype=np.uint32), valid=np.ones(n, bool))
    t_scd = np.arange(-120.0, 2.0, 5.0)
    scd41 = pd.DataFrame({"time_s": t_scd, "co2_ppm": 450.0 + 0.5 * np.arange(len(t_scd)),
                          "temperature_c": 21.0, "humidity_rh": 45.0, "status": np.zeros(len(t_scd), np.uint8)})
    truth = pd.DataFrame({"time_s": time_s, "state": 0, "hrr_kw": 0.0})
    return ScenarioData(id="history", family="normal_day", label="normal", is_fire=False, ignition_time_s=None,
                        meta={}, thermal=thermal, scd41=scd41, truth=truth)


wait_until = partial(wait_until, timeout_s=30.0)


def readings(agent):
    with agent._lock:
        dev = agent.devices.get(("lab", THING))
        return 0 if dev is None else dev.counts["scd41_readings"]


def test_fleet_readings_published_while_the_agent_is_down_are_handled_after_restart(registry, broker, tmp_path):
    queue = SQLiteMessageQueue(str(tmp_path / "queue.db"))
    store = SQLiteMetadataStore(str(tmp_path / "state.db"))

    def agent():
        client = service_client(SERVICE, broker.url, registry, persistent=True)
        return MonitoringAgent(client, queue, state_store=store, site="lab", worker_id="fleet-backlog")

    first = agent().start()  # creates the session and its QoS 1 subscriptions
    first.stop()
    first.client.close()

    settings = SimulatorSettings(devices=1, site="lab", thing_prefix="room", speed=0, status_interval_s=60.0,
                                 shadow_timeout_s=0.1)
    fleet = FleetSimulator(settings, [history_scenario()], broker.url, registry=registry)
    try:
        played = fleet.run()  # while the agent is down
        assert played["messages:scd41"] == 25
        fleet.close()  # waits for the broker's acknowledgements
        second = agent().start()
        try:
            assert wait_until(lambda: readings(second) == played["messages:scd41"]), second.health()
            with second._lock:
                dev = second.devices[("lab", THING)]
                assert dev.last_seq["scd41"] == played["messages:scd41"]
                assert "scd41_dropped" not in dev.counts  # every one, in order
                assert dev.counts["late"] >= played["messages:scd41"]
        finally:
            second.stop()
            second.client.close()
    finally:
        fleet.close()
