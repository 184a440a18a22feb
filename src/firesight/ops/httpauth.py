"""Bearer-token checks for firesight's HTTP apps (endpoint and dashboard).

A request carries its token as ``Authorization: Bearer <token>`` (RFC 6750 section 2.1), as
the dashboard's HttpOnly, SameSite=Strict session cookie (:data:`COOKIE`), or, for GET
requests only, as the ``access_token`` query parameter (RFC 6750 section 2.3). A missing, malformed, unknown,
expired or revoked token gets 401 with ``WWW-Authenticate: Bearer``; a valid token whose
role is too low gets 403. Each refusal is counted in ``firesight_auth_refused_total``.
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from firesight.ops import metrics
from firesight.ops.tokens import Principal, TokenRefused, TokenStore


#: Name of the dashboard's session cookie (holds the API token; HttpOnly, SameSite=Strict).
COOKIE = "firesight_token"


def request_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    if request.cookies.get(COOKIE):
        return request.cookies[COOKIE]
    if request.method == "GET":
        return request.query_params.get("access_token") or None
    return None


def authorize(request: Request, tokens: TokenStore | None, role: str) -> Principal:
    """The request's principal with at least ``role``, else an HTTP 401/403 error."""
    try:
        if tokens is None:
            raise TokenRefused("missing", "this server has no token store; only /ping is open")
        return tokens.authorize(request_token(request), role)
    except TokenRefused as exc:
        metrics.AUTH_REFUSED.labels(reason=exc.reason).inc()
        if exc.reason == "role":
            raise HTTPException(403, detail=str(exc)) from None
        error = "invalid_request" if exc.reason == "missing" else "invalid_token"
        raise HTTPException(401, detail=str(exc),
                            headers={"WWW-Authenticate": f'Bearer realm="firesight", error="{error}"'}) from None


def requires(tokens: TokenStore | None, role: str):
    """A FastAPI dependency that admits ``role`` or higher."""

    def dependency(request: Request) -> Principal:
        return authorize(request, tokens, role)

    return dependency
