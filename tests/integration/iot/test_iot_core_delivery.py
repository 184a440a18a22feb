"""QoS 1 delivery guarantees when a publisher disconnects right after a burst.

A PUBACK means the broker has taken responsibility for a message (MQTT 3.1.1, section
4.3.2): every acknowledged QoS 1 message must reach the subscribers that were subscribed
when it arrived, in the order it was published (section 4.6), even if the publisher
disconnects, cleanly or not, right after the last acknowledgement. And a client that
publishes at QoS 1 and then closes must not drop what it had queued but not yet sent.

Each test runs against the embedded broker and against a real Mosquitto, which shows the
expected behaviour.
"""

from __future__ import annotations

import socket
import time

import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.iot.ca import CertificateAuthority
from firesight.iot.client import ServiceClient
from firesight.iot.device_registry import DeviceRegistry
from support.mqtt import Inbox, device_client, start_broker

pytestmark = pytest.mark.timeout(180)

#: messages per burst [-] and payload size of each [bytes] (a full-rate Lepton frame is ~51 KB)
BURST_MESSAGES = 200
PAYLOAD_BYTES = 50_000
NODES = ("node-burst", "node-close", "node-drop", "node-storm")
#: services that subscribe and disconnect while a burst is delivered
CHURN_SERVICES = tuple(f"churn-{k}" for k in range(6))


def _payload(seq: int) -> bytes:
    head = f"{seq:06d}|".encode()
    return head + bytes([65 + seq % 26]) * (PAYLOAD_BYTES - len(head))


def _seq(payload: bytes) -> int:
    return int(payload[:6])


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("iot-delivery")
    registry = DeviceRegistry(SQLiteMetadataStore(str(root / "metadata.db")), CertificateAuthority(root / "pki"))
    creds = {name: registry.register_device(name, site="lab") for name in NODES}
    churn = {name: registry.register_service(name) for name in CHURN_SERVICES}
    return {"registry": registry, "creds": creds, "service": registry.register_service("gateway"), "churn": churn,
            "steady": registry.register_service("steady")}


@pytest.fixture
def subscriber(pki, broker):
    """A service subscribed at QoS 1 to every device topic; yields its inbox."""
    s = pki["service"]
    client = ServiceClient("gateway", broker.url, cert_path=s.cert_path, key_path=s.key_path,
                           ca_path=s.ca_path).connect()
    inbox = Inbox()
    client.subscribe("firesight/v1/lab/+/#", inbox, qos=1)
    yield inbox
    client.close()


def _assert_all_in_order(items: list[tuple[str, bytes]], topic: str) -> None:
    seqs = [_seq(p) for t, p in items if t == topic]
    missing = sorted(set(range(BURST_MESSAGES)) - set(seqs))
    assert len(seqs) == BURST_MESSAGES, f"{len(seqs)} of {BURST_MESSAGES} messages arrived; missing {missing}"
    assert seqs == list(range(BURST_MESSAGES)), "messages arrived out of order or duplicated"
    assert all(p == _payload(_seq(p)) for t, p in items if t == topic), "a payload arrived corrupted"


def test_acknowledged_qos1_burst_reaches_subscriber_after_clean_disconnect(pki, broker, subscriber):
    """200 QoS 1 messages of 50 KB at full speed; the publisher waits for every PUBACK,
    then disconnects at once: every acknowledged message reaches the subscriber, in order."""
    device = device_client(pki, "node-burst", broker.url).connect()
    topic = device.topic("thermal")
    infos = [device.publish(topic, _payload(k), qos=1) for k in range(BURST_MESSAGES)]
    for info in infos:
        info.wait_for_publish(60)
    assert all(info.is_published() for info in infos)
    device.close()
    _assert_all_in_order(subscriber.wait_count(BURST_MESSAGES, 60), topic)


def test_close_right_after_a_burst_delivers_every_qos1_publish(pki, broker, subscriber):
    """200 QoS 1 messages of 50 KB handed to the client as fast as it takes them, then
    close() at once, without waiting: close() flushes them, and all reach the subscriber."""
    device = device_client(pki, "node-close", broker.url).connect()
    topic = device.topic("thermal")
    infos = [device.publish(topic, _payload(k), qos=1) for k in range(BURST_MESSAGES)]
    device.close()
    assert all(info.is_published() for info in infos), "close() returned before the broker acknowledged"
    _assert_all_in_order(subscriber.wait_count(BURST_MESSAGES, 60), topic)


