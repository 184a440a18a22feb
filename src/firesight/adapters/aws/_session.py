"""boto3 clients for the AWS adapters: created lazily (never at import time), one per
adapter and service, pointed at ``endpoint_url`` when one is configured (a moto server in
tests, a VPC endpoint or LocalStack elsewhere)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from firesight.errors import AccessDeniedError, ConflictError, DataError, FiresightError, NotFoundError

#: Error codes that mean "the named thing does not exist", across the services used here.
NOT_FOUND_CODES = frozenset({
    "NoSuchKey", "NoSuchBucket", "NoSuchVersion", "404", "NotFound", "ResourceNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NotFoundException",
    "StateMachineDoesNotExist", "ExecutionDoesNotExist", "ValidationException.NotFound",
})
ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                                 "AuthorizationError", "UnrecognizedClientException"})
CONFLICT_CODES = frozenset({"ConditionalCheckFailedException", "ResourceAlreadyExistsException",
                            "ResourceInUseException", "TransactionConflictException",
                            "StateMachineAlreadyExists", "ConflictException"})


@dataclass(frozen=True)
class AwsSettings:
    """Where the AWS adapters connect.

    Parameters
    ----------
    region : str
        AWS region name.
    endpoint_url : str
        Override for every service endpoint (empty: AWS itself). Credentials come from the
        standard boto3 chain (environment, profile, instance or task role).
    max_attempts : int
        botocore's ``standard`` retry mode attempts per call [-].
    """

    region: str = "eu-west-1"
    endpoint_url: str = ""
    max_attempts: int = 5


class ClientFactory:
    """Thread-safe lazy boto3 clients of one :class:`AwsSettings` (a boto3 session is not
    thread-safe; its clients are)."""

    def __init__(self, settings: AwsSettings):
        self.settings = settings
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._session = None

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                import boto3
                from botocore.config import Config as BotoConfig

                if self._session is None:
                    self._session = boto3.session.Session()
                cfg = BotoConfig(region_name=self.settings.region,
                                 retries={"mode": "standard", "max_attempts": self.settings.max_attempts})
                self._clients[service] = self._session.client(
                    service, endpoint_url=self.settings.endpoint_url or None, config=cfg)
            return self._clients[service]


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` ('' for anything else)."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def translate(exc: BaseException, what: str) -> FiresightError:
    """A typed firesight error for a botocore ``ClientError`` about ``what``."""
    code = error_code(exc)
    message = f"{what}: {code or type(exc).__name__}: {exc}"
    if code in NOT_FOUND_CODES:
        return NotFoundError(message)
    if code in CONFLICT_CODES:
        return ConflictError(message)
    if code in ACCESS_DENIED_CODES:
        return AccessDeniedError(message)
    return DataError(message)
