"""The inference endpoint: an ASGI app with SageMaker's hosting contract.

Routes
------
``GET /ping``
    200 once the model is loaded (the app is built after loading). Always anonymous.
``POST /invocations``
    Window features as ``text/csv`` or ``application/json`` (see
    :mod:`firesight.serving.payload`); answers JSON ``{"predictions": [{"probability",
    "level"}]}`` or CSV per ``Accept``. Options as SageMaker custom attributes
    (``X-Amzn-SageMaker-Custom-Attributes: sequence=stream,variant=gas``) or JSON keys.
    Role ``operator``; anonymous only in SageMaker mode (SageMaker authenticates callers of
    InvokeEndpoint with IAM before traffic reaches the container).
``GET /model``
    Model card: version, variants, feature order, alert policy (role ``viewer``).
``GET /metrics``
    Prometheus exposition (role ``viewer``).
``GET /openapi.json``, ``GET /docs``
    The OpenAPI schema and its browser view (anonymous: they hold no data).

Bad input never gets a 500: 400 with a reason (column count, non-numeric, NaN/inf, JSON
shape), 406 for an unsupported Accept, 413 above ``max_payload_bytes``, 415 for a content
type other than CSV or JSON.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from firesight.errors import DataError, InvalidParameterError, NotFoundError
from firesight.ops import metrics
from firesight.ops.httpauth import authorize, requires
from firesight.ops.logs import correlation, new_correlation_id
from firesight.ops.tokens import TokenStore
from firesight.serving.model import InferenceService
from firesight.serving.payload import (CSV, JSON, MAX_PAYLOAD_BYTES, RequestError, choose_accept,
                                       custom_attributes, parse_body, render)

log = logging.getLogger(__name__)
#: Requests with more rows than this are scored in a worker thread (the event loop stays free).
_INLINE_ROWS = 256

_INVOCATION_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            CSV: {"schema": {"type": "string"},
                  "example": "one window per line: the model's features in GET /model order, no header"},
            JSON: {"schema": {"type": "object", "required": ["instances"], "properties": {
                "instances": {"type": "array", "items": {"oneOf": [
                    {"type": "array", "items": {"type": ["number", "null"]}},
                    {"type": "object", "additionalProperties": {"type": ["number", "null"]}}]}},
                "sequence": {"type": "string", "enum": ["independent", "stream"]},
                "variant": {"type": "string", "enum": ["full", "thermal", "gas"]}}}},
        },
    },
    "responses": {
        "200": {"description": "One prediction per input row.", "content": {
            JSON: {"schema": {"type": "object", "properties": {"predictions": {
                "type": "array", "items": {"type": "object", "properties": {
                    "probability": {"type": ["number", "null"]},
                    "level": {"type": ["string", "null"], "enum": ["normal", "watch", "alarm", None]}}}}}}},
            CSV: {"schema": {"type": "string"}, "example": "0.0123,normal\n"}}},
        "400": {"description": "Malformed input (reason in 'error')."},
        "401": {"description": "No valid API token."},
        "403": {"description": "The token's role may not invoke."},
        "406": {"description": "Accept names neither JSON nor CSV."},
        "413": {"description": "Body above the size limit."},
        "415": {"description": "Content-Type is neither text/csv nor application/json."},
    },
}


@dataclass(frozen=True)
class EndpointConfig:
    """Settings of the endpoint app.

    Parameters
    ----------
    max_payload_bytes : int
        Largest request body [bytes] (default 6 MiB, SageMaker's real-time limit).
    sagemaker : bool
        SageMaker mode: ``/invocations`` is anonymous.
    """

    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    sagemaker: bool = False


def _reason(status: int, message: str) -> str:
    if status == 413:
        return "too_large"
    if status == 415:
        return "content_type"
    if status == 406:
        return "accept"
    text = message.lower()
    if "columns" in text or "values, the model takes" in text:
        return "columns"
    if "finite" in text or "float range" in text or "nan" in text:
        return "not_finite"
    if "not a number" in text:
        return "not_numeric"
    return "malformed"


def _refuse(status: int, message: str) -> JSONResponse:
    reason = _reason(status, message)
    metrics.INVOCATIONS_REJECTED.labels(reason=reason).inc()
    log.info("invocation refused", extra={"status": status, "reason": reason, "detail": message[:300]})
    return JSONResponse({"error": message}, status_code=status)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise RequestError(400, f"Content-Length {declared!r} is not a number") from None
        if size > limit:
            raise RequestError(413, f"body of {size} bytes is above the limit of {limit} bytes")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise RequestError(413, f"body is above the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class _RequestContext:
    """Pure ASGI middleware (no extra task per request, unlike ``BaseHTTPMiddleware``): one
    correlation id per request (the caller's ``X-Correlation-Id``, else SageMaker's
    inference id, else a new one) bound for every log line of the request and echoed in the
    response, and the request counted by route and status."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw = headers.get(b"x-correlation-id") or headers.get(b"x-amzn-sagemaker-inference-id") or b""
        cid = raw.decode("latin-1")[:128] or new_correlation_id()
        status = [500]

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-correlation-id", cid.encode("latin-1"))]
            await send(message)

        with correlation(cid):
            await self.app(scope, receive, send_with_id)
        route = scope.get("route")
        metrics.HTTP_REQUESTS.labels(route=getattr(route, "path", "unmatched"), status=str(status[0])).inc()


def create_app(service: InferenceService, *, tokens: TokenStore | None = None,
               config: EndpointConfig = EndpointConfig()) -> FastAPI:
    """The endpoint app for a loaded model."""
    app = FastAPI(title="firesight inference endpoint",
                  version=str(service.ref.get("version") or service.bundle.info.get("code_version", "")),
                  description="SageMaker hosting contract: GET /ping, POST /invocations. "
                              "See docs/serving.md.")
    app.state.service = service

    app.add_middleware(_RequestContext)

    @app.get("/ping", summary="Health check: 200 when the model is loaded")
    def ping() -> dict:
        return {"status": "ok", "model_version": service.ref.get("version"),
                "source": service.ref.get("source")}

    @app.post("/invocations", summary="Score window features", openapi_extra=_INVOCATION_DOC,
              response_class=Response)
    async def invocations(request: Request) -> Response:
        if not config.sagemaker:
            authorize(request, tokens, "operator")
        try:
            accept = choose_accept(request.headers.get("accept"))
            content_type = request.headers.get("content-type")
            if content_type is None:
                raise RequestError(415, f"Content-Type is missing; send {CSV!r} or {JSON!r}")
            body = await _read_body(request, config.max_payload_bytes)
            if not body.strip():
                raise RequestError(400, "body is empty")
            attrs = custom_attributes(request.headers.get("x-amzn-sagemaker-custom-attributes"))
            variant = service.variant(attrs.get("variant") or _json_variant(body, content_type))
            parsed = parse_body(body, content_type, service.feature_names(variant))
            variant = service.variant(parsed.variant or attrs.get("variant"))
            sequence = parsed.sequence or attrs.get("sequence")
            metrics.REQUEST_BYTES.labels(route="/invocations").inc(len(body))
            start = time.perf_counter()
            if len(parsed.values) > _INLINE_ROWS:
                probs, levels = await run_in_threadpool(service.predict, parsed.values,
                                                        variant=variant, sequence=sequence)
            else:
                probs, levels = service.predict(parsed.values, variant=variant, sequence=sequence)
            metrics.INFERENCE_LATENCY.labels(path="http", variant=variant).observe(
                time.perf_counter() - start)
            metrics.INFERENCE_ROWS.labels(path="http", variant=variant).inc(len(probs))
            return Response(render(probs, levels, accept), media_type=accept,
                            headers={"X-Firesight-Model-Version": str(service.ref.get("version") or
                                                                      service.ref.get("source"))})
        except RequestError as exc:
            return _refuse(exc.status, exc.reason)
        except (NotFoundError, InvalidParameterError, DataError) as exc:
            return _refuse(400, str(exc))

    @app.get("/model", summary="Model card: version, variants, feature order, alert policy")
    def model_card(_=Depends(requires(tokens, "viewer"))) -> dict:
        return service.describe()

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    def prometheus(_=Depends(requires(tokens, "viewer"))) -> Response:
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)

    return app


def _json_variant(body: bytes, content_type: str | None) -> str | None:
    """The ``variant`` a JSON body names (needed before parsing: it fixes the columns)."""
    if (content_type or "").split(";")[0].strip().lower() != JSON or b'"variant"' not in body:
        return None
    import json

    try:
        payload = json.loads(body)
    except ValueError:
        return None
    value = payload.get("variant") if isinstance(payload, dict) else None
    return value if isinstance(value, str) else None
