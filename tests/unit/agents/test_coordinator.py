"""Coordinator: supervision (a dead agent is rebuilt and restarted with backoff), health,
staged stop in order; ModelWatcher switches on a newly approved version; the typed run
configuration with environment overrides and errors that name the field."""

from __future__ import annotations

import threading
import time

import pytest

from firesight.agents.coordinator import AgentSpec, Coordinator, ModelWatcher
from firesight.agents.runtime_config import load_run_config, parse_run_config
from firesight.errors import InvalidParameterError
from support.waiting import wait_until


class Worker:
    """A minimal agent: a thread that runs until stopped or until it is made to crash."""

    log: list = []

    def __init__(self, name):
        self.name, self.crash, self.stopped = name, threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not (self.crash.is_set() or self.stopped.is_set()):
            time.sleep(0.01)

    def start(self):
        self.thread.start()
        return self

    def stop(self, timeout_s):
        Worker.log.append(self.name)
        self.stopped.set()
        self.thread.join(timeout_s)

    def alive(self):
        return self.thread.is_alive()

    def health(self):
        return {"name": self.name}


def test_a_dead_agent_is_restarted_and_stop_goes_in_stages():
    built = []

    def factory(name):
        def make():
            w = Worker(name)
            built.append(w)
            return w
        return make

    coord = Coordinator([AgentSpec("response", factory("response"), stop_order=2),
                         AgentSpec("monitoring", factory("monitoring"), stop_order=0),
                         AgentSpec("analysis", factory("analysis"), stop_order=1)],
                        restart_min_s=0.1, restart_max_s=0.2, drain_timeout_s=1.0).start()
    try:
        assert coord.health()["status"] == "ok"
        first = coord.agent("analysis")
        first.crash.set()
        assert wait_until(lambda: coord.agent("analysis") not in (None, first) and coord.agent("analysis").alive())
        h = coord.health()
        assert h["agents"]["analysis"]["restarts"] == 1 and h["agents"]["monitoring"]["restarts"] == 0
        assert h["agents"]["analysis"]["name"] == "analysis" and h["status"] == "ok"
    finally:
        Worker.log.clear()
        report = coord.stop()
    assert Worker.log == ["monitoring", "analysis", "response"]  # ingest first, notifications last
    assert report["status"] == "ok" and coord.health()["status"] == "stopped"


def test_an_agent_that_fails_to_start_is_retried():
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionRefusedError("broker not up yet")
        return Worker("m")

    coord = Coordinator([AgentSpec("monitoring", flaky)], restart_min_s=0.05, restart_max_s=0.1).start()
    try:
        assert wait_until(lambda: coord.agent("monitoring") is not None)
        assert len(attempts) == 3 and coord.health()["agents"]["monitoring"]["restarts"] == 2
    finally:
        coord.stop()


def test_model_watcher_switches_once_to_a_new_approved_version():
    switched = []

    class Analysis:
        def switch_model(self, bundle, version):
            switched.append((bundle, version))

    approved = ["", "3", "3"]
    watcher = ModelWatcher(lambda: Analysis(), "", lambda: approved.pop(0) or None, lambda v: f"bundle-{v}")
    assert [watcher.check(), watcher.check(), watcher.check()] == [False, True, False]
    assert switched == [("bundle-3", "3")] and watcher.health()["model_version"] == "3"


def test_run_config_file_environment_and_errors(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("site: lab\nbroker: {url: 'mqtts://broker:8883'}\nmonitoring: {min_offline_s: 4}\n"
                    "channels:\n  - {kind: email, options: {host: smtp, recipients: [a@b.c]}}\n")
    cfg = load_run_config(path, environ={"FIRESIGHT_MONITORING_MIN_OFFLINE_S": "9.5",
                                         "FIRESIGHT_WORKERS_SHARED_GROUP": "g", "FIRESIGHT_SITE": "lab2"})
    assert cfg.broker.url == "mqtts://broker:8883" and cfg.monitoring.min_offline_s == 9.5
    assert cfg.workers.shared_group == "g" and cfg.site == "lab2" and cfg.channels[0].channel_name == "email"
    toml = tmp_path / "run.toml"
    toml.write_text('[broker]\nurl = "embedded"\n[analysis]\ntop_features = 3\n')
    assert load_run_config(toml, environ={}).analysis.top_features == 3
    with pytest.raises(InvalidParameterError, match="monitoring.min_offline_s"):
        parse_run_config({"monitoring": {"min_offline_s": 0}}, environ={})
    with pytest.raises(InvalidParameterError, match="broker.url"):
        parse_run_config({}, environ={"FIRESIGHT_BROKER_URL": "http://x"})
    with pytest.raises(InvalidParameterError, match="brokr"):
        parse_run_config({"brokr": {}}, environ={})
    with pytest.raises(InvalidParameterError, match="channels"):
        parse_run_config({"channels": [{"kind": "console"}, {"kind": "console"}]}, environ={})


def test_run_config_alarm_rules_metrics_and_every_section_from_the_environment():
    cfg = parse_run_config({"alarms": {"period_s": 30, "rules": {"ingest_stopped": {"enabled": False},
                                                                 "notification_failures": {"threshold": 2}}}},
                           environ={"FIRESIGHT_ALARMS_INTERVAL_S": "2.5", "FIRESIGHT_METRICS_ENABLED": "true",
                                    "FIRESIGHT_METRICS_PORT": "0", "FIRESIGHT_DASHBOARD_ENABLED": "true"})
    rules = {r.name: r for r in cfg.alarms.build_rules()}
    assert sorted(rules) == ["model_latency", "notification_failures", "queue_backing_up"]
    assert rules["notification_failures"].threshold == 2 and rules["model_latency"].period_s == 30
    assert cfg.alarms.interval_s == 2.5 and cfg.alarms.enabled
    assert cfg.metrics.enabled and cfg.metrics.port == 0 and cfg.dashboard.enabled
    assert parse_run_config({}, environ={}).metrics.enabled is False
    for values, field in [({"alarms": {"rules": {"disk_full": {}}}}, "alarms.rules"),
                          ({"alarms": {"rules": {"model_latency": {"datapoints_to_alarm": 9}}}},
                           "alarms.rules.model_latency.datapoints_to_alarm"),
                          ({"alarms": {"rules": {"model_latency": {"treshold": 1}}}}, "alarms.rules.model_latency"),
                          ({"alarms": {"interval_s": 0}}, "alarms.interval_s"),
                          ({"metrics": {"port": 70000}}, "metrics.port"),
                          ({"analysis": {"probability_interval_s": -1}}, "analysis.probability_interval_s")]:
        with pytest.raises(InvalidParameterError, match=field.replace(".", r"\.")):
            parse_run_config(values, environ={})
