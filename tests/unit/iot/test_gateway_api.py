"""The ingest gateway's public API without a network: subscriptions added and removed at
run time, messages injected through the same validation path (bad ones counted and
rejected, the worker never ends), and a persistent session's start (handlers routed
before the client connects) and stop (subscriptions kept for the broker to queue)."""

from __future__ import annotations

import threading
import time

import pytest

from firesight.errors import FiresightError
from firesight.iot.client import MqttClient
from firesight.iot.codec import encode_scd41
from firesight.iot.gateway import GatewayConfig, IngestGateway
from support.waiting import wait_until

TOPIC = "firesight/v1/lab/n1/scd41"


class FakeBroker(MqttClient):
    """Plays the broker for one client: records what the gateway asks of it, in order;
    ``deliver`` calls the callback routed for a filter (subscribed or only handled)."""

    def __init__(self, *, connected: bool = True, refuse_connect: bool = False) -> None:
        super().__init__("fake", "mqtt://127.0.0.1:1")
        self.connected, self.refuse_connect = connected, refuse_connect
        self.calls: list[tuple[str, str]] = []
        self.routes: dict[str, object] = {}
        self.qos: dict[str, int] = {}

    @property
    def is_connected(self) -> bool:
        return self.connected

    def connect(self, timeout_s: float = 10.0) -> "FakeBroker":
        self.calls.append(("connect", ""))
        if self.refuse_connect:
            raise FiresightError("broker unreachable")
        self.connected = True
        return self

    def add_handler(self, topic_filter, callback):  # noqa: ANN001
        self.calls.append(("handler", topic_filter))
        self.routes[topic_filter] = callback

    def subscribe(self, topic_filter, callback, *, qos=0, timeout_s=10.0):  # noqa: ANN001
        self.calls.append(("subscribe", topic_filter))
        self.routes[topic_filter], self.qos[topic_filter] = callback, qos
        return qos

    def unsubscribe(self, topic_filter):  # noqa: ANN001
        self.calls.append(("unsubscribe", topic_filter))
        self.routes.pop(topic_filter, None)
        self.qos.pop(topic_filter, None)

    def deliver(self, topic_filter: str, topic: str, payload: bytes) -> None:
        self.routes[topic_filter](topic, payload)


def reading(seq: int, co2_ppm: float = 600.0) -> bytes:
    return encode_scd41(co2_ppm=co2_ppm, temperature_c=21, humidity_rh=40, ts_ms=int(time.time() * 1000), seq=seq)


def test_filters_added_and_removed_at_run_time_route_through_the_gateway():
    client, got = FakeBroker(), []
    gw = IngestGateway(client, lambda m: got.append((m.thing_name, m.seq)),
                       config=GatewayConfig(streams=(), qos=1, frame_qos=0)).start()
    assert gw.filters == () and client.calls == []
    gw.add_filter("firesight/v1/lab/n1/scd41")
    gw.add_filter("firesight/v1/lab/n1/scd41")  # held already: no second SUBSCRIBE
    gw.add_filter("firesight/v1/lab/n1/thermal", qos=gw.config.stream_qos("thermal"))
    assert gw.filters == ("firesight/v1/lab/n1/scd41", "firesight/v1/lab/n1/thermal")
    assert client.qos == {"firesight/v1/lab/n1/scd41": 1, "firesight/v1/lab/n1/thermal": 0}
    client.deliver("firesight/v1/lab/n1/scd41", TOPIC, reading(1))
    assert wait_until(lambda: got == [("n1", 1)])
    gw.remove_filter("firesight/v1/lab/n1/scd41")
    gw.remove_filter("firesight/v1/lab/n1/scd41")  # not held: nothing to do
    assert gw.filters == ("firesight/v1/lab/n1/thermal",)
    assert [c for c in client.calls if c[0] == "unsubscribe"] == [("unsubscribe", "firesight/v1/lab/n1/scd41")]
    gw.stop()
    assert client.routes == {} and gw.filters == ()


def test_injected_messages_are_validated_counted_and_never_end_the_worker():
    client, got, rejected = FakeBroker(), [], []
    gw = IngestGateway(client, lambda m: got.append(m.seq),
                       on_reject=lambda t, p, e: rejected.append(e.reason_code),
                       config=GatewayConfig(streams=())).start()
    gw.inject(TOPIC, reading(1))
    gw.inject(TOPIC, reading(1))                                  # duplicate seq
    gw.inject(TOPIC, b"{" * 3)                                    # not JSON
    gw.inject(TOPIC, b"[" * 1000 + b"]" * 1000)                   # too deep
    gw.inject("firesight/v1/lab/n1/bogus", reading(2))           # no such stream
    gw.inject(TOPIC, "\ud800".encode("utf-8", "surrogatepass"))   # not UTF-8
    gw.inject(TOPIC, reading(3))                                  # still served
    assert wait_until(lambda: got == [1, 3]), gw.stats()
    stats = gw.stats()
    assert stats["accepted"] == 2
    assert stats["rejected"] == {"duplicate_seq": 1, "bad_json": 1, "too_deep": 1, "bad_topic": 1,
                                 "not_utf8": 1}
    assert sorted(rejected) == sorted(stats["rejected"])
    assert stats["worker_alive"] and stats["errors"] == {}
    gw.stop()
    gw.inject(TOPIC, reading(4))  # after stop: dropped and counted, not handled
    assert gw.stats()["shed"] == {"after_stop": 1} and got == [1, 3]


