"""The response policy: built from configuration with named errors, routes by signal and
level, the recommended default, and the never-suppress rule."""

from __future__ import annotations

import pytest

from firesight.agents.response_policy import ResponsePolicy, Route, default_policy
from firesight.errors import InvalidParameterError


def test_from_dict_round_trip_and_route_lookup():
    spec = {"routes": {"alarm": {"tiers": [["email", "slack"], ["chief"]], "ack_deadline_s": 45},
                       "trouble": {"tiers": [["maintenance"]]},
                       "trouble:notification_failed": {"tiers": [["console"]]},
                       "*": {"tiers": [["console"]]}},
            "retry": {"max_attempts": 5, "initial_delay_s": 0.2}, "never_suppress_probability": 0.8,
            "channel_retry": {"email": {"max_attempts": 8, "max_delay_s": 60.0}},
            "never_suppress_labels": ["flaming", "smouldering"], "uncertain": "resend"}
    policy = ResponsePolicy.from_dict(spec)
    assert policy.route("alarm", "alarm") == Route((("email", "slack"), ("chief",)), 45)
    assert policy.route("trouble", "offline").tiers == (("maintenance",),)
    assert policy.route("trouble", "notification_failed").tiers == (("console",),)
    assert policy.route("supervisory", "degraded:gas").tiers == (("console",),)  # the '*' route
    assert policy.retry_for("email").max_attempts == 8 and policy.retry_for("slack").max_attempts == 5
    assert policy.retry.max_attempts == 5 and policy.channels() == {"email", "slack", "chief", "maintenance", "console"}
    assert ResponsePolicy.from_dict(policy.to_dict()) == policy


@pytest.mark.parametrize("spec, name", [
    ({"routes": {"fire": {"tiers": [["x"]]}}}, "routes"),
    ({"routes": {"alarm": {"tiers": [["x"]], "deadline": 5}}}, "routes.alarm keys"),
    ({"routes": {"alarm": {"tiers": []}}}, "tiers"),
    ({"routes": {"alarm": {"tiers": [["x"], ["y"]], "ack_deadline_s": -1}}}, "ack_deadline_s"),
    ({"routes": {}, "retry": {"attempts": 3}}, "retry keys"),
    ({"routes": {}, "channel_retry": {"email": {"tries": 3}}}, "channel_retry.email keys"),
    ({"routes": {}, "never_suppress_probability": 1.5}, "never_suppress_probability"),
    ({"routes": {}, "uncertain": "maybe"}, "uncertain"),
    ({"routes": {}, "colour": "red"}, "response policy keys"),
])
def test_bad_configuration_is_named(spec, name):
    with pytest.raises(InvalidParameterError, match=name):
        ResponsePolicy.from_dict(spec)


def test_default_policy_uses_only_configured_channels():
    full = default_policy(["console", "email", "webhook", "slack", "maintenance", "escalation"])
    assert full.route("alarm", "alarm").tiers[0] == ("email", "webhook", "slack", "console")
    assert full.route("alarm", "alarm").tiers[1][-1] == "escalation" and full.route("alarm", "alarm").ack_deadline_s == 60
    assert full.route("watch", "watch") == Route((("console",), ("email", "console")), 180.0)
    assert full.route("trouble", "offline").tiers == (("maintenance", "console"),)
    console_only = default_policy(["console"])
    assert console_only.channels() == {"console"}
    # with the console alone an unverified pre-alarm is repeated there as an escalation
    assert console_only.route("watch", "watch") == Route((("console",), ("console",)), 180.0)


def test_never_suppress_probable_or_flaming_alarms_only():
    policy = default_policy(["console"], never_suppress_probability=0.9)
    assert policy.never_suppress("alarm", 0.9, "", {})
    assert not policy.never_suppress("alarm", 0.89, "full", {"sensor": "thermal"})
    assert policy.never_suppress("alarm", 0.5, "", {"fire_type": "Flaming"})
    assert policy.never_suppress("alarm", None, "", {"family": "en54_tf4_flaming_plastic"})
    assert not policy.never_suppress("watch", 0.99, "", {"fire_type": "flaming"})
    assert not policy.never_suppress("trouble", None, "", {})
