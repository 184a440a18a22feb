"""The MQTT protocol choices of the clients and of the run configuration are checked
before anything connects: MQTT 3.1.1 or 5, a session expiry only where MQTT 5 has one, and
MQTT 5 refused for the embedded broker (amqtt speaks MQTT 3.1.1 only)."""

from __future__ import annotations

import pytest

from firesight.agents.runtime_config import parse_run_config
from firesight.agents.system import client_mqtt_version
from firesight.errors import InvalidParameterError
from firesight.iot.client import DEFAULT_SESSION_EXPIRY_S, ServiceClient

URL = "mqtt://127.0.0.1:1"


@pytest.mark.parametrize("kw, field", [
    ({"mqtt_version": 4}, "mqtt_version"),
    ({"mqtt_version": 311, "clean_session": False, "session_expiry_s": 60}, "session_expiry_s"),
    ({"mqtt_version": 5, "session_expiry_s": 60}, "session_expiry_s"),
    ({"mqtt_version": 5, "clean_session": False, "session_expiry_s": 0}, "session_expiry_s"),
    ({"mqtt_version": 5, "clean_session": False, "session_expiry_s": 2 ** 32}, "session_expiry_s"),
    ({"mqtt_version": 5, "clean_session": False, "session_expiry_s": 1.5}, "session_expiry_s"),
])
def test_client_refuses_protocol_options_that_do_not_fit(kw, field):
    with pytest.raises(InvalidParameterError, match=field):
        ServiceClient("svc", URL, **kw)


def test_client_session_expiry_is_sent_only_for_an_mqtt5_persistent_session():
    assert ServiceClient("svc", URL, mqtt_version=5, clean_session=False).session_expiry_s == DEFAULT_SESSION_EXPIRY_S
    assert ServiceClient("svc", URL, mqtt_version=5, clean_session=False, session_expiry_s=90).session_expiry_s == 90
    assert ServiceClient("svc", URL, mqtt_version=5).session_expiry_s is None
    assert ServiceClient("svc", URL, clean_session=False).session_expiry_s is None


def test_run_config_mqtt_version_and_session_expiry():
    cfg = parse_run_config({"broker": {"url": "mqtts://broker:8883"}},
                           environ={"FIRESIGHT_BROKER_MQTT_VERSION": "5", "FIRESIGHT_WORKERS_SESSION_EXPIRY_S": "120"})
    assert cfg.broker.mqtt_version == 5 and cfg.workers.session_expiry_s == 120
    assert client_mqtt_version(cfg, None) == 5
    default = parse_run_config({}, environ={})
    assert default.broker.mqtt_version == 311 and default.workers.session_expiry_s == 3600
    for values, field in [({"broker": {"mqtt_version": 5}}, "broker.mqtt_version"),       # embedded
                          ({"broker": {"url": "mqtt://b:1883", "mqtt_version": 4}}, "broker.mqtt_version"),
                          ({"workers": {"takeover_after_s": 60, "session_expiry_s": 30}}, "workers.session_expiry_s"),
                          ({"workers": {"session_expiry_s": 0, "takeover_after_s": 0}}, "workers.session_expiry_s")]:
        with pytest.raises(InvalidParameterError, match=field):
            parse_run_config(values, environ={})