def test_acknowledged_burst_precedes_last_will_after_connection_drop(pki, broker, subscriber):
    """The connection drops (no DISCONNECT) right after the last PUBACK: the acknowledged
    messages are all delivered, in order, and the ``offline`` last will comes after them."""
    will = b'{"state": "offline"}'
    device = device_client(pki, "node-drop", broker.url, reconnect_min_s=30.0, reconnect_max_s=30.0,
                     will=("firesight/v1/lab/node-drop/status", will, 1, False)).connect()
    topic = device.topic("thermal")
    infos = [device.publish(topic, _payload(k), qos=1) for k in range(BURST_MESSAGES)]
    for info in infos:
        info.wait_for_publish(60)
    assert all(info.is_published() for info in infos)
    sock = device._client.socket()
    sock.shutdown(socket.SHUT_RDWR)  # the link goes away: no DISCONNECT reaches the broker
    try:
        items = subscriber.wait_count(BURST_MESSAGES + 1, 60)
    finally:
        device.close()
    _assert_all_in_order(items, topic)
    assert items[-1] == (device.topic("status"), will), "the last will must follow the acknowledged messages"


def test_frames_before_a_clean_disconnect_survive_an_immediate_reconnect(pki, broker, subscriber):
    """A node publishes frames at QoS 0 (as the fleet simulator's full-rate frames) and a
    QoS 1 status, disconnects cleanly and reconnects at once with the same client id, ten
    times: everything it sent before each DISCONNECT reaches the subscriber, in order."""
    rounds, per_round = 10, 20
    sent = []
    for r in range(rounds):
        device = device_client(pki, "node-storm", broker.url).connect()
        topic = device.topic("thermal")
        for k in range(per_round):
            seq = r * per_round + k
            device.publish(topic, _payload(seq), qos=1 if k == per_round - 1 else 0)
            sent.append(seq)
        device.close()
    items = subscriber.wait_count(len(sent), 60)
    seqs = [_seq(p) for t, p in items if t == topic]
    assert seqs == sent, f"{len(seqs)} of {len(sent)} arrived; missing {sorted(set(sent) - set(seqs))}"


def _service(creds, name: str, url: str) -> ServiceClient:
    return ServiceClient(name, url, cert_path=creds.cert_path, key_path=creds.key_path, ca_path=creds.ca_path)


def test_subscribers_leaving_during_a_burst_cost_the_others_nothing(pki, broker, subscriber):
    """Six services subscribe to the burst's topic, then a steady one; the six disconnect
    while the burst is delivered (their sessions and subscriptions are then dropped). The
    steady subscribers still get every message, in order."""
    device = device_client(pki, "node-burst", broker.url).connect()
    topic = device.topic("thermal")
    leaving = [_service(creds, name, broker.url).connect() for name, creds in pki["churn"].items()]
    for client in leaving:
        client.subscribe(topic, lambda t, p: None, qos=1)
    steady = Inbox()
    steady_client = _service(pki["steady"], "steady", broker.url).connect()
    steady_client.subscribe(topic, steady, qos=1)
    try:
        for k in range(BURST_MESSAGES):
            device.publish(topic, _payload(k), qos=1)
            if k % 10 == 9:  # spread the burst over a few seconds
                device.flush(30)
                time.sleep(0.1)
            if k == 20:
                for client in leaving:
                    client.close()
        device.close()
        _assert_all_in_order(steady.wait_count(BURST_MESSAGES, 60), topic)
        _assert_all_in_order(subscriber.wait_count(BURST_MESSAGES, 60), topic)
    finally:
        steady_client.close()


@pytest.fixture(scope="module")
def embedded_broker(pki):
    b = start_broker("embedded", pki["registry"])
    yield b
    b.stop()


def test_subscription_dropped_mid_broadcast_does_not_skip_the_next_subscriber(pki, embedded_broker):
    """Embedded broker only (it forces an interleaving inside it): a subscription is removed
    while a message is being broadcast (as amqtt's session monitor does when it drops a
    disconnected session, forced here at the moment the leaving subscriber's receive
    permission is checked): the subscriber after it in the broker's list still gets the
    message."""
    broker = embedded_broker
    device = device_client(pki, "node-burst", broker.url).connect()
    topic = device.topic("status")
    leaving = _service(pki["churn"]["churn-0"], "churn-0", broker.url).connect()
    leaving.subscribe(topic, lambda t, p: None, qos=1)
    steady = Inbox()
    steady_client = _service(pki["steady"], "steady", broker.url).connect()
    steady_client.subscribe(topic, steady, qos=1)
    amqtt_broker = broker._broker
    leaving_session = amqtt_broker._sessions[leaving.client_id][0]
    check, dropped = broker.gate.allowed, []

    def allowed(access, action, target):
        if action == "iot:Receive" and access.context.client_id == leaving.client_id and not dropped:
            dropped.append(amqtt_broker._del_subscription(topic, leaving_session))
        return check(access, action, target)

    broker.gate.allowed = allowed
    try:
        device.publish(topic, b'{"state": "online"}', qos=1, wait_s=10)
        got = steady.wait_count(1, 10)
    finally:
        del broker.gate.allowed
        for client in (device, leaving, steady_client):
            client.close()
    assert dropped == [1]
    assert got == [(topic, b'{"state": "online"}')]
