"""The words of a notification: what a fire-safety operator needs to act on an alert.

Subject first (what, where, how sure), then the facts in a fixed order: site, device,
signal and level, fire probability and model, time (UTC and device time), what drove the
decision (sensor and features), the alert id, how to acknowledge it and by when, and what
happens if nobody does.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any

from firesight.ports import Notification

_TITLES = {"alarm": "FIRE ALARM", "watch": "PRE-ALARM (verify)", "supervisory": "SUPERVISORY",
           "trouble": "TROUBLE"}
_ADVICE = {
    "alarm": "Follow the site's fire procedure now: verify, evacuate if confirmed, call the fire service.",
    "watch": "Verify the room (camera, a visit) and acknowledge; it escalates if nobody does.",
    "supervisory": "A protection feature is impaired; restore it (fire protection is reduced meanwhile).",
    "trouble": "A fault of the fire detection system itself; the device may not detect a fire until fixed.",
}


def utc_text(time_s: float | None) -> str:
    """``2026-12-03 08:40:12 UTC`` for a time [s since epoch]; ``-`` for None."""
    if time_s is None:
        return "-"
    return _dt.datetime.fromtimestamp(float(time_s), _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def drivers_text(explanation: Mapping[str, Any], max_features: int = 6) -> str:
    """One line: the sensor that drove the decision and its leading features."""
    if not isinstance(explanation, Mapping):
        return ""
    parts = []
    sensor = explanation.get("sensor")
    if sensor:
        parts.append(f"sensor {sensor}")
    for key in ("fire_type", "label", "reason", "detail"):
        if explanation.get(key):
            parts.append(f"{key.replace('_', ' ')} {explanation[key]}")
    features = explanation.get("features")
    if isinstance(features, Mapping) and features:
        shown = []
        for name, value in list(features.items())[:max_features]:
            shown.append(f"{name}={value:.4g}" if isinstance(value, (int, float)) and not isinstance(value, bool)
                         else f"{name}={value}")
        parts.append(", ".join(shown))
    snapshot = explanation.get("snapshot")
    if isinstance(snapshot, Mapping):
        scalars = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in snapshot.items()
                   if isinstance(v, (int, float, str)) and not isinstance(v, bool)][:4]
        if scalars:
            parts.append("snapshot " + ", ".join(scalars))
    return "; ".join(parts)


def stage_text(stage: str) -> str:
    if stage == "open":
        return "first notice"
    if stage.startswith("escalation-"):
        return f"ESCALATION {stage.split('-', 1)[1]} (not acknowledged in time)"
    if stage == "cleared":
        return "condition cleared"
    return stage


def render(alert: Mapping[str, Any], stage: str, channel: str, delivery_key: str, *,
           ack_url_template: str = "", next_channels: Sequence[str] = ()) -> Notification:
    """The notification of ``alert`` (an alert store record) at ``stage`` on ``channel``.

    Parameters
    ----------
    alert : mapping
        The alert record (:mod:`firesight.agents.alert_store`).
    stage : str
        ``open``, ``escalation-N`` or ``cleared``.
    channel : str
        Channel name (shown in the data, not in the text).
    delivery_key : str
        The delivery's key.
    ack_url_template : str
        ``str.format`` template with ``{alert_id}`` of a web acknowledgement link ("" none).
    next_channels : sequence of str
        Channels of the next escalation tier (named in the text so the reader knows who
        hears next).
    """
    signal = str(alert.get("signal", ""))
    level = str(alert.get("level", ""))
    site, thing, alert_id = alert.get("site", ""), alert.get("thing", ""), alert.get("alert_id", "")
    title = _TITLES.get(signal, signal.upper())
    if stage == "cleared":
        title = f"CLEARED: {title}"
    elif stage.startswith("escalation-"):
        title = f"ESCALATION {stage.split('-', 1)[1]}: {title}"
    probability = alert.get("probability")
    prob_text = "" if probability is None else f"{float(probability):.2f}"
    condition = level if signal in ("supervisory", "trouble") else ""
    subject = f"[{title}] {site}/{thing}"
    if prob_text:
        subject += f" p={prob_text}"
    if condition:
        subject += f" {condition}"
    ack_command = f"firesight alerts ack {alert_id} --by NAME"
    ack_url = ack_url_template.format(alert_id=alert_id) if ack_url_template else ""
    drivers = drivers_text(alert.get("explanation") or {})
    model = " ".join(x for x in (str(alert.get("variant") or ""), str(alert.get("model_version") or "")) if x)
    device_time_s = alert.get("ts_ms", 0) / 1000.0 if alert.get("ts_ms") else None
    lines = [
        f"{title} at site {site}, device {thing}",
        f"Stage: {stage_text(stage)}",
        f"Signal: {signal}   Level: {level}" + (f"   Condition: {condition}" if condition else ""),
    ]
    if prob_text:
        lines.append(f"Fire probability: {prob_text}" + (f" (model {model})" if model else ""))
    lines.append(f"Raised: {utc_text(alert.get('opened_s'))}   Device time: {utc_text(device_time_s)}")
    if alert.get("scenario_time_s") is not None:
        lines.append(f"Stream time: {float(alert['scenario_time_s']):.1f} s")
    if stage == "cleared" and alert.get("cleared_s"):
        lines.append(f"Cleared: {utc_text(alert.get('cleared_s'))}")
    if drivers:
        lines.append(f"What drove it: {drivers}")
    lines.append("")
    lines.append(_ADVICE.get(signal, "") if stage != "cleared" else
                 "The detector no longer sees the condition; confirm on site and resolve the alert.")
    lines.append("")
    lines.append(f"Alert ID: {alert_id}")
    if stage != "cleared" and alert.get("state") in ("active", "cleared") and not alert.get("acknowledged_s"):
        lines.append(f"Acknowledge: {ack_command}" + (f"  or  {ack_url}" if ack_url else ""))
        if alert.get("next_deadline_s"):
            nxt = f" it escalates to {', '.join(next_channels)}" if next_channels else ""
            lines.append(f"Acknowledge by {utc_text(alert['next_deadline_s'])} or{nxt or ' it escalates'}.")
    lines.append(f"Resolve: firesight alerts resolve {alert_id} --by NAME --note TEXT")
    data = {"alert_id": alert_id, "site": site, "thing": thing, "signal": signal, "level": level,
            "state": alert.get("state"), "stage": stage, "channel": channel,
            "probability": probability, "probability_text": prob_text,
            "variant": alert.get("variant", ""), "model_version": alert.get("model_version", ""),
            "opened_s": alert.get("opened_s"), "time_utc": utc_text(alert.get("opened_s")),
            "ts_ms": alert.get("ts_ms"), "scenario_time_s": alert.get("scenario_time_s"),
            "explanation": alert.get("explanation") or {}, "drivers_text": drivers,
            "ack_command": ack_command, "ack_url": ack_url,
            "ack_deadline_s": alert.get("next_deadline_s"), "correlation_id": alert.get("correlation_id", "")}
    return Notification(delivery_key=delivery_key, subject=subject, text="\n".join(lines) + "\n",
                        severity=signal, data=data)
