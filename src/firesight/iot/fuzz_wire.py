"""Fuzz the running IoT services from outside, over MQTT with mTLS.

:func:`run_wire_fuzz` starts an embedded broker (mTLS, the project CA, AWS IoT Core's
limits), the ingest gateway, the shadow service and the rules engine, each with its own
service certificate, in this process; registers devices with their own certificates; and
has them publish hostile payloads from :class:`~firesight.iot.fuzz.PayloadFuzzer` on their
device topics (read by the gateway and the rules engine) and their shadow topics. Then it
waits for every service to drain and checks, with a device that was never part of the
fuzz, that a valid reading, a valid shadow update and a rule still work.

What counts:

- ``crashes``: exceptions no code path expected: uncaught thread exceptions, ERROR log
  records of firesight's loggers, dead worker threads, worker and handler errors, rules
  that failed while evaluating, shadow requests answered 500;
- ``hangs``: a service whose queue did not drain within ``drain_timeout_s``, or a probe of
  the positive control not answered within ``probe_timeout_s``.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from firesight.errors import FiresightError, require
from firesight.iot.codec import MAX_PAYLOAD_BYTES, encode_scd41
from firesight.iot.fuzz import PayloadFuzzer

SITE = "fuzz"
RULES = [
    {"name": "co2_alert", "sql": "SELECT round(co2_ppm * 1e308) AS r, floor(co2_ppm) AS co2, topic(4) AS thing "
                                 "FROM 'firesight/v1/+/+/scd41' WHERE co2_ppm > 1000 OR topic(4) = 'fuzz-control'",
     "actions": [{"republish": {"topic": "fuzz/rules/${topic(4)}"}}]},
    {"name": "status_archive", "sql": "SELECT state, uptime_s * 1000 AS uptime_ms FROM 'firesight/v1/+/+/status'",
     "actions": [{"object_store": {"key": "status/${topic(4)}/${timestamp()}.json"}}]},
    {"name": "features_copy", "sql": "SELECT * FROM 'firesight/v1/+/+/features' WHERE window_s > 0",
     "actions": [{"republish": {"topic": "fuzz/features/${topic(4)}"}}]},
]


class _ErrorLog(logging.Handler):
    """Counts ERROR records of firesight's loggers, by logger."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.name] += 1


