"""Serving speed: one-window latency in process and over HTTP, and batch windows/s per core.

``firesight bench serve`` (and ``benchmarks/serve_bench.py``) print the JSON of
:func:`run_serve_benchmark`. Everything runs pinned to one CPU core with one BLAS thread
(so "per core" means what it says); the HTTP server runs in a child process on another core
when there is one, with the client here on keep-alive connections.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path
import tempfile
import time

import numpy as np


def _rows(n_features: int, n: int, seed: int = 0) -> np.ndarray:
    """Feature rows spread over several magnitudes, 5 % missing (trees walk their full depth
    regardless of values, so the numbers do not depend on the draw)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_features)) * rng.choice([0.5, 5.0, 50.0, 500.0], size=n_features)
    x[rng.random(x.shape) < 0.05] = np.nan
    return x


def _stats_ms(samples_s: list[float]) -> dict:
    a = np.asarray(samples_s) * 1e3
    return {"p50_ms": round(float(np.percentile(a, 50)), 4),
            "p99_ms": round(float(np.percentile(a, 99)), 4),
            "max_ms": round(float(a.max()), 4), "n": int(a.size)}


def _pin(cpu: int) -> int | None:
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        chosen = cpus[cpu % len(cpus)]
        os.sched_setaffinity(0, {chosen})
        return chosen
    return None


def _server_main(model: str, home: str, cpu: int, queue) -> None:  # child process
    import uvicorn

    from firesight import bootstrap
    from firesight.config import Config
    from firesight.ops.tokens import TokenStore
    from firesight.serving.endpoint import create_app
    from firesight.serving.model import InferenceService

    _pin(cpu)
    tokens = TokenStore(bootstrap.metadata_store(Config(home=Path(home)).resolved()))
    token, _ = tokens.create("bench", "operator")
    app = create_app(InferenceService.load(model), tokens=tokens)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    server = uvicorn.Server(config)

    import threading

    def report():
        while not server.started:
            time.sleep(0.01)
        queue.put((server.servers[0].sockets[0].getsockname()[1], token))

    threading.Thread(target=report, daemon=True).start()
    server.run()


def _http_latency(model: str, row_csv: str, requests: int) -> dict:
    """Single-window requests over one keep-alive connection (the standard library's
    ``http.client``: the lightest client, so the figure is mostly the server's)."""
    import http.client

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    with tempfile.TemporaryDirectory() as home:
        proc = ctx.Process(target=_server_main, args=(model, home, 1, queue), daemon=True)
        proc.start()
        try:
            port, token = queue.get(timeout=120)
            headers = {"Content-Type": "text/csv", "Authorization": f"Bearer {token}"}
            body = row_csv.encode()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            samples = []
            for i in range(requests + 50):
                start = time.perf_counter()
                conn.request("POST", "/invocations", body=body, headers=headers)
                r = conn.getresponse()
                text = r.read()
                dt = time.perf_counter() - start
                if r.status != 200:
                    raise RuntimeError(f"benchmark request failed: {r.status} {text[:200]!r}")
                if i >= 50:  # warm-up
                    samples.append(dt)
            conn.close()
        finally:
            proc.terminate()
            proc.join(10)
    return {**_stats_ms(samples), "client": "http.client, one keep-alive connection"}


def run_serve_benchmark(*, model: str = "default", requests: int = 2000, batch_rows: int = 100_000,
                        repeats: int = 3, http: bool = True) -> dict:
    """Measure the serving paths of ``model`` (the full ensemble variant).

    Parameters
    ----------
    model : str
        Model reference (folder, ``default``, ``registry:VERSION``).
    requests : int
        Timed single-window calls per latency figure [count].
    batch_rows : int
        Windows per batch call [count].
    repeats : int
        Batch calls timed; the median is reported [count].
    http : bool
        Also measure over HTTP (starts a server process).
    """
    from threadpoolctl import threadpool_limits

    from firesight.serving.model import InferenceService
    from firesight.serving.payload import JSON, parse_body, render

    cpu = _pin(0)
    with threadpool_limits(1):
        service = InferenceService.load(model)
        names = service.feature_names()
        x = _rows(len(names), max(batch_rows, 1000))
        row_csv = ",".join("" if np.isnan(v) else repr(float(v)) for v in x[0]) + "\n"
        model_only, handler, model_cpu = [], [], []
        for i in range(requests + 50):
            row = x[i % 1000: i % 1000 + 1]
            cpu_start = time.thread_time()
            start = time.perf_counter()
            service.predict(row)
            mid = time.perf_counter()
            cpu_mid = time.thread_time()
            parsed = parse_body(row_csv.encode(), "text/csv", names)
            render(*service.predict(parsed.values), JSON)
            end = time.perf_counter()
            if i >= 50:
                model_only.append(mid - start)
                model_cpu.append(cpu_mid - cpu_start)
                handler.append(end - mid)
        batch = {}
        for mode in ("independent", "stream"):
            times, cpu_times = [], []
            for _ in range(repeats):
                start, cpu_start = time.perf_counter(), time.thread_time()
                service.predict(x[:batch_rows], sequence=mode)
                times.append(time.perf_counter() - start)
                cpu_times.append(time.thread_time() - cpu_start)
            med, cpu_med = float(np.median(times)), float(np.median(cpu_times))
            # windows per CPU-second is the per-core figure even when other jobs share the core
            batch[mode] = {"rows": batch_rows, "median_s": round(med, 4),
                           "windows_per_s": round(batch_rows / med),
                           "cpu_s": round(cpu_med, 4), "windows_per_cpu_s": round(batch_rows / cpu_med)}
        # the whole request path in process: CSV bytes in, JSON bytes out
        body = "".join(",".join("" if np.isnan(v) else repr(float(v)) for v in row) + "\n"
                       for row in x[:20_000]).encode()
        start = time.perf_counter()
        parsed = parse_body(body, "text/csv", names)
        render(*service.predict(parsed.values), JSON)
        e2e = time.perf_counter() - start
    result = {
        "model": service.ref, "variant": service.default_variant, "n_features": len(names),
        "pinned_cpu": cpu, "blas_threads": 1,
        "in_process_single_window_model": _stats_ms(model_only),
        # CPU time of the same calls: the latency a core gives when nothing else runs on it
        "in_process_single_window_model_cpu_time": _stats_ms(model_cpu),
        "in_process_single_window_csv_to_json": _stats_ms(handler),
        "batch": batch,
        "batch_csv_parse_score_render": {"rows": 20_000, "windows_per_s": round(20_000 / e2e)},
        "targets": {"in_process_p99_ms": 2.0, "http_p99_ms": 5.0, "batch_windows_per_s_per_core": 100_000},
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }
    if http:
        result["http_single_window"] = _http_latency(model, row_csv, requests)
    return result
