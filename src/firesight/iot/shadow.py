"""Device shadows with AWS IoT Device Shadow semantics, persisted behind the metadata port.

A shadow is a JSON document per thing (and optionally per shadow name) holding the
``desired`` state an application asks for and the ``reported`` state the device last
sent. Requests arrive on AWS's reserved topics and are answered there:

- ``$aws/things/{thing}/shadow/get`` -> ``get/accepted`` | ``get/rejected``
- ``$aws/things/{thing}/shadow/update`` -> ``update/accepted`` | ``update/rejected``,
  then ``update/delta`` (when desired differs from reported) and ``update/documents``
- ``$aws/things/{thing}/shadow/delete`` -> ``delete/accepted`` | ``delete/rejected``
- named shadows under ``$aws/things/{thing}/shadow/name/{name}/...``

:class:`ShadowManager` holds the logic and takes ``(topic, payload)`` in and returns the
messages to publish, so the same code answers on any broker; :class:`ShadowService` binds it
to an MQTT client. firesight devices keep their configuration in the classic shadow
(:data:`DEVICE_CONFIG_DEFAULTS`) and report firmware and health there.

References
----------
1. AWS IoT Core Developer Guide, "Device Shadow service documents", "Device Shadow MQTT
   topics", "Device Shadow error messages" and "AWS IoT Device Shadow service quotas"
   (8 KB state document, 6 levels of nesting, 64-byte clientToken).
"""

from __future__ import annotations

import copy
import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from firesight.errors import ConflictError, FiresightError, InvalidParameterError
from firesight.iot import strict_json
from firesight.iot.worker import ServiceWorker, publish_with_backpressure, unsubscribe_and_drain
from firesight.ports import MetadataStore

log = logging.getLogger(__name__)

#: AWS IoT Device Shadow service quotas (reference 1).
MAX_STATE_DOCUMENT_BYTES = 8192
MAX_NESTING_DEPTH = 6
MAX_CLIENT_TOKEN_BYTES = 64
#: Largest request body read at all [bytes]: the 8 KB state document plus room for
#: ``clientToken``, ``version`` and whitespace; larger requests are 413 before parsing.
MAX_REQUEST_BYTES = 2 * MAX_STATE_DOCUMENT_BYTES
#: Nesting of a whole request: ``{"state": {"desired": ...}}`` adds 2 levels to the state's 6.
MAX_REQUEST_DEPTH = MAX_NESTING_DEPTH + 2
#: Conditional-write attempts of one update before giving up with 409 [-].
MAX_WRITE_ATTEMPTS = 16

#: Default device configuration a firesight node starts with, stored as ``desired`` by
#: ``firesight shadow update``; the device echoes what it applies in ``reported``.
#: measurement_interval_s: SCD41 periodic measurement is every 5 s, low-power every 30 s
#: (Sensirion SCD4x datasheet v1.4, section 3.6); ffc_interval_s: the Lepton 3.5's default
#: automatic FFC period of 180 s (FLIR Lepton Engineering Datasheet rev. 200, section 3.5.3).
DEVICE_CONFIG_DEFAULTS: dict[str, Any] = {
    "measurement_interval_s": 5.0,
    "low_power_mode": False,
    "ffc_interval_s": 180.0,
    "edge_mode": "frames",
}
#: Valid ranges of the device configuration keys (the shadow refuses others with 400).
DEVICE_CONFIG_LIMITS = {
    "measurement_interval_s": (5.0, 3600.0),
    "ffc_interval_s": (30.0, 3600.0),
}
#: SCD41 low-power periodic measurement interval [s] (Sensirion SCD4x datasheet v1.4, 3.6).
SCD41_LOW_POWER_INTERVAL_S = 30.0
EDGE_MODES = ("frames", "features")

_NAME = re.compile(r"^[A-Za-z0-9:_-]{1,128}$")
_TOPIC = re.compile(r"^\$aws/things/([^/]+)/shadow/(?:name/([^/]+)/)?(get|update|delete)$")

Message = tuple[str, bytes]