def test_injected_messages_share_the_bounded_queue():
    client, got = FakeBroker(), []
    release = threading.Event()

    def slow(msg) -> None:
        release.wait(10)
        got.append(msg.seq)

    gw = IngestGateway(client, slow, config=GatewayConfig(streams=(), reading_queue_size=3)).start()
    gw.inject(TOPIC, reading(1))
    assert wait_until(lambda: gw.stats()["queue_depth"]["other"] == 0)  # the worker holds seq 1
    for seq in range(2, 8):
        gw.inject(TOPIC, reading(seq))
    assert gw.stats()["shed"] == {"other": 3}  # the oldest three made room
    release.set()
    assert wait_until(lambda: got == [1, 5, 6, 7]), got
    gw.stop()


def test_a_persistent_session_is_routed_before_it_connects_and_keeps_its_subscriptions():
    client, got = FakeBroker(connected=False), []
    gw = IngestGateway(client, lambda m: got.append(m.seq),
                       config=GatewayConfig(streams=("scd41", "thermal"), site="lab", qos=1, frame_qos=0,
                                            persistent_session=True)).start()
    scd41, thermal = "firesight/v1/lab/+/scd41", "firesight/v1/lab/+/thermal"
    assert client.calls == [("handler", scd41), ("handler", thermal), ("connect", ""),
                            ("subscribe", scd41), ("subscribe", thermal)]
    assert client.qos == {scd41: 1, thermal: 0}
    client.deliver(scd41, TOPIC, reading(1))
    assert wait_until(lambda: got == [1])
    gw.stop()
    assert not [c for c in client.calls if c[0] == "unsubscribe"]  # the broker keeps queueing
    assert not gw.worker_alive and gw.filters == ()
    client.deliver(scd41, TOPIC, reading(2))  # before the client disconnects: counted
    assert gw.stats()["shed"] == {"after_stop": 1}


def test_a_persistent_session_that_cannot_connect_ends_the_worker():
    client = FakeBroker(connected=False, refuse_connect=True)
    gw = IngestGateway(client, lambda m: None, config=GatewayConfig(streams=("scd41",), persistent_session=True))
    with pytest.raises(FiresightError, match="unreachable"):
        gw.start()
    assert not gw.worker_alive and gw.filters == ()


def test_a_clean_session_client_is_never_connected_by_the_gateway():
    client = FakeBroker(connected=False)
    gw = IngestGateway(client, lambda m: None, config=GatewayConfig(streams=("scd41",))).start()
    assert client.calls == [("subscribe", "firesight/v1/+/+/scd41")]
    gw.stop()
    assert client.calls[-1] == ("unsubscribe", "firesight/v1/+/+/scd41")


class PendingPublish:
    """A QoS 1 publish whose PUBACK the test hands out (paho's ``MQTTMessageInfo`` API)."""

    def __init__(self) -> None:
        self.acked = threading.Event()

    def is_published(self) -> bool:
        return self.acked.is_set()


def test_a_message_is_acknowledged_only_once_the_broker_has_what_its_handler_published():
    client, acks, pending = FakeBroker(), [], {}

    def handler(msg):  # seq 1 and 3 "publish a window"; seq 2 publishes nothing
        if msg.seq != 2:
            pending[msg.seq] = PendingPublish()
            return [pending[msg.seq]]
        return None

    gw = IngestGateway(client, handler, config=GatewayConfig(streams=(), held_wait_s=0.2)).start()
    for seq in (1, 2, 3):
        gw.inject(TOPIC, reading(seq), ack=lambda seq=seq: acks.append(seq))
    assert wait_until(lambda: acks == [2]), acks           # handled, nothing of its own to wait for
    assert gw.stats()["held"] == 2
    time.sleep(0.2)
    assert acks == [2]                                       # no PUBACK for 1 and 3 yet: not acknowledged
    pending[3].acked.set()
    assert wait_until(lambda: acks == [2, 3]), acks          # polled while idle
    gw.stop()                                                # 1 still unpublished after held_wait_s
    assert acks == [2, 3]                                    # left for the broker to deliver again
    assert gw.stats()["shed"] == {"held_at_stop": 1} and gw.stats()["held"] == 0


def test_a_handler_returning_a_broken_publish_does_not_hold_or_end_the_worker():
    class Failed:
        def is_published(self) -> bool:
            raise RuntimeError("The client is not currently connected.")

    client, acks, got = FakeBroker(), [], []

    def handler(msg):
        got.append(msg.seq)
        return [Failed()] if msg.seq == 1 else 42  # 42: not an iterable of publishes

    gw = IngestGateway(client, handler, config=GatewayConfig(streams=())).start()
    gw.inject(TOPIC, reading(1), ack=lambda: acks.append(1))
    gw.inject(TOPIC, reading(2), ack=lambda: acks.append(2))
    assert wait_until(lambda: sorted(acks) == [1, 2]), (acks, gw.stats())
    stats = gw.stats()
    assert stats["errors"] == {"publish:RuntimeError": 1, "handler_result:TypeError": 1}
    assert stats["worker_alive"] and got == [1, 2]
    gw.stop()
