"""The operator dashboard: an ASGI app served by firesight, working offline (no CDN).

Routes
------
``GET /ping``                     anonymous health check
``GET /login``, ``POST /login``   sign in with an API token (sets an HttpOnly, SameSite=Strict cookie)
``GET /``                         the page (``?access_token=`` signs in and strips the token from the URL)
``GET /static/{name}``            the page's script and style (viewer)
``GET /api/state``                devices, latest frames and series, model, alerts (viewer)
``GET /api/alerts``               alerts of the alert store, newest first (viewer)
``POST /api/alerts/{id}/acknowledge`` and ``/resolve``   (operator; audited)
``GET /api/events``               server-sent events: scd41, thermal, probability, device, alert, model (viewer)
``GET /metrics``                  Prometheus (viewer)

State-changing requests need the ``X-Firesight-Request`` header as well as the token: a
page on another site can neither read the cookie nor send that header without a CORS
preflight, which this app never grants.
"""

from __future__ import annotations

import asyncio
import json
from importlib import resources
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse

from firesight.errors import ConflictError, InvalidParameterError, NotFoundError
from firesight.ops import metrics
from firesight.ops.httpauth import COOKIE, authorize, requires
from firesight.ops.tokens import Principal, TokenRefused, TokenStore
from firesight.web.feed import DashboardFeed

STATIC_FILES = {"app.js": "text/javascript", "style.css": "text/css"}
CSRF_HEADER = "x-firesight-request"
#: Seconds between keep-alive comments on an idle event stream.
KEEPALIVE_S = 15.0


def _static(name: str) -> bytes:
    return resources.files("firesight.web").joinpath("static", name).read_bytes()


def _identity(principal: Principal, request: Request) -> dict:
    return {"type": "ApiToken", "principalId": principal.token_id, "userName": principal.name,
            "role": principal.role}


def create_dashboard_app(feed: DashboardFeed, *, tokens: TokenStore | None, alerts=None,
                         audit=None, secure_cookie: bool = False) -> FastAPI:
    """The dashboard app.

    Parameters
    ----------
    feed : DashboardFeed
        Live state pushed by the running system or the broker bridge.
    tokens : TokenStore
        API tokens (every route but /ping and /login needs one).
    alerts : AlertStore, optional
        The alert store (alert lists, acknowledge, resolve).
    audit : AuditTrail, optional
        Where acknowledgements and resolutions are recorded.
    secure_cookie : bool
        Mark the session cookie ``Secure`` (when served over TLS).
    """
    app = FastAPI(title="firesight dashboard", docs_url=None, redoc_url=None)
    viewer = requires(tokens, "viewer")
    operator = requires(tokens, "operator")

    def signed_in(request: Request) -> bool:
        try:
            authorize(request, tokens, "viewer")
            return True
        except HTTPException:
            return False

    def set_cookie(response: Response, token: str) -> Response:
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure_cookie,
                            path="/")
        return response

    @app.get("/ping")
    def ping() -> dict:
        return {"status": "ok"}

    @app.get("/login", response_class=HTMLResponse)
    def login_page() -> HTMLResponse:
        return HTMLResponse(_static("login.html"))

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0].strip()
        try:
            if tokens is None:
                raise TokenRefused("missing", "no token store")
            tokens.authorize(token, "viewer")
        except TokenRefused as exc:
            metrics.AUTH_REFUSED.labels(reason=exc.reason).inc()
            return HTMLResponse(_static("login.html").replace(b"<!--error-->", b"<p class=error>"
                                + str(exc).encode() + b"</p>"), status_code=401)
        return set_cookie(RedirectResponse("/", status_code=303), token)

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> Response:
        token = request.query_params.get("access_token")
        if token:
            if not signed_in(request):
                return RedirectResponse("/login", status_code=303)
            return set_cookie(RedirectResponse("/", status_code=303), token)
        if not signed_in(request):
            return RedirectResponse("/login", status_code=303)
        return HTMLResponse(_static("index.html"))

    @app.get("/static/{name}")
    def static(name: str, _=Depends(viewer)) -> Response:
        if name not in STATIC_FILES:
            raise HTTPException(404, "no such file")
        return Response(_static(name), media_type=STATIC_FILES[name],
                        headers={"Cache-Control": "no-cache"})

    def alert_lists() -> dict:
        if alerts is None:
            return {"open": [], "history": []}
        return {"open": alerts.open_alerts(), "history": alerts.list(limit=100)}

    @app.get("/api/state")
    def state(principal: Principal = Depends(viewer)) -> dict:
        return {**feed.snapshot(), "alerts": alert_lists(),
                "user": {"name": principal.name, "role": principal.role}}

    @app.get("/api/alerts")
    def alert_list(_=Depends(viewer)) -> dict:
        return alert_lists()

    def change_alert(action: str):
        async def handler(alert_id: str, request: Request,
                          principal: Principal = Depends(operator)) -> JSONResponse:
            if request.headers.get(CSRF_HEADER) != "1":
                raise HTTPException(403, f"state changes need the {CSRF_HEADER} header")
            if alerts is None:
                raise HTTPException(503, "this dashboard has no alert store")
            try:
                body = await request.json() if await request.body() else {}
            except ValueError:
                raise HTTPException(400, "body must be JSON") from None
            note = str(body.get("note", ""))[:500] if isinstance(body, dict) else ""
            try:
                fn = alerts.acknowledge if action == "acknowledge" else alerts.resolve
                item = fn(alert_id, by=principal.name, note=note)
            except NotFoundError as exc:
                raise HTTPException(404, str(exc)) from None
            except InvalidParameterError as exc:
                raise HTTPException(400, str(exc)) from None
            except ConflictError as exc:
                raise HTTPException(409, str(exc)) from None
            if audit is not None:
                audit.record("AcknowledgeAlert" if action == "acknowledge" else "ResolveAlert",
                             _identity(principal, request), {"alert_id": item["alert_id"], "note": note},
                             response={"state": item["state"]}, source="alerts",
                             source_ip=request.client.host if request.client else "",
                             user_agent=request.headers.get("user-agent", "")[:200])
            feed.alert_changed(item, by=principal.name)
            return JSONResponse(item)
        return handler

    app.post("/api/alerts/{alert_id}/acknowledge")(change_alert("acknowledge"))
    app.post("/api/alerts/{alert_id}/resolve")(change_alert("resolve"))

    @app.get("/api/events")
    async def events(request: Request, _=Depends(viewer)) -> StreamingResponse:
        sub = feed.subscribe()

        async def stream():
            try:
                yield "retry: 2000\n\n"
                while True:
                    try:
                        msg = await asyncio.wait_for(sub.queue.get(), timeout=KEEPALIVE_S)
                    except asyncio.TimeoutError:
                        if await request.is_disconnected():
                            break
                        yield ": keep-alive\n\n"
                        continue
                    yield f"event: {msg['type']}\ndata: {json.dumps(msg, default=str)}\n\n"
            finally:
                feed.unsubscribe(sub)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/metrics")
    def prometheus(_=Depends(viewer)) -> Response:
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)

    return app
