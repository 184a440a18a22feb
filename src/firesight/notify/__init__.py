"""Notifications: channels behind :class:`firesight.ports.Notifier` (SMTP e-mail, JSON
webhook, Slack-compatible webhook, console), retries with capped exponential backoff, and
the text an operator reads."""

from firesight.notify.channels import (CHANNEL_KINDS, ConsoleNotifier, EmailConfig, EmailNotifier,
                                       SlackNotifier, WebhookConfig, WebhookNotifier, build_notifier)
from firesight.notify.message import render
from firesight.notify.retry import DeliveryResult, RetryPolicy, deliver

__all__ = ["CHANNEL_KINDS", "ConsoleNotifier", "DeliveryResult", "EmailConfig", "EmailNotifier",
           "RetryPolicy", "SlackNotifier", "WebhookConfig", "WebhookNotifier", "build_notifier",
           "deliver", "render"]
