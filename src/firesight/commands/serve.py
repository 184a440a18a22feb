"""``firesight serve``, ``firesight batch-transform`` and ``firesight bench serve``."""

from __future__ import annotations

import json
import logging
from typing import Optional

import typer

log = logging.getLogger("firesight.serving")

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def run_endpoint(*, model: str | None, host: str, port: int, sagemaker: bool,
                 ssl_certfile: str | None = None, ssl_keyfile: str | None = None,
                 max_payload_bytes: int | None = None) -> None:
    """Load the model once and serve it with uvicorn until interrupted."""
    import uvicorn

    from firesight.bootstrap import metadata_store
    from firesight.errors import InvalidParameterError
    from firesight.ops.tokens import TokenStore
    from firesight.serving.endpoint import EndpointConfig, create_app
    from firesight.serving.model import InferenceService
    from firesight.serving.payload import MAX_PAYLOAD_BYTES

    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise InvalidParameterError("--ssl-certfile/--ssl-keyfile", "both or neither",
                                    (ssl_certfile, ssl_keyfile))
    service = InferenceService.load(model)
    tokens = None if sagemaker else TokenStore(metadata_store())
    config = EndpointConfig(max_payload_bytes=max_payload_bytes or MAX_PAYLOAD_BYTES,
                            sagemaker=sagemaker)
    app = create_app(service, tokens=tokens, config=config)
    if host not in _LOOPBACK and ssl_certfile is None and not sagemaker:
        log.warning("serving on %s without TLS: tokens travel in clear text", host)
    typer.echo(json.dumps({"event": "serving", "model": service.ref, "host": host, "port": port,
                           "tls": ssl_certfile is not None, "sagemaker": sagemaker}), err=True)
    uvicorn.run(app, host=host, port=port, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
                access_log=False, log_level="warning")


def serve_command(
    model: Optional[str] = typer.Option(None, "--model", help="Model folder, 'default' or "
                                        "'registry:VERSION' (default: the newest approved version, "
                                        "else the shipped model; in SageMaker mode /opt/ml/model)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (default 127.0.0.1, "
                             "loopback only; SageMaker mode binds 0.0.0.0)."),
    port: int = typer.Option(8080, "--port", help="TCP port (default 8080, SageMaker's)."),
    ssl_certfile: Optional[str] = typer.Option(None, "--ssl-certfile", help="PEM certificate: "
                                               "serve HTTPS (default: plain HTTP)."),
    ssl_keyfile: Optional[str] = typer.Option(None, "--ssl-keyfile", help="PEM private key of "
                                              "--ssl-certfile."),
    max_payload_bytes: int = typer.Option(6 * 1024 * 1024, "--max-payload-bytes",
                                          help="Largest request body [bytes] (default 6 MiB)."),
    sagemaker: Optional[bool] = typer.Option(None, "--sagemaker/--no-sagemaker", help="SageMaker "
                                             "mode: anonymous /invocations on 0.0.0.0 (default: on "
                                             "when SM_*/SAGEMAKER_* variables are set)."),
) -> None:
    """Serve a model over HTTP with SageMaker's contract (GET /ping, POST /invocations)."""
    from firesight.serving import sagemaker as sm

    mode = sm.in_sagemaker() if sagemaker is None else sagemaker
    if mode:
        settings = sm.settings()
        model = model or settings.model_dir
        host = settings.host if host == "127.0.0.1" else host
    run_endpoint(model=model, host=host, port=port, sagemaker=mode, ssl_certfile=ssl_certfile,
                 ssl_keyfile=ssl_keyfile, max_payload_bytes=max_payload_bytes)


def batch_transform_command(
    model: Optional[str] = typer.Option(None, "--model", help="Model folder, 'default' or "
                                        "'registry:VERSION' (default: newest approved, else shipped)."),
    input_url: str = typer.Option(..., "--input", help="Input file, folder or object-store URL "
                                  "(every object under it is an input)."),
    output_url: str = typer.Option(..., "--output", help="Output folder or object-store URL "
                                   "(KEY.out per input KEY)."),
    content_type: str = typer.Option("text/csv", "--content-type", help="text/csv (default) or "
                                     "application/jsonlines (one JSON row or object per line)."),
    accept: str = typer.Option("text/csv", "--accept", help="Output format: text/csv "
                               "(probability,level; default) or application/jsonlines."),
    variant: Optional[str] = typer.Option(None, "--variant", help="full, thermal or gas (default: full)."),
    sequence: str = typer.Option("independent", "--sequence", help="independent (default: every "
                                 "line alone) or stream (each file is one device's consecutive windows)."),
    max_payload_bytes: int = typer.Option(6 * 1024 * 1024, "--max-payload-bytes",
                                          help="Mini-batch size [bytes] (default 6 MiB)."),
) -> None:
    """Score files of window features with SageMaker batch transform conventions (all or nothing)."""
    from firesight.errors import InvalidParameterError
    from firesight.serving.batch import open_locations, run_transform
    from firesight.serving.model import SEQUENCE_MODES, InferenceService

    if sequence not in SEQUENCE_MODES:
        raise InvalidParameterError("--sequence", f"one of {SEQUENCE_MODES}", sequence)
    source, keys, sink = open_locations(input_url, output_url)
    service = InferenceService.load(model)
    result = run_transform(service, source, keys, sink, content_type=content_type, accept=accept,
                           variant=variant, sequence=sequence, max_payload_bytes=max_payload_bytes)
    typer.echo(json.dumps({"model": service.ref, **result.to_dict(), "output": sink.url}, indent=2))


def bench_serve_command(
    model: str = typer.Option("default", "--model", help="Model reference (default: the shipped model)."),
    requests: int = typer.Option(2000, "--requests", help="Timed single-window calls per figure (default 2000)."),
    batch_rows: int = typer.Option(100_000, "--batch-rows", help="Windows per batch call (default 100000)."),
    repeats: int = typer.Option(3, "--repeats", help="Batch calls timed, median reported (default 3)."),
    http: bool = typer.Option(True, "--http/--no-http", help="Also time requests over HTTP (default yes)."),
) -> None:
    """Serving speed: single-window p50/p99 in process and over HTTP, batch windows/s per core (JSON)."""
    from firesight.serving.benchmark import run_serve_benchmark

    result = run_serve_benchmark(model=model, requests=requests, batch_rows=batch_rows,
                                 repeats=repeats, http=http)
    typer.echo(json.dumps(result, indent=2, default=str))


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add the serving commands."""
    app.command("serve")(serve_command)
    app.command("batch-transform")(batch_transform_command)
    bench_app.command("serve")(bench_serve_command)
