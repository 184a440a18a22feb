"""Memory exhaustion attacks on the embedded broker, from outside over raw sockets and
mTLS: sockets that never send CONNECT, more connections than the cap, a publish whose
header announces 100 MB, and a client flooding publishes. Each shows the bound holding
and a well-behaved device still served (the positive control).

The broker runs in this process so its counters can be read; memory is this process's
resident set (psutil), with generous bounds far below what the attacks cost before
(a 100 MB publish was read whole: +133 MB).
"""

from __future__ import annotations

import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

import psutil
import pytest

from firesight.adapters.local.metadata import SQLiteMetadataStore
from firesight.iot.broker import BrokerConfig, ConnectionLimits, EmbeddedBroker
from firesight.iot.ca import CertificateAuthority
from firesight.iot.client import DeviceClient, ServiceClient, tls_context
from firesight.iot.codec import encode_scd41
from firesight.iot.device_registry import DeviceRegistry
from support.mqtt import Inbox

pytestmark = pytest.mark.timeout(120)

SITE = "lab"
MB = 1024 * 1024
#: a service publishing 600 QoS 0 messages of 100 KB as fast as it can, then waiting for
#: the broker to have taken them (a QoS 1 message after them is acknowledged)
_FIREHOSE = """
import sys, time
from firesight.iot.client import ServiceClient
url, cert, key, ca = sys.argv[1:5]
c = ServiceClient("firehose", url, cert_path=cert, key_path=key, ca_path=ca, client_id="firehose").connect()
payload = b"z" * (100 * 1024)
for i in range(600):
    c.publish("firesight/v1/lab/hose/status", payload, qos=0)
c.publish("firesight/v1/lab/hose/status", b"end", qos=1, wait_s=60)
c.close()
print(600)
"""


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("broker-security-limits")
    registry = DeviceRegistry(SQLiteMetadataStore(str(root / "metadata.db")), CertificateAuthority(root / "pki"))
    creds = {n: registry.register_device(n, site=SITE) for n in ("good", "flood", "big", "idle", "later")}
    return {"registry": registry, "creds": creds, "service": registry.register_service("watcher"),
            "stalled": registry.register_service("stalled"), "firehose": registry.register_service("firehose")}


def _broker(pki, **limits):
    b = EmbeddedBroker(pki["registry"], BrokerConfig(connections=ConnectionLimits(**limits)))
    b.start()
    return b


def _port(url):
    return int(url.rsplit(":", 1)[1])


def _varint(n):
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _connect_packet(client_id, keepalive_s=30):
    body = b"\x00\x04MQTT\x04\x02" + struct.pack("!H", keepalive_s) + struct.pack("!H", len(client_id)) + \
        client_id.encode()
    return b"\x10" + _varint(len(body)) + body


def _publish_packet(topic, payload):
    body = struct.pack("!H", len(topic)) + topic.encode() + payload
    return b"\x30" + _varint(len(body)) + body


def _tls_socket(pki, name, url):
    c = pki["creds"][name]
    ctx = tls_context(ca_path=c.ca_path, cert_path=c.cert_path, key_path=c.key_path)
    raw = socket.create_connection(("127.0.0.1", _port(url)), timeout=5)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def _mqtt_session(pki, name, url):
    """A raw mTLS socket after an accepted CONNECT (client id = thing name)."""
    s = _tls_socket(pki, name, url)
    s.sendall(_connect_packet(name))
    assert s.recv(4) == b"\x20\x02\x00\x00"
    return s


def _closed_by_peer(sock, timeout_s):
    """True if the peer closes ``sock`` within ``timeout_s``."""
    sock.settimeout(timeout_s)
    try:
        return sock.recv(1) == b""
    except (ConnectionError, ssl.SSLError, OSError) as exc:
        return not isinstance(exc, TimeoutError | socket.timeout)


def _device(pki, name, url):
    c = pki["creds"][name]
    return DeviceClient(name, url, cert_path=c.cert_path, key_path=c.key_path, ca_path=c.ca_path, site=SITE)


def _watcher(pki, url, topic_filter):
    s = pki["service"]
    client = ServiceClient("watcher", url, cert_path=s.cert_path, key_path=s.key_path, ca_path=s.ca_path,
                           client_id="watcher").connect()
    inbox = Inbox()
    client.subscribe(topic_filter, inbox, qos=1)
    return client, inbox


def _reading(seq):
    return encode_scd41(co2_ppm=600.0, temperature_c=21.0, humidity_rh=40.0, ts_ms=int(time.time() * 1000), seq=seq)


