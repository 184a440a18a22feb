"""Device Defender behaviours and violation lifecycle (AWS IoT Device Defender Developer
Guide, "Behaviors", "Detect metrics statistical thresholds", "Detect concepts")."""

import pytest

from firesight.errors import InvalidParameterError
from firesight.iot.defender import DEFAULT_PROFILE, Defender, SecurityProfile, violation_alert


def _profile(behaviors, quarantine=()):
    return {"securityProfileName": "test", "behaviors": behaviors, "quarantineBehaviors": list(quarantine)}


FLOOD = {"name": "flood", "metric": "aws:num-messages-sent",
         "criteria": {"comparisonOperator": "greater-than", "value": {"count": 50}, "durationSeconds": 10,
                      "consecutiveDatapointsToAlarm": 2, "consecutiveDatapointsToClear": 2}}


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_flood_raises_after_consecutive_datapoints_and_clears():
    clock, seen = Clock(), []
    d = Defender([_profile([FLOOD])], clock=clock, on_violation=[seen.append])
    for step in range(6):
        rate = 20 if step in (0, 5) else 100  # messages per 10 s
        for i in range(rate):
            d.record_publish("n1", 300, time_s=clock.t + (i + 1) * 10 / rate)
            if i < 20:
                d.record_publish("n2", 300, time_s=clock.t + (i + 1) * 10 / rate)
        clock.t += 10
        d.evaluate()
    types = [(e["thingName"], e["violationEventType"]) for e in seen]
    # step 1 breaches once (needs 2), step 2 alarms; steps 3-4 stay; step 5 clear 1, needs 2 -> not yet
    assert types == [("n1", "in-alarm")]
    alarm = seen[0]
    assert alarm["metricValue"] == {"count": 100} and alarm["securityProfileName"] == "test"
    assert alarm["behavior"]["criteria"]["value"] == {"count": 50}
    assert set(alarm) >= {"violationId", "thingName", "securityProfileName", "behavior", "metricValue",
                          "violationEventType", "violationEventTime"}
    assert [v["thingName"] for v in d.active_violations()] == ["n1"]
    clock.t += 10
    d.evaluate()  # second quiet datapoint (count 0)
    assert seen[-1]["violationEventType"] == "alarm-cleared"
    assert seen[-1]["violationId"] == alarm["violationId"]
    assert d.active_violations() == []


def test_auth_failures_quarantine_once():
    clock, quarantined = Clock(), []
    probing = {"name": "probing", "metric": "aws:num-authorization-failures",
               "criteria": {"comparisonOperator": "greater-than", "value": {"count": 3}, "durationSeconds": 60}}
    d = Defender([_profile([probing], quarantine=["probing"])], clock=clock, quarantine=quarantined.append)
    for _ in range(5):
        d.record_auth_failure("evil")
    d.record_auth_failure("clumsy")
    events = d.evaluate()
    assert [(e["thingName"], e["metricValue"]) for e in events] == [("evil", {"count": 5})]
    d.record_auth_failure("evil")
    d.evaluate()
    assert quarantined == ["evil"] and d.quarantined == {"evil"}


def test_reconnect_storm_and_source_ip():
    clock = Clock()
    storm = {"name": "storm", "metric": "aws:num-connection-attempts",
             "criteria": {"comparisonOperator": "greater-than-equals", "value": {"count": 10}, "durationSeconds": 30}}
    ips = {"name": "foreign_ip", "metric": "aws:source-ip-address",
           "criteria": {"comparisonOperator": "not-in-cidr-set", "value": {"cidrs": ["10.0.0.0/8", "127.0.0.0/8"]}}}
    d = Defender([_profile([storm, ips])], clock=clock)
    for i in range(10):
        d.record_connect("n1", source_ip="127.0.0.1", time_s=clock.t - i)
        d.record_disconnect("n1", time_s=clock.t - i)
    d.record_connect("n2", source_ip="203.0.113.9")
    events = {(e["thingName"], e["behavior"]["name"]): e for e in d.evaluate()}
    assert set(events) == {("n1", "storm"), ("n2", "foreign_ip")}
    assert events[("n2", "foreign_ip")]["metricValue"] == {"cidrs": ["203.0.113.9"]}


def test_message_size_per_message_datapoints():
    big = {"name": "big", "metric": "aws:message-byte-size",
           "criteria": {"comparisonOperator": "greater-than", "value": {"count": 1000},
                        "consecutiveDatapointsToAlarm": 2, "consecutiveDatapointsToClear": 1}}
    d = Defender([_profile([big])], clock=Clock())
    d.record_publish("n", 5000)
    d.record_publish("n", 200)
    d.record_publish("n", 5000)
    assert d.evaluate() == []  # breaches are not consecutive
    d.record_publish("n", 200)
    d.record_publish("n", 5000)
    d.record_publish("n", 6000)
    (event,) = d.evaluate()
    assert event["metricValue"] == {"number": 6000.0}
    d.record_publish("n", 10)
    assert d.evaluate()[0]["violationEventType"] == "alarm-cleared"


