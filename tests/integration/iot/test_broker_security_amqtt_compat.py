"""The amqtt internals firesight overrides are where it expects them.

Every private amqtt method the embedded broker overrides lives in
``firesight.iot._amqtt_compat``; an amqtt release that renames or re-signs one of them
would let a check (authorization before session takeover, the last will, the queue
bounds) be bypassed silently. These tests fail loudly instead, and the broker refuses to
start.
"""

from __future__ import annotations

from importlib.metadata import version

import pytest
from amqtt.broker import Broker
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.errors import FiresightError
from firesight.iot import _amqtt_compat
from firesight.iot._amqtt_compat import (
    AMQTT_TESTED_VERSION,
    OVERRIDDEN,
    AmqttIncompatibleError,
    FiresightAmqttBroker,
    FiresightProtocolHandler,
    check_amqtt_internals,
)
from firesight.iot.broker import EmbeddedBroker
from firesight.iot.ca import CertificateAuthority
from firesight.iot.device_registry import DeviceRegistry


def test_the_installed_amqtt_is_the_tested_one():
    assert version("amqtt") == AMQTT_TESTED_VERSION, "review firesight/iot/_amqtt_compat.py against the new amqtt"


def test_every_override_matches_amqtt():
    check_amqtt_internals()
    for cls, name, _ in OVERRIDDEN:
        ours = FiresightProtocolHandler if cls is BrokerProtocolHandler else FiresightAmqttBroker
        assert name in vars(ours), f"{name} listed as overridden but not overridden"
    overridden = {n for c, n, _ in OVERRIDDEN}
    for ours, base in ((FiresightAmqttBroker, Broker), (FiresightProtocolHandler, BrokerProtocolHandler)):
        private = {n for n in vars(ours) if n.startswith("_") and not n.startswith("__") and hasattr(base, n)}
        assert private <= overridden, f"unlisted overrides of amqtt internals: {private - overridden}"


def test_a_moved_method_is_reported_and_the_broker_refuses_to_start(monkeypatch, tmp_path):
    monkeypatch.delattr(Broker, "_delete_session")
    with pytest.raises(AmqttIncompatibleError, match="_delete_session"):
        check_amqtt_internals()
    registry = DeviceRegistry(SQLiteMetadataStore(str(tmp_path / "m.db")), CertificateAuthority(tmp_path / "pki"))
    with pytest.raises(FiresightError, match="_delete_session"):
        EmbeddedBroker(registry).start()


def test_a_changed_signature_is_reported(monkeypatch):
    async def _handle_disconnect(self, client_session, handler):  # one parameter fewer
        return None

    monkeypatch.setattr(Broker, "_handle_disconnect", _handle_disconnect)
    with pytest.raises(AmqttIncompatibleError, match="_handle_disconnect"):
        _amqtt_compat.check_amqtt_internals()