def test_sockets_that_never_send_connect_are_closed(pki):
    """Plain TCP on the TLS port, TLS without CONNECT, and half a CONNECT: all closed by
    the broker after ``connect_timeout_s`` (1 s here); a device that connects meanwhile
    stays connected and is served."""
    broker = _broker(pki, connect_timeout_s=1.0)
    try:
        silent = [socket.create_connection(("127.0.0.1", _port(broker.url)), timeout=5) for _ in range(10)]
        handshaken = [_tls_socket(pki, "idle", broker.url) for _ in range(5)]
        partial = [_tls_socket(pki, "idle", broker.url) for _ in range(5)]
        for s in partial:
            s.sendall(_connect_packet("idle")[:6])
        watcher, inbox = _watcher(pki, broker.url, "firesight/v1/lab/good/#")
        with _device(pki, "good", broker.url).connect() as good:
            assert all(_closed_by_peer(s, 5.0) for s in silent + handshaken + partial)
            good.publish(good.topic("scd41"), _reading(1), qos=1, wait_s=5)
            assert inbox.wait_for("firesight/v1/lab/good/scd41") and good.is_connected
            assert broker.open_connections() == 2  # the device and the watcher, nothing else
        watcher.close()
        for s in silent + handshaken + partial:
            s.close()
        assert broker.event_counts().get("connect_refused", 0) + broker.event_counts().get("connection_closed", 0) \
            >= 20
    finally:
        broker.stop()


def test_connections_over_the_cap_are_closed_at_once(pki):
    broker = _broker(pki, max_connections=5, connect_timeout_s=2.0)
    try:
        held = [socket.create_connection(("127.0.0.1", _port(broker.url)), timeout=5) for _ in range(5)]
        time.sleep(0.2)
        extra = socket.create_connection(("127.0.0.1", _port(broker.url)), timeout=5)
        assert _closed_by_peer(extra, 1.0)          # refused before the others time out
        assert not any(_closed_by_peer(s, 0.05) for s in held[:1])  # ... which are still open
        assert broker.event_counts()["connect_refused"] >= 1
        assert all(_closed_by_peer(s, 5.0) for s in held)  # then the CONNECT timeout frees them
        with _device(pki, "later", broker.url).connect() as dev:  # positive control
            assert dev.is_connected
        for s in [*held, extra]:
            s.close()
    finally:
        broker.stop()


def test_an_oversized_publish_is_refused_by_its_fixed_header(pki):
    """A PUBLISH announcing 100 MB: the broker closes the connection after reading the
    header; this process (broker included) does not grow by anything like the payload."""
    broker = _broker(pki)
    proc = psutil.Process()
    try:
        watcher, inbox = _watcher(pki, broker.url, "firesight/v1/lab/#")
        s = _mqtt_session(pki, "big", broker.url)
        rss0 = proc.memory_info().rss
        topic = b"firesight/v1/lab/big/features"
        s.sendall(b"\x30" + _varint(100 * MB) + struct.pack("!H", len(topic)) + topic)
        chunk, sent = b"\0" * MB, 0
        with pytest.raises((ConnectionError, ssl.SSLError, OSError)):
            while sent < 100 * MB:
                s.sendall(chunk)
                sent += len(chunk)
        growth_mb = (proc.memory_info().rss - rss0) / MB
        assert sent < 50 * MB, sent                          # refused long before the body
        assert growth_mb < 30, growth_mb                     # was +133 MB
        with _device(pki, "good", broker.url).connect() as good:  # positive control
            good.publish(good.topic("scd41"), _reading(2), qos=1, wait_s=5)
            assert inbox.wait_for("firesight/v1/lab/good/scd41")
        assert "firesight/v1/lab/big/features" not in inbox.topics()
        s.close()
        watcher.close()
    finally:
        broker.stop()


def test_a_qos2_publish_closes_the_connection(pki):
    """AWS IoT Core has no QoS 2; amqtt kept every QoS 2 PUBLISH waiting for a PUBREL that
    a hostile client never sends. The broker closes such a connection; a QoS 1 client is
    served (positive control)."""
    broker = _broker(pki)
    try:
        watcher, inbox = _watcher(pki, broker.url, "firesight/v1/lab/#")
        s = _mqtt_session(pki, "big", broker.url)
        topic = b"firesight/v1/lab/big/status"
        body = struct.pack("!H", len(topic)) + topic + struct.pack("!H", 7) + b"{}"
        s.sendall(b"\x34" + _varint(len(body)) + body)      # PUBLISH, QoS 2, packet id 7
        assert _closed_by_peer(s, 5.0)
        with _device(pki, "good", broker.url).connect() as good:
            good.publish(good.topic("scd41"), _reading(3), qos=1, wait_s=5)
            assert inbox.wait_for("firesight/v1/lab/good/scd41")
        assert "firesight/v1/lab/big/status" not in inbox.topics()
        s.close()
        watcher.close()
    finally:
        broker.stop()