def _wait(cond: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def run_wire_fuzz(payloads: int, rng: np.random.Generator, *, devices: int = 8, shadow_share: float = 0.3,
                  drain_timeout_s: float = 120.0, probe_timeout_s: float = 15.0,
                  workdir: str | Path | None = None,
                  progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Send ``payloads`` hostile messages to running services; return the figures as a dict.

    Parameters
    ----------
    payloads : int
        Messages published in all [-] (device topics and shadow topics).
    rng : numpy.random.Generator
        Seeds every device's fuzzer.
    devices : int
        Device connections publishing in parallel [-] (each is limited to AWS IoT Core's
        100 publishes/s by the broker).
    shadow_share : float
        Fraction of the messages sent on shadow topics [-].
    drain_timeout_s, probe_timeout_s : float
        How long services may take to drain their queues, and to answer a probe [s].
    workdir : path, optional
        Where the registry, CA, shadows and objects live (a temporary folder by default).
    """
    require(payloads >= 1, "payloads", ">= 1", payloads)
    require(devices >= 1, "devices", ">= 1", devices)
    require(0.0 <= shadow_share <= 1.0, "shadow_share", "in [0, 1]", shadow_share)
    with ExitStack() as stack:
        root = Path(workdir) if workdir else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        return _run(payloads, rng, devices, shadow_share, drain_timeout_s, probe_timeout_s, root, stack, progress)


def _run(payloads: int, rng: np.random.Generator, devices: int, shadow_share: float, drain_timeout_s: float,
         probe_timeout_s: float, root: Path, stack: ExitStack,
         progress: Callable[[int], None] | None) -> dict[str, Any]:
    from firesight import bootstrap
    from firesight.config import Config
    from firesight.iot.broker import BrokerConfig, EmbeddedBroker
    from firesight.iot.ca import CertificateAuthority
    from firesight.iot.client import DeviceClient, ServiceClient
    from firesight.iot.gateway import GatewayConfig, IngestGateway
    from firesight.iot.device_registry import DeviceRegistry
    from firesight.iot.rules import RulesEngine, RulesService, load_rules
    from firesight.iot.shadow import ShadowManager, ShadowService

    errors = _ErrorLog()
    firesight_log = logging.getLogger("firesight")
    firesight_log.addHandler(errors)
    stack.callback(firesight_log.removeHandler, errors)
    thread_crashes: Counter[str] = Counter()
    previous_hook = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        thread_crashes[f"{args.thread.name if args.thread else '?'}:{args.exc_type.__name__}"] += 1
        previous_hook(args)

    threading.excepthook = hook
    stack.callback(setattr, threading, "excepthook", previous_hook)

    store = bootstrap.metadata_store(Config(home=Path(root)).resolved())
    registry = DeviceRegistry(store, CertificateAuthority(root / "pki"))
    things = [f"fuzz-node-{k:03d}" for k in range(devices)]
    creds = {t: registry.register_device(t, site=SITE) for t in [*things, "fuzz-control"]}
    broker = EmbeddedBroker(registry, BrokerConfig())
    broker.start()
    stack.callback(broker.stop)

    def service(name: str) -> ServiceClient:
        c = registry.register_service(name)
        client = ServiceClient(name, broker.url, cert_path=c.cert_path, key_path=c.key_path,
                               ca_path=c.ca_path).connect()
        stack.callback(client.close, 2.0)
        return client

    handled: list[Any] = []
    gateway = IngestGateway(service("fuzz-gateway"), handled.append, config=GatewayConfig(site=SITE, qos=1)).start()
    stack.callback(gateway.stop)
    shadows = ShadowManager(bootstrap.metadata_store(Config(home=Path(root / "shadows")).resolved()))
    shadow = ShadowService(shadows, service("fuzz-shadow")).start()
    stack.callback(shadow.stop)
    engine = RulesEngine(load_rules(RULES), object_store=bootstrap.object_store(str(root / "objects")))
    rules = RulesService(engine, service("fuzz-rules"), qos=1).start()
    stack.callback(rules.stop)

    # -- the fuzz: one thread per device connection ---------------------------------------------
    shares = [payloads // devices + (k < payloads % devices) for k in range(devices)]
    sent: Counter[str] = Counter()
    sent_lock = threading.Lock()
    send_errors: Counter[str] = Counter()
    seeds = rng.integers(0, 2**63 - 1, size=devices)
    started = time.monotonic()

    def play(k: int) -> None:
        thing, c = things[k], creds[things[k]]
        fuzzer = PayloadFuzzer(np.random.default_rng(int(seeds[k])), site=SITE, things=(thing,),
                               max_bytes=MAX_PAYLOAD_BYTES)
        client = DeviceClient(thing, broker.url, cert_path=c.cert_path, key_path=c.key_path, ca_path=c.ca_path,
                              site=SITE).connect()
        try:
            for n in range(shares[k]):
                kind = "shadow" if fuzzer.rng.random() < shadow_share else "device"
                topic, body = fuzzer.shadow() if kind == "shadow" else fuzzer.device()
                try:
                    client.publish(topic, body, qos=1)
                except FiresightError as exc:  # refused by the client itself; not sent
                    with sent_lock:
                        send_errors[type(exc).__name__] += 1
                    continue
                with sent_lock:
                    sent[kind] += 1
                if n % 50 == 49:
                    client.flush(60.0)
                    if progress is not None and k == 0:
                        with sent_lock:
                            total = sum(sent.values())
                        progress(total)
            client.flush(60.0)
        finally:
            client.close(5.0)

    threads = [threading.Thread(target=play, args=(k,), name=f"fuzz-device-{k}") for k in range(devices)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    send_s = time.monotonic() - started

    # -- drain, then the positive control ----------------------------------------------------------
    hangs: dict[str, bool] = {}

    def idle(stats: Callable[[], int]) -> Callable[[], bool]:
        last = {"n": -1, "t": time.monotonic()}

        def check() -> bool:
            n = stats()
            if n != last["n"]:
                last["n"], last["t"] = n, time.monotonic()
            return time.monotonic() - last["t"] > 2.0
        return check

    gateway_idle = idle(lambda: gateway.validator.accepted + sum(gateway.validator.rejections().values()))
    hangs["gateway"] = not _wait(lambda: sum(gateway.stats()["queue_depth"].values()) == 0 and gateway_idle(),
                                 drain_timeout_s)
    hangs["rules"] = not _wait(lambda: rules.worker.stats()["queued"] == 0, drain_timeout_s)
    hangs["shadow"] = not _wait(lambda: shadow.worker.stats()["queued"] == 0, drain_timeout_s)
    control = _positive_control(broker.url, creds["fuzz-control"], service("fuzz-probe"), handled,
                                probe_timeout_s, DeviceClient)
    hangs.update({f"probe_{k}": not v for k, v in control.items()})

    gw = gateway.stats()
    rules_stats, shadow_stats = rules.stats(), shadow.stats()
    crash_details: dict[str, int] = {}
    crash_details.update({f"thread:{k}": v for k, v in thread_crashes.items()})
    # ERROR records of other loggers (the gateway's and the workers' errors are counted below)
    crash_details.update({f"log:{k}": v for k, v in errors.counts.items()
                          if k not in ("firesight.iot.worker", "firesight.iot.gateway")})
    crash_details.update({f"gateway:{k}": v for k, v in gw["errors"].items()})
    for name, stats in (("rules", rules_stats["worker"]), ("shadow", shadow_stats["worker"])):
        crash_details.update({f"{name}:{k}": v for k, v in stats.items() if k.startswith(("errors:", "restarts:"))})
        if not stats["worker_alive"]:
            crash_details[f"{name}:worker_dead"] = 1
    if not gw["worker_alive"]:
        crash_details["gateway:worker_dead"] = 1
    crash_details.update({f"rules:{k}": v for k, v in rules_stats["engine"].items() if k.startswith("rule_failures")})
    crash_details.update({f"shadow:{k}": v for k, v in shadow_stats["requests"].items()
                          if k.startswith("internal_error")})
    crash_details = {k: v for k, v in crash_details.items() if v}
    return {
        "payloads_sent": {"device": sent["device"], "shadow": sent["shadow"], "total": sum(sent.values())},
        "refused_by_client": dict(send_errors),
        "devices": devices,
        "received": {"gateway": gw["accepted"] + sum(gw["rejected"].values()),
                     "rules": rules_stats["worker"].get("processed", 0),
                     "shadow": shadow_stats["worker"].get("processed", 0)},
        "accepted": {"gateway": gw["accepted"], "shadow": shadow_stats["requests"].get("accepted", 0),
                     "rules_matched": sum(v for k, v in rules_stats["engine"].items() if k.startswith("matched:"))},
        "rejections": {
            "gateway": dict(sorted(gw["rejected"].items())),
            "rules": {k.split(":", 1)[1]: v for k, v in sorted(rules_stats["engine"].items())
                      if k.startswith("payload_rejected:")},
            "shadow": {k: v for k, v in sorted(shadow_stats["requests"].items()) if k.startswith("rejected_")},
        },
        "shed": {"gateway": gw["shed"], "rules": {k: v for k, v in rules_stats["worker"].items() if k.startswith("shed")},
                 "shadow": {k: v for k, v in shadow_stats["worker"].items() if k.startswith("shed")}},
        "crashes": sum(crash_details.values()),
        "crash_details": crash_details,
        "hangs": sum(hangs.values()),
        "hang_details": {k: v for k, v in hangs.items() if v},
        "valid_device_served_after": all(control.values()),
        "positive_control": control,
        "send_s": round(send_s, 1),
        # the broker's own counts (throttled publishes, deliveries dropped by its bounded
        # queues) where the broker reports them
        "broker_events": dict(broker.event_counts()) if hasattr(broker, "event_counts") else None,
    }


def _positive_control(url: str, creds: Any, probe: Any, handled: list[Any], timeout_s: float,
                      device_cls: type) -> dict[str, bool]:
    """A device outside the fuzz: its reading reaches the gateway handler and the rules
    engine's republish, and its shadow update is accepted."""
    answers: dict[str, threading.Event] = {k: threading.Event() for k in ("rules", "shadow")}
    probe.subscribe("fuzz/rules/fuzz-control", lambda t, p: answers["rules"].set(), qos=1)
    device = device_cls("fuzz-control", url, cert_path=creds.cert_path, key_path=creds.key_path,
                        ca_path=creds.ca_path, site=SITE).connect()
    try:
        device.subscribe("$aws/things/fuzz-control/shadow/update/accepted", lambda t, p: answers["shadow"].set(),
                         qos=1)
        device.publish(device.topic("scd41"), encode_scd41(co2_ppm=650.0, temperature_c=22.0, humidity_rh=41.0,
                                                           ts_ms=int(time.time() * 1000), seq=1), qos=1)
        device.publish("$aws/things/fuzz-control/shadow/update",
                       b'{"state":{"reported":{"measurement_interval_s":5}}}', qos=1)
        gateway_ok = _wait(lambda: any(getattr(m, "thing_name", "") == "fuzz-control" for m in handled), timeout_s)
        return {"gateway": gateway_ok, "rules": answers["rules"].wait(timeout_s),
                "shadow": answers["shadow"].wait(timeout_s)}
    finally:
        device.close(5.0)
