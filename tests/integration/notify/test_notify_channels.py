"""Notification channels against real servers: an aiosmtpd SMTP server (plain, STARTTLS with
AUTH, implicit TLS) and an http.server on 127.0.0.1 (webhook, Slack), including the retry
behaviour on 500-then-200 and the failure result on always-500 and 400."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from firesight.errors import DeliveryError
from firesight.iot.ca import CertificateAuthority
from firesight.notify import (EmailConfig, EmailNotifier, RetryPolicy, SlackNotifier, WebhookConfig,
                              WebhookNotifier, deliver)
from firesight.ports import Notification
from support.notify_servers import free_port, start_http, start_smtp

FAST = RetryPolicy(max_attempts=3, initial_delay_s=0.01, max_delay_s=0.02, jitter=False)


def _note(key="a1:open:email", severity="alarm"):
    return Notification(delivery_key=key, subject="[FIRE ALARM] hq/kitchen-3 p=0.93",
                        text="FIRE ALARM at site hq, device kitchen-3\nAcknowledge: firesight alerts ack a1 --by NAME\n",
                        severity=severity,
                        data={"alert_id": "a1", "site": "hq", "thing": "kitchen-3", "signal": "alarm", "level": "alarm",
                              "probability_text": "0.93", "time_utc": "2026-12-03 08:40:12 UTC",
                              "drivers_text": "sensor thermal; max_temp_c=250",
                              "ack_command": "firesight alerts ack a1 --by NAME"})


@pytest.fixture(scope="module")
def server_cert(tmp_path_factory):
    ca = CertificateAuthority(tmp_path_factory.mktemp("pki"))
    issued = ca.issue_server_certificate(("localhost", "127.0.0.1"))
    return ca.ca_path, issued.cert_path, issued.key_path


def test_email_plain_reaches_the_mailbox_with_subject_body_and_headers():
    smtp = start_smtp()
    try:
        notifier = EmailNotifier(EmailConfig(host="127.0.0.1", port=smtp.port, sender="fire@hq.example",
                                             recipients=("ops@hq.example", "chief@hq.example")))
        notifier.send(_note())
        [msg] = smtp.mailbox.wait_for(1)
        assert msg["Subject"] == "[FIRE ALARM] hq/kitchen-3 p=0.93"
        assert "device kitchen-3" in msg.get_content()
        assert "firesight alerts ack a1" in msg.get_content()
        assert msg["X-Firesight-Delivery-Key"] == "a1:open:email"
        assert msg["Message-ID"] == f"<{hashlib.sha256(b'a1:open:email').hexdigest()[:32]}@firesight>"
        assert msg["X-Priority"] == "1"
        assert smtp.mailbox.envelopes[0] == ("fire@hq.example", ["ops@hq.example", "chief@hq.example"])
    finally:
        smtp.stop()


def test_email_starttls_with_auth(server_cert):
    ca_path, cert_path, key_path = server_cert
    smtp = start_smtp(tls="starttls", cert=(cert_path, key_path), credentials=("alerts", "s3cret"))
    try:
        good = EmailNotifier(EmailConfig(host="127.0.0.1", port=smtp.port, recipients=("ops@hq.example",),
                                         security="starttls", username="alerts", password="s3cret",
                                         ca_file=str(ca_path)))
        good.send(_note())
        assert len(smtp.mailbox.wait_for(1)) == 1
        wrong = EmailNotifier(EmailConfig(host="127.0.0.1", port=smtp.port, recipients=("ops@hq.example",),
                                          security="starttls", username="alerts", password="wrong",
                                          ca_file=str(ca_path)))
        with pytest.raises(DeliveryError) as info:
            wrong.send(_note())
        assert info.value.transient is False  # 535 authentication failed: a retry cannot help
        # without STARTTLS the server refuses the mail (require_starttls)
        plain = EmailNotifier(EmailConfig(host="127.0.0.1", port=smtp.port, recipients=("ops@hq.example",)))
        with pytest.raises(DeliveryError):
            plain.send(_note())
        assert len(smtp.mailbox.messages) == 1
    finally:
        smtp.stop()


def test_email_implicit_tls_verifies_the_server(server_cert):
    ca_path, cert_path, key_path = server_cert
    smtp = start_smtp(tls="ssl", cert=(cert_path, key_path))
    try:
        EmailNotifier(EmailConfig(host="127.0.0.1", port=smtp.port, recipients=("ops@hq.example",),
                                  security="ssl", ca_file=str(ca_path))).send(_note())
        assert len(smtp.mailbox.wait_for(1)) == 1
        # the system CA bundle does not trust the test CA: the certificate check fails, nothing is sent
        with pytest.raises(DeliveryError):
            EmailNotifier(EmailConfig(host="127.0.0.1", port=smtp.port, recipients=("ops@hq.example",),
                                      security="ssl")).send(_note())
        assert len(smtp.mailbox.messages) == 1
    finally:
        smtp.stop()


def test_email_to_a_closed_port_is_a_transient_failure():
    notifier = EmailNotifier(EmailConfig(host="127.0.0.1", port=free_port(), recipients=("ops@hq.example",),
                                         timeout_s=2.0))
    result = deliver("email", notifier, _note(), FAST)
    assert not result.ok and result.attempts == 3 and not result.permanent
    assert "ConnectionRefused" in result.error


def test_webhook_posts_json_with_idempotency_key_and_signature():
    http = start_http([200])
    try:
        notifier = WebhookNotifier(WebhookConfig(url=http.url, headers={"Authorization": "Bearer t0k"},
                                                 secret="hush"))
        notifier.send(_note(key="a1:open:webhook"))
        [req] = http.requests
        body = req.json()
        assert body["site"] == "hq" and body["thing"] == "kitchen-3" and body["severity"] == "alarm"
        assert body["delivery_key"] == "a1:open:webhook" and "firesight alerts ack a1" in body["text"]
        assert req.headers["Idempotency-Key"] == "a1:open:webhook"
        assert req.headers["Authorization"] == "Bearer t0k"
        expected = hmac.new(b"hush", req.body, hashlib.sha256).hexdigest()
        assert req.headers["X-Firesight-Signature"] == f"sha256={expected}"
        notifier.close()
    finally:
        http.stop()


def test_slack_payload_has_text_and_blocks():
    http = start_http([200])
    try:
        SlackNotifier(WebhookConfig(url=http.url)).send(_note(key="a1:open:slack"))
        body = http.requests[0].json()
        assert body["text"].startswith(":rotating_light: [FIRE ALARM] hq/kitchen-3")
        kinds = [b["type"] for b in body["blocks"]]
        assert kinds[:2] == ["header", "section"] and "context" in kinds
        fields = json.dumps(body["blocks"][1])
        assert "kitchen-3" in fields and "0.93" in fields
        assert "firesight alerts ack a1" in json.dumps(body["blocks"])
    finally:
        http.stop()


def test_webhook_retries_500_then_succeeds():
    http = start_http([500, 500, 200])
    sleeps = []
    try:
        notifier = WebhookNotifier(WebhookConfig(url=http.url))
        result = deliver("webhook", notifier, _note(), FAST, sleep=sleeps.append)
        assert result.ok and result.attempts == 3
        assert sleeps == [0.01, 0.02]  # exponential backoff, capped at max_delay_s
        assert len(http.requests) == 3 and len(http.accepted()) == 1
        # each attempt carries the same idempotency key
        assert {r.headers["Idempotency-Key"] for r in http.requests} == {"a1:open:email"}
    finally:
        http.stop()


def test_webhook_always_500_fails_after_max_attempts_and_400_is_permanent():
    http = start_http([500])
    try:
        result = deliver("webhook", WebhookNotifier(WebhookConfig(url=http.url)), _note(), FAST, sleep=lambda s: None)
        assert not result.ok and result.attempts == 3 and not result.permanent
        assert "HTTP 500" in result.error and len(http.requests) == 3
    finally:
        http.stop()
    http = start_http([400])
    try:
        result = deliver("webhook", WebhookNotifier(WebhookConfig(url=http.url)), _note(), FAST, sleep=lambda s: None)
        assert not result.ok and result.permanent and result.attempts == 1 and len(http.requests) == 1
    finally:
        http.stop()


def test_email_commit_point_is_after_rcpt_and_before_data():
    from firesight.notify.retry import DeliveryTaken

    smtp = start_smtp()
    try:
        notifier = EmailNotifier(EmailConfig(host="127.0.0.1", port=smtp.port, recipients=("ops@hq.example",)))
        seen = []
        notifier.send_committing(_note(), lambda: seen.append(len(smtp.mailbox.messages)))
        assert seen == [0] and len(smtp.mailbox.wait_for(1)) == 1  # committed before the mail existed

        def taken():
            raise DeliveryTaken("a1:open:email")
        with pytest.raises(DeliveryTaken):
            notifier.send_committing(_note(key="a2:open:email"), taken)
        assert len(smtp.mailbox.messages) == 1  # a refused commit sends nothing
        # a refused recipient fails before the commit point: nothing to record as "sending"
        bad = EmailNotifier(EmailConfig(host="127.0.0.1", port=smtp.port, recipients=("ghost@refused.example",)))
        with pytest.raises(DeliveryError) as info:
            bad.send_committing(_note(), lambda: seen.append("committed"))
        assert seen == [0] and info.value.transient is False  # 550: permanent
        # one of two recipients refused: the mail goes to the other, the refusal is reported
        half = EmailNotifier(EmailConfig(host="127.0.0.1", port=smtp.port,
                                         recipients=("ops@hq.example", "ghost@refused.example")))
        with pytest.raises(DeliveryError, match="refused recipients"):
            half.send(_note(key="a3:open:email"))
        assert len(smtp.mailbox.wait_for(2)) == 2 and smtp.mailbox.envelopes[1][1] == ["ops@hq.example"]
    finally:
        smtp.stop()
