"""``firesight bench fuzz``: malformed, random and boundary payloads against the running IoT
services from outside (over MQTT with mTLS), and through the codec in process."""

from __future__ import annotations

import json
import time

import typer


def bench_fuzz(
    payloads: int = typer.Option(100_000, "--payloads", help="Messages sent over MQTT to the running services "
                                 "(device and shadow topics; the rules engine reads the device topics) [-]. "
                                 "Default: 100000."),
    codec: int = typer.Option(1_000_000, "--codec", help="Payloads decoded in process by the codec [-] "
                              "(0: skip). Default: 1000000."),
    devices: int = typer.Option(8, "--devices", help="Device connections publishing in parallel, each held to "
                                "AWS IoT Core's 100 publishes/s by the broker [-]. Default: 8."),
    shadow_share: float = typer.Option(0.3, "--shadow-share", help="Fraction sent on shadow topics [-]. "
                                       "Default: 0.3."),
    seed: int = typer.Option(9, "--seed", help="Seed of the payload generator. Default: 9."),
) -> None:
    """Fuzz the gateway, shadow service and rules engine over an embedded mTLS broker, then
    check that a valid device is still served; fuzz the codec in process. Prints JSON:
    payloads sent, rejections by reason, crashes, hangs, valid_device_served_after."""
    import numpy as np

    from firesight.iot.fuzz import fuzz_codec
    from firesight.iot.fuzz_wire import run_wire_fuzz

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    wire = run_wire_fuzz(payloads, rng, devices=devices, shadow_share=shadow_share) if payloads > 0 else None
    wire_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    codec_result = fuzz_codec(codec, rng) if codec > 0 else None
    codec_s = time.perf_counter() - t1
    crashes = (wire["crashes"] if wire else 0) + (codec_result["crashes"] if codec_result else 0)
    hangs = (wire["hangs"] if wire else 0) + (codec_result["hangs"] if codec_result else 0)
    out = {"seed": seed, "crashes": crashes, "hangs": hangs,
           "valid_device_served_after": wire["valid_device_served_after"] if wire else None,
           "wire": wire, "wire_s": round(wire_s, 1), "codec": codec_result, "codec_s": round(codec_s, 1)}
    typer.echo(json.dumps(out, indent=2))


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add ``bench fuzz``."""
    bench_app.command("fuzz")(bench_fuzz)
