"""AWS IoT Data plane: device shadows (get, update, delete) and publishing to a topic
over HTTPS, the way a Lambda handler or ECS task talks to devices.

References
----------
1. AWS IoT Developer Guide, "Device Shadow service documents" (``state.desired`` /
   ``state.reported``, ``version``, optimistic locking with ``version`` in an update).
2. AWS IoT Data Plane API Reference, ``GetThingShadow``, ``UpdateThingShadow``, ``Publish``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from firesight.adapters.aws._session import AwsSettings, ClientFactory, error_code, translate
from firesight.errors import ConflictError, NotFoundError, require

MAX_PAYLOAD_BYTES = 128 * 1024


class IoTData:
    """Shadows and publish through the IoT data endpoint (``settings.endpoint_url`` or the
    account's ``iot:Data-ATS`` endpoint)."""

    def __init__(self, *, settings: AwsSettings | None = None):
        self._clients = ClientFactory(settings or AwsSettings())

    @property
    def client(self) -> Any:
        return self._clients.client("iot-data")

    def get_shadow(self, thing_name: str, shadow_name: str = "") -> dict[str, Any]:
        """The shadow document; :class:`NotFoundError` if the thing has none."""
        args: dict[str, Any] = {"thingName": thing_name}
        if shadow_name:
            args["shadowName"] = shadow_name
        try:
            return json.loads(self.client.get_thing_shadow(**args)["payload"].read())
        except Exception as exc:
            err = translate(exc, f"shadow of {thing_name}")
            if isinstance(err, NotFoundError):
                raise NotFoundError(f"thing {thing_name!r} has no shadow {shadow_name or '(classic)'}") from exc
            raise err from exc

    def update_shadow(self, thing_name: str, *, desired: Mapping[str, Any] | None = None,
                      reported: Mapping[str, Any] | None = None, expected_version: int | None = None,
                      shadow_name: str = "") -> dict[str, Any]:
        """Merge ``desired`` / ``reported`` into the shadow; with ``expected_version`` the
        update is refused (:class:`ConflictError`) unless the shadow is at that version."""
        require(desired is not None or reported is not None, "desired/reported", "at least one", None)
        state: dict[str, Any] = {}
        if desired is not None:
            state["desired"] = dict(desired)
        if reported is not None:
            state["reported"] = dict(reported)
        doc: dict[str, Any] = {"state": state}
        if expected_version is not None:
            doc["version"] = int(expected_version)
        payload = json.dumps(doc).encode("utf-8")
        require(len(payload) <= 8 * 1024, "shadow update", "at most 8 KB (AWS IoT shadow document limit)",
                len(payload))
        args: dict[str, Any] = {"thingName": thing_name, "payload": payload}
        if shadow_name:
            args["shadowName"] = shadow_name
        try:
            return json.loads(self.client.update_thing_shadow(**args)["payload"].read())
        except Exception as exc:
            if error_code(exc) in ("ConflictException", "VersionConflictException"):
                raise ConflictError(f"shadow of {thing_name}: not at version {expected_version}") from exc
            raise translate(exc, f"update shadow of {thing_name}") from exc

    def publish(self, topic: str, payload: bytes | str | Mapping[str, Any], *, qos: int = 1,
                retain: bool = False) -> None:
        """Publish to an MQTT topic (at most 128 KB, AWS IoT Core's message limit)."""
        require(qos in (0, 1), "qos", "0 or 1", qos)
        data = payload if isinstance(payload, bytes) else (
            payload.encode("utf-8") if isinstance(payload, str) else json.dumps(dict(payload)).encode("utf-8"))
        require(len(data) <= MAX_PAYLOAD_BYTES, "payload", f"at most {MAX_PAYLOAD_BYTES} bytes", len(data))
        try:
            self.client.publish(topic=topic, qos=qos, retain=retain, payload=data)
        except Exception as exc:
            raise translate(exc, f"publish to {topic}") from exc