class ShadowRejected(FiresightError):
    """A shadow request was refused with an AWS error ``code`` and ``message``."""

    def __init__(self, code: int, message: str):
        self.code, self.message = code, message
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class ShadowAddress:
    """Which shadow a topic names and what it asks for."""

    thing_name: str
    shadow_name: str | None
    operation: str  # "get" | "update" | "delete"


def parse_shadow_topic(topic: str) -> ShadowAddress | None:
    """The request a shadow topic carries, or ``None`` for any other topic (including the
    service's own ``/accepted`` and ``/rejected`` responses)."""
    match = _TOPIC.match(topic)
    if not match:
        return None
    return ShadowAddress(match.group(1), match.group(2), match.group(3))


def shadow_topic(thing_name: str, operation: str, suffix: str | None = None,
                 shadow_name: str | None = None) -> str:
    """``$aws/things/{thing}/shadow[/name/{name}]/{operation}[/{suffix}]``."""
    base = f"$aws/things/{thing_name}/shadow/"
    if shadow_name:
        base += f"name/{shadow_name}/"
    return base + operation + (f"/{suffix}" if suffix else "")


def validate_device_config(desired: dict[str, Any]) -> None:
    """Refuse firesight device configuration values a node could not apply.

    Raises :class:`ShadowRejected` (400) naming the key, the valid range and the value.
    Keys the node does not know are left to other applications.
    """
    for key, value in desired.items():
        if value is None:
            continue
        if key in DEVICE_CONFIG_LIMITS:
            lo, hi = DEVICE_CONFIG_LIMITS[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
                raise ShadowRejected(400, f"Invalid desired.{key}: expected a number in {lo:g}..{hi:g}, "
                                          f"got {value!r}")
        elif key == "low_power_mode" and not isinstance(value, bool):
            raise ShadowRejected(400, f"Invalid desired.low_power_mode: expected true or false, got {value!r}")
        elif key == "edge_mode" and value not in EDGE_MODES:
            raise ShadowRejected(400, f"Invalid desired.edge_mode: expected one of {list(EDGE_MODES)}, "
                                      f"got {value!r}")


def effective_device_config(state: dict[str, Any] | None) -> dict[str, Any]:
    """The configuration a node runs: defaults, overridden by the shadow's ``desired``.

    In low-power mode the SCD41 cannot measure faster than every 30 s, so the measurement
    interval is raised to at least that.
    """
    config = dict(DEVICE_CONFIG_DEFAULTS)
    for key, value in ((state or {}).get("desired") or {}).items():
        if key in config and value is not None:
            config[key] = value
    if config["low_power_mode"]:
        config["measurement_interval_s"] = max(float(config["measurement_interval_s"]),
                                               SCD41_LOW_POWER_INTERVAL_S)
    return config


class ShadowManager:
    """Shadow documents with AWS semantics, stored in a :class:`MetadataStore` table.

    Parameters
    ----------
    store : MetadataStore
        Where documents persist (one item per shadow; survives restarts).
    clock : callable
        Returns the current time [s since the epoch]; documents carry whole seconds as AWS does.
    validator : callable or None
        Called with each update's ``desired`` object; raises :class:`ShadowRejected` to refuse
        it. Defaults to :func:`validate_device_config`.
    table : str
        Metadata table name.
    """

    def __init__(self, store: MetadataStore, *, clock: Callable[[], float] = time.time,
                 validator: Callable[[dict], None] | None = validate_device_config,
                 table: str = "shadows"):
        self.store, self.table = store, table
        self._clock, self._validator = clock, validator
        #: requests and outcomes: ``get``, ``update``, ``delete``, ``accepted``, ``rejected_409`` ...
        #: (read a consistent copy with :meth:`counts_snapshot`)
        self.counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()

    def _count(self, key: str) -> None:
        with self._counts_lock:
            self.counts[key] += 1

    def counts_snapshot(self) -> dict[str, int]:
        """A copy of :attr:`counts`, safe while requests are being handled."""
        with self._counts_lock:
            return dict(self.counts)

    # -- documents -----------------------------------------------------------------------------
    def _key(self, thing_name: str, shadow_name: str | None) -> str:
        return f"{thing_name}/{shadow_name or ''}"

    def _load(self, thing_name: str, shadow_name: str | None) -> dict[str, Any] | None:
        return self.store.get(self.table, self._key(thing_name, shadow_name))

    def get(self, thing_name: str, shadow_name: str | None = None) -> dict[str, Any]:
        """The full shadow document (state with ``delta``, metadata, version, timestamp).

        Raises :class:`ShadowRejected` 404 if the shadow does not exist.
        """
        _check_names(thing_name, shadow_name)
        item = self._load(thing_name, shadow_name)
        if item is None or item.get("deleted"):
            raise ShadowRejected(404, f"No shadow exists with name: '{shadow_name or thing_name}'")
        state = copy.deepcopy(item["state"])
        delta = delta_state(state.get("desired"), state.get("reported"))
        if delta:
            state["delta"] = delta
        return {"state": state, "metadata": copy.deepcopy(item["metadata"]),
                "version": item["version"], "timestamp": int(self._clock())}

    def update(self, thing_name: str, request: dict[str, Any] | bytes | str,
               shadow_name: str | None = None) -> dict[str, dict[str, Any]]:
        """Apply an update request; return ``{"accepted", "documents"[, "delta"]}`` bodies.

        ``null`` removes a key (or a whole ``desired`` / ``reported`` section); a ``version``
        in the request must equal the stored one (409 otherwise). Raises
        :class:`ShadowRejected` with AWS's codes: 400 bad request, 409 version conflict,
        413 over 8 KB.
        """
        _check_names(thing_name, shadow_name)
        body = _parse_request(request)
        client_token = _client_token(body)
        state_in = body.get("state", _MISSING)
        if state_in is _MISSING:
            raise ShadowRejected(400, "Missing required node: state")
        if not isinstance(state_in, dict):
            raise ShadowRejected(400, "State node must be an object")
        for section in state_in:
            if section not in ("desired", "reported"):
                raise ShadowRejected(400, f"State contains an invalid node: '{section}'")
        for section in ("desired", "reported"):
            value = state_in.get(section)
            if value is not None and not isinstance(value, dict):
                raise ShadowRejected(400, f"{section.capitalize()} node must be an object")
        if _depth(state_in) - 1 > MAX_NESTING_DEPTH:
            raise ShadowRejected(400, f"JSON contains too many levels of nesting; maximum is {MAX_NESTING_DEPTH}")
        version_in = body.get("version")
        if version_in is not None and (isinstance(version_in, bool) or not isinstance(version_in, int)):
            raise ShadowRejected(400, "Invalid version")
        if self._validator is not None and isinstance(state_in.get("desired"), dict):
            self._validator(state_in["desired"])

        for attempt in range(MAX_WRITE_ATTEMPTS):
            item = self._load(thing_name, shadow_name)
            exists = item is not None and not item.get("deleted")
            version = int(item["version"]) if item else 0
            if version_in is not None and version_in != version:
                raise ShadowRejected(409, "Version conflict")
            now_s = int(self._clock())
            old_state = copy.deepcopy(item["state"]) if exists else {}
            old_meta = copy.deepcopy(item["metadata"]) if exists else {}
            state, meta = copy.deepcopy(old_state), copy.deepcopy(old_meta)
            for section in ("desired", "reported"):
                if section not in state_in:
                    continue
                if state_in[section] is None:
                    state.pop(section, None)
                    meta.pop(section, None)
                    continue
                merged_s, merged_m = _merge(state.get(section, {}), meta.get(section, {}),
                                            state_in[section], now_s)
                if merged_s:
                    state[section], meta[section] = merged_s, merged_m
                else:
                    state.pop(section, None)
                    meta.pop(section, None)
            size = len(json.dumps(state, separators=(",", ":")).encode("utf-8"))
            if size > MAX_STATE_DOCUMENT_BYTES:
                raise ShadowRejected(413, "The payload exceeds the maximum size allowed")
            new_version = version + 1
            try:  # conditional on the version read above: another writer (process) may have won
                self.store.put(self.table, {
                    "shadow_id": self._key(thing_name, shadow_name), "thing_name": thing_name,
                    "shadow_name": shadow_name or "", "state": state, "metadata": meta,
                    "version": new_version, "timestamp": now_s, "deleted": False,
                }, key="shadow_id", expected_version=version)
                break
            except ConflictError:
                self._count("write_conflicts")
                if version_in is not None:
                    raise ShadowRejected(409, "Version conflict") from None
        else:
            raise ShadowRejected(409, f"Version conflict: {MAX_WRITE_ATTEMPTS} concurrent writers won in a row")

        accepted: dict[str, Any] = {
            "state": state_in,
            "metadata": {s: _metadata_of(state_in[s], now_s) for s in ("desired", "reported")
                         if isinstance(state_in.get(s), dict)},
            "version": new_version, "timestamp": now_s}
        documents: dict[str, Any] = {
            "previous": ({"state": old_state, "metadata": old_meta, "version": version}
                         if exists else None),
            "current": {"state": state, "metadata": meta, "version": new_version},
            "timestamp": now_s}
        out = {"accepted": accepted, "documents": documents}
        delta = delta_state(state.get("desired"), state.get("reported"))
        if delta and "desired" in state_in:
            out["delta"] = {"version": new_version, "timestamp": now_s, "state": delta,
                            "metadata": _delta_metadata(delta, meta.get("desired", {}))}
        if client_token is not None:
            for doc in out.values():
                doc["clientToken"] = client_token
        return out

    def delete(self, thing_name: str, shadow_name: str | None = None,
               client_token: str | None = None) -> dict[str, Any]:
        """Delete a shadow; its version carries on if it is created again (as AWS does within
        48 h). Raises :class:`ShadowRejected` 404 if there is none."""
        _check_names(thing_name, shadow_name)
        for _ in range(MAX_WRITE_ATTEMPTS):
            item = self._load(thing_name, shadow_name)
            if item is None or item.get("deleted"):
                raise ShadowRejected(404, f"No shadow exists with name: '{shadow_name or thing_name}'")
            now_s = int(self._clock())
            try:  # keeps the version (it carries on if the shadow is created again)
                self.store.put(self.table, {
                    "shadow_id": self._key(thing_name, shadow_name), "thing_name": thing_name,
                    "shadow_name": shadow_name or "", "state": {}, "metadata": {},
                    "version": item["version"], "timestamp": now_s, "deleted": True,
                }, key="shadow_id", expected_version=int(item["version"]))
                break
            except ConflictError:
                self._count("write_conflicts")
        else:
            raise ShadowRejected(409, "Version conflict")
        out = {"version": item["version"], "timestamp": now_s}
        if client_token is not None:
            out["clientToken"] = client_token
        return out

    def list_shadows(self) -> list[dict[str, Any]]:
        """Every live shadow as ``{"thing_name", "shadow_name", "version", "timestamp"}``."""
        return [{k: item[k] for k in ("thing_name", "shadow_name", "version", "timestamp")}
                for item in self.store.query(self.table, where={"deleted": False})]

    # -- MQTT requests -----------------------------------------------------------------------------
    def handle(self, topic: str, payload: bytes) -> list[Message]:
        """Answer one request message; return the ``(topic, payload)`` messages to publish.

        Topics that are not shadow requests give no messages. Bad requests are answered on
        ``/rejected`` with AWS's error document and counted in :attr:`counts`.
        """
        address = parse_shadow_topic(topic)
        if address is None:
            return []
        op, thing, name = address.operation, address.thing_name, address.shadow_name
        self._count(op)
        client_token = None
        try:
            if len(payload) > MAX_REQUEST_BYTES:
                raise ShadowRejected(413, "The payload exceeds the maximum size allowed")
            body = _parse_request(payload) if payload.strip() else {}
            client_token = _client_token(body)
            if op == "get":
                doc = self.get(thing, name)
                if client_token is not None:
                    doc["clientToken"] = client_token
                out = [(shadow_topic(thing, "get", "accepted", name), doc)]
            elif op == "delete":
                out = [(shadow_topic(thing, "delete", "accepted", name), self.delete(thing, name, client_token))]
            else:
                docs = self.update(thing, body, name)
                out = [(shadow_topic(thing, "update", "accepted", name), docs["accepted"])]
                if "delta" in docs:
                    out.append((shadow_topic(thing, "update", "delta", name), docs["delta"]))
                out.append((shadow_topic(thing, "update", "documents", name), docs["documents"]))
        except Exception as exc:  # every request gets an answer; a store failure is a 500
            if isinstance(exc, ShadowRejected):
                code, message = exc.code, exc.message
            elif isinstance(exc, InvalidParameterError):
                code, message = 400, str(exc)
            else:
                code, message = 500, "InternalFailure"
                self._count(f"internal_error:{type(exc).__name__}")
                log.exception("shadow %s of %s failed", op, thing)
            self._count(f"rejected_{code}")
            err: dict[str, Any] = {"code": code, "message": message, "timestamp": int(self._clock())}
            if client_token is not None:
                err["clientToken"] = client_token
            out = [(shadow_topic(thing, op, "rejected", name), err)]
        else:
            self._count("accepted")
        return [(t, json.dumps(doc, separators=(",", ":")).encode("utf-8")) for t, doc in out]


class ShadowService:
    """Answers shadow requests on a broker.

    ``client`` is any MQTT client exposing ``subscribe(topic_filter, callback, qos=...)``,
    ``unsubscribe(topic_filter)`` and ``publish(topic, payload, qos=...)`` — firesight's
    :class:`firesight.iot.client.ServiceClient`, or a paho wrapper. The callback is
    ``callback(topic, payload, retain=False)``: a client that passes the MQTT RETAIN flag
    lets the service ignore retained requests (counted as ``retained_ignored``), which a
    broker replays on every new subscription, so a restart would apply an old update again
    (AWS IoT Core refuses retained messages on reserved topics).

    The MQTT network thread only queues requests (bounded: ``max_queue``, then shed and
    counted); a supervised worker thread does the store I/O and publishes the answers.
    """

    #: request topics of classic and named shadows of every thing
    TOPIC_FILTERS = ("$aws/things/+/shadow/get", "$aws/things/+/shadow/update",
                     "$aws/things/+/shadow/delete", "$aws/things/+/shadow/name/+/get",
                     "$aws/things/+/shadow/name/+/update", "$aws/things/+/shadow/name/+/delete")

    def __init__(self, manager: ShadowManager, client: Any, *, qos: int = 1, max_queue: int = 1000):
        self.manager, self.client, self.qos = manager, client, qos
        self.worker = ServiceWorker("firesight-shadow", self._handle, max_queue=max_queue)
        self._filters: list[str] = []

    def start(self) -> "ShadowService":
        self.worker.start()
        for topic_filter in self.TOPIC_FILTERS:
            self.client.subscribe(topic_filter, self._on_message, qos=self.qos)
            self._filters.append(topic_filter)
        return self

    def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Staged stop: unsubscribe (stop accepting), answer the queued requests for up to
        ``drain_timeout_s`` [s], end the worker. The client stays open (its owner closes it)."""
        unsubscribe_and_drain(self.client, self._filters, self.worker, drain_timeout_s)

    def stats(self) -> dict[str, Any]:
        """The worker's queue and counters, and the manager's request counts."""
        return {"worker": self.worker.stats(), "requests": self.manager.counts_snapshot()}

    def _on_message(self, topic: str, payload: bytes, retain: bool = False) -> None:
        if retain:
            self.worker.count("retained_ignored")
            return
        self.worker.submit((topic, payload))

    def _handle(self, item: tuple[str, bytes]) -> None:
        topic, payload = item
        for out_topic, out_payload in self.manager.handle(topic, payload):
            publish_with_backpressure(self.client, out_topic, out_payload, qos=self.qos)


def delta_state(desired: dict | None, reported: dict | None) -> dict[str, Any]:
    """Keys of ``desired`` whose value differs from ``reported`` (recursively for objects;
    arrays compare whole), as the shadow's ``delta`` state."""
    out: dict[str, Any] = {}
    reported = reported or {}
    for key, want in (desired or {}).items():
        have = reported.get(key, _MISSING)
        if isinstance(want, dict) and isinstance(have, dict):
            sub = delta_state(want, have)
            if sub:
                out[key] = sub
        elif have is _MISSING or have != want or type(have) is not type(want):
            out[key] = want
    return out


# -- helpers ---------------------------------------------------------------------------------------
class _Missing:
    pass


_MISSING: Any = _Missing()


def _check_names(thing_name: str, shadow_name: str | None) -> None:
    if not isinstance(thing_name, str) or not _NAME.match(thing_name):
        raise ShadowRejected(400, f"Invalid thing name: {thing_name!r}")
    if shadow_name is not None and (not isinstance(shadow_name, str) or not _NAME.match(shadow_name)
                                    or len(shadow_name) > 64):
        raise ShadowRejected(400, f"Invalid shadow name: {shadow_name!r}")


def _parse_request(request: dict | bytes | bytearray | str) -> dict[str, Any]:
    """A request body as a dict; strict JSON (see :mod:`firesight.iot.strict_json`) or a
    :class:`ShadowRejected` with AWS's code and message."""
    if isinstance(request, dict):
        try:  # a dict from the CLI must be a document JSON can carry (no NaN, no surrogates)
            request = strict_json.dumps(request)
        except (TypeError, ValueError, RecursionError):
            raise ShadowRejected(400, "Invalid JSON") from None
    try:
        body = strict_json.loads(request, max_depth=MAX_REQUEST_DEPTH)
    except strict_json.JsonRejected as exc:
        if exc.reason == "not_utf8":
            raise ShadowRejected(415, "Unsupported documented encoding; supported encoding is UTF-8") from None
        if exc.reason == "too_deep":
            raise ShadowRejected(400, f"JSON contains too many levels of nesting; maximum is "
                                      f"{MAX_NESTING_DEPTH}") from None
        raise ShadowRejected(400, "Invalid JSON") from None
    if not isinstance(body, dict):
        raise ShadowRejected(400, "Invalid JSON")
    return body


def _client_token(body: dict[str, Any]) -> str | None:
    token = body.get("clientToken")
    if token is None:
        return None
    if not isinstance(token, str) or len(token.encode("utf-8")) > MAX_CLIENT_TOKEN_BYTES:
        raise ShadowRejected(400, "Invalid clientToken")
    return token


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _metadata_of(value: Any, now_s: int) -> Any:
    """Metadata mirrors the state: ``{"timestamp": t}`` per leaf, per array element."""
    if isinstance(value, dict):
        return {k: _metadata_of(v, now_s) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_metadata_of(v, now_s) for v in value]
    return {"timestamp": now_s}


def _merge(state: dict, meta: dict, update: dict, now_s: int) -> tuple[dict, dict]:
    """Merge ``update`` into ``state``: objects merge key by key, ``null`` removes a key,
    anything else (arrays included) replaces. Returns new (state, metadata)."""
    state, meta = dict(state), dict(meta) if isinstance(meta, dict) else {}
    for key, value in update.items():
        if value is None:
            state.pop(key, None)
            meta.pop(key, None)
        elif isinstance(value, dict) and isinstance(state.get(key), dict):
            sub_s, sub_m = _merge(state[key], meta.get(key, {}), value, now_s)
            state[key], meta[key] = sub_s, sub_m
        else:
            state[key] = _drop_nulls(value)
            meta[key] = _metadata_of(state[key], now_s)
    return state, meta


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    return value


def _delta_metadata(delta: dict, desired_meta: dict) -> dict:
    out = {}
    for key, value in delta.items():
        meta = desired_meta.get(key, {}) if isinstance(desired_meta, dict) else {}
        out[key] = _delta_metadata(value, meta) if isinstance(value, dict) else meta
    return out