def test_statistical_threshold_uses_earlier_fleet_datapoints():
    clock = Clock()
    stat = {"name": "stat_flood", "metric": "aws:num-messages-sent",
            "criteria": {"comparisonOperator": "greater-than", "statisticalThreshold": {"statistic": "p99"},
                         "durationSeconds": 10}}
    d = Defender([_profile([stat])], clock=clock, min_statistical_datapoints=30)
    things = [f"n{i}" for i in range(10)]

    def round_(flooder=None):
        for k, thing in enumerate(things):
            n = 40 + k if thing != flooder else 400  # normal nodes send 40..49 per 10 s
            for i in range(n):
                d.record_publish(thing, 100, time_s=clock.t + (i + 1) * 10 / n)
        clock.t += 10
        return d.evaluate()

    # rounds 1-3 build 30 fleet datapoints; until then the behaviour is not evaluated
    assert round_("n3") == []
    assert round_() == [] and round_() == []
    assert round_() == []  # a normal node does not exceed the fleet's p99
    events = round_("n7")
    assert [e["thingName"] for e in events] == ["n7"]
    # the history holds 40 datapoints: 39 of 40..49 and the early flood of 400, so the
    # linearly interpolated p99 (rank 0.99 * 39 = 38.61) lies 61 % of the way from 49 to 400
    threshold = events[0]["violationEventAdditionalInfo"]["statisticalThreshold"]
    assert threshold == pytest.approx(49 + 0.61 * 351, abs=1e-6)
    assert events[0]["metricValue"] == {"count": 400}


def test_removing_a_profile_invalidates_active_violations():
    seen = []
    d = Defender([_profile([FLOOD])], clock=Clock(), on_violation=[seen.append])
    for _ in range(2):
        for _ in range(60):
            d.record_publish("n", 10)
        d.evaluate()
    assert seen[-1]["violationEventType"] == "in-alarm"
    d.remove_profile("test")
    assert seen[-1]["violationEventType"] == "alarm-invalidated"
    assert seen[-1]["violationId"] == seen[-2]["violationId"] and d.active_violations() == []


@pytest.mark.parametrize("behavior", [
    {"name": "x", "metric": "aws:num-bananas",
     "criteria": {"comparisonOperator": "greater-than", "value": {"count": 1}}},
    {"name": "x", "metric": "aws:num-messages-sent", "criteria": {"comparisonOperator": "more", "value": {"count": 1}}},
    {"name": "x", "metric": "aws:num-messages-sent", "criteria": {"comparisonOperator": "greater-than"}},
    {"name": "x", "metric": "aws:num-messages-sent",
     "criteria": {"comparisonOperator": "greater-than", "statisticalThreshold": {"statistic": "p101"}}},
    {"name": "x", "metric": "aws:source-ip-address", "criteria": {"comparisonOperator": "in-cidr-set",
                                                                  "value": {"cidrs": ["not-a-cidr"]}}},
    {"name": "x", "metric": "aws:num-messages-sent",
     "criteria": {"comparisonOperator": "greater-than", "value": {"count": 1}, "consecutiveDatapointsToAlarm": 0}},
])
def test_bad_behaviours_are_refused(behavior):
    with pytest.raises(InvalidParameterError):
        Defender([_profile([behavior])])


def test_default_profile_round_trips_to_aws():
    profile = SecurityProfile.from_dict(DEFAULT_PROFILE)
    aws = profile.to_aws()
    assert aws["securityProfileName"] == "firesight-nodes"
    assert "quarantineBehaviors" not in aws
    assert aws["behaviors"][0] == DEFAULT_PROFILE["behaviors"][0]
    short = SecurityProfile.from_dict(_profile([FLOOD]))
    with pytest.raises(InvalidParameterError):  # AWS accepts 300..3600 s only
        short.to_aws()


def test_violation_alert_shape():
    event = {"violationId": "v", "thingName": "n", "securityProfileName": "p", "behavior": {},
             "violationEventType": "in-alarm", "violationEventTime": 1.0}
    alert = violation_alert(event, site="s", now_ms=5)
    assert alert["level"] == "security" and alert["thing_name"] == "n" and alert["site"] == "s"


class SubscribingClient:
    """Stands in for an MQTT client: keeps the callback of each subscription."""

    def __init__(self):
        self.callbacks = {}

    def subscribe(self, topic_filter, callback, **kwargs):
        self.callbacks[topic_filter] = callback


def test_observe_publishes_counts_messages_per_thing_from_topics():
    from firesight.iot.defender import DefenderService

    clock = Clock()
    d = Defender([_profile([FLOOD])], clock=clock, principal_filter=lambda n: n.startswith("node"))
    client = SubscribingClient()
    DefenderService(d).observe_publishes(client)
    deliver = client.callbacks["firesight/v1/+/+/#"]
    for _ in range(60):
        deliver("firesight/v1/site-b/node-9/status", b"{}")
        deliver("firesight/v1/site-b/gateway-1/status", b"{}")
    deliver("firesight/v1/site-b/alerts", b"{}")  # not a device topic
    assert d.metric_value("node-9", "aws:num-messages-sent", 10) == 60
    assert "gateway-1" not in d.things and d.sites == {"node-9": "site-b"}
