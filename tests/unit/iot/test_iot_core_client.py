"""Client configuration checks that need no broker."""

from __future__ import annotations

import pytest

from firesight.errors import InvalidParameterError
from firesight.iot.client import BrokerAddress, DeviceClient, MqttClient


def test_broker_urls_parse_with_aws_iot_default_port():
    """AWS IoT Core serves MQTT over TLS on 8883 (AWS IoT developer guide, "Protocol port
    mappings"); plain MQTT defaults to 1883."""
    aws = BrokerAddress.parse("mqtts://abc123-ats.iot.eu-west-1.amazonaws.com")
    assert (aws.host, aws.port, aws.tls) == ("abc123-ats.iot.eu-west-1.amazonaws.com", 8883, True)
    assert BrokerAddress.parse("mqtt://127.0.0.1:1884") == BrokerAddress("127.0.0.1", 1884, False)
    for bad in ("http://x", "embedded", "mqtts://"):
        with pytest.raises(InvalidParameterError, match="broker_url"):
            BrokerAddress.parse(bad)


def test_client_refuses_settings_aws_iot_core_would_refuse():
    client = MqttClient("svc", "mqtt://127.0.0.1:1")
    with pytest.raises(InvalidParameterError, match="qos"):
        client.publish("firesight/v1/lab/a/scd41", b"{}", qos=2)
    with pytest.raises(InvalidParameterError, match="mqtts"):
        MqttClient("a", "mqtt://127.0.0.1:1", cert_path="a.pem", key_path="a.key")
    with pytest.raises(InvalidParameterError, match="reconnect"):
        MqttClient("a", "mqtt://127.0.0.1:1", reconnect_min_s=5, reconnect_max_s=1)
    with pytest.raises(InvalidParameterError, match="thing_name"):
        DeviceClient("no/slashes", "mqtts://127.0.0.1:1", cert_path="a", key_path="b", ca_path=None)


def test_device_topics_need_a_site(tmp_path):
    from firesight.iot.ca import CertificateAuthority

    ca = CertificateAuthority(tmp_path / "pki")
    issued = ca.issue_thing_certificate("node-1")
    kw = dict(cert_path=issued.cert_path, key_path=issued.key_path, ca_path=ca.ca_path)
    assert DeviceClient("node-1", "mqtts://127.0.0.1:1", site="lab", **kw).topic("thermal") == \
        "firesight/v1/lab/node-1/thermal"
    with pytest.raises(InvalidParameterError, match="site"):
        DeviceClient("node-1", "mqtts://127.0.0.1:1", **kw).topic("thermal")