def test_a_flooding_client_is_throttled_and_memory_stays_flat(pki):
    """A device sends QoS 0 publishes as fast as its socket allows for 4 s. The broker
    takes at most 100 per second from it (AWS IoT Core's limit; the rest wait in the
    flooder's own socket), counts the throttling, and stays flat in memory, while a
    well-behaved device's every reading arrives."""
    broker = _broker(pki)
    proc = psutil.Process()
    flood_s = 4.0
    try:
        watcher, inbox = _watcher(pki, broker.url, "firesight/v1/lab/#")
        flooder = _mqtt_session(pki, "flood", broker.url)
        packet = _publish_packet("firesight/v1/lab/flood/status", b"x" * 1000)
        sent = [0]
        stop = threading.Event()

        def flood():
            flooder.settimeout(0.2)
            while not stop.is_set():
                try:
                    flooder.sendall(packet)
                    sent[0] += 1
                except (TimeoutError, socket.timeout):
                    continue
                except OSError:
                    return

        rss0 = proc.memory_info().rss
        thread = threading.Thread(target=flood, daemon=True)
        t0 = time.monotonic()
        thread.start()
        with _device(pki, "good", broker.url).connect() as good:
            for seq in range(10):
                good.publish(good.topic("scd41"), _reading(100 + seq), qos=1, wait_s=5)
                time.sleep(flood_s / 10)
            stop.set()
            elapsed = time.monotonic() - t0
            thread.join(5)
        time.sleep(1.0)
        growth_mb = (proc.memory_info().rss - rss0) / MB
        topics = inbox.topics()
        flood_got = topics.count("firesight/v1/lab/flood/status")
        assert topics.count("firesight/v1/lab/good/scd41") == 10          # the well-behaved device is served
        assert sent[0] > 2 * flood_got, (sent[0], flood_got)              # the flooder was held back ...
        assert flood_got <= 100 * (elapsed + 1.5) + 100, (flood_got, elapsed)  # ... to 100/s (+ one burst)
        assert broker.event_counts()["publish_throttled"] > 0
        assert growth_mb < 50, growth_mb
        flooder.close()
        watcher.close()
    finally:
        broker.stop()


def test_a_subscriber_that_never_reads_costs_a_bounded_amount(pki):
    """A subscriber to everything that stops reading its socket: what the broker holds for
    it stops at ``queues.pending_*`` (1000 messages, 8 MiB) and the rest is dropped for
    it and counted, instead of one task per message piling up (60 MB published here). The
    publisher itself, a service (no rate limit) faster than the broker routes, is held back
    by TCP when its queue of accepted messages is full, and loses nothing.
    Positive control: a device's reading still reaches a subscriber that reads."""
    broker = _broker(pki)
    proc = psutil.Process()
    try:
        st = pki["stalled"]
        ctx = tls_context(ca_path=st.ca_path, cert_path=st.cert_path, key_path=st.key_path)
        stalled = ctx.wrap_socket(socket.create_connection(("127.0.0.1", _port(broker.url)), timeout=5),
                                  server_hostname="127.0.0.1")
        stalled.sendall(_connect_packet("stalled"))
        assert stalled.recv(4) == b"\x20\x02\x00\x00"
        topic_filter = b"firesight/v1/lab/#"
        stalled.sendall(b"\x82" + _varint(2 + 2 + len(topic_filter) + 1) + b"\x00\x01"
                        + struct.pack("!H", len(topic_filter)) + topic_filter + b"\x00")
        assert stalled.recv(5)[:1] == b"\x90"                   # SUBACK; from here on it reads nothing
        watcher, inbox = _watcher(pki, broker.url, "firesight/v1/lab/good/#")
        fh = pki["firehose"]
        rss0 = proc.memory_info().rss
        # the publisher is another process, so that its own buffers are not counted here
        hose = subprocess.run([sys.executable, "-c", _FIREHOSE, broker.url, str(fh.cert_path), str(fh.key_path),
                               str(fh.ca_path)], capture_output=True, text=True, timeout=90)
        assert hose.returncode == 0 and hose.stdout.strip() == "600", hose.stderr[-2000:]
        time.sleep(2.0)
        growth_mb = (proc.memory_info().rss - rss0) / MB
        counts = broker.event_counts()
        assert counts.get("deliver_dropped", 0) > 0                 # dropped for the stalled one only ...
        assert counts["publish"] == 601                             # ... the fast publisher lost nothing (held back)
        assert growth_mb < 40, growth_mb
        with _device(pki, "good", broker.url).connect() as good:
            good.publish(good.topic("scd41"), _reading(9), qos=1, wait_s=5)
            assert inbox.wait_for("firesight/v1/lab/good/scd41")
        watcher.close()
        stalled.close()
    finally:
        broker.stop()
