"""``firesight cost estimate --devices N``: the monthly AWS cost of a fleet, per service."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

console = Console(width=160)


def cost_estimate(
    devices: int = typer.Option(..., "--devices", min=1, help="Number of nodes (Lepton 3.5 + SCD41) in the fleet."),
    months_in_operation: int = typer.Option(36, "--months", min=1, help="Month of operation the estimate is "
                                            "for (raw data accumulates without lifecycle rules; default 36)."),
    endpoint_instances: int = typer.Option(1, "--endpoint-instances", min=0, help="SageMaker ml.m5.large "
                                           "instances behind the endpoint (0: the agents serve the model; default 1)."),
    as_json: bool = typer.Option(False, "--json", help="Print the full estimate, prices and sources as JSON."),
) -> None:
    """Monthly cost per AWS service for a fleet, streaming Lepton frames vs edge feature mode,
    and with vs without the template's S3 lifecycle rules, from the unit prices listed with
    their source pages (us-east-1 list prices; see docs/aws.md)."""
    from firesight.adapters.aws.cost import PRICES_RECORDED, compare

    result = compare(devices, months_in_operation=months_in_operation, endpoint_instances=endpoint_instances)
    if as_json:
        print(json.dumps(result, indent=1))
        return
    table = Table(title=f"firesight on AWS, {devices} devices: USD per month (prices {PRICES_RECORDED})")
    for col in ("service", "stream frames", "edge features", "edge, no lifecycle", "edge basis"):
        table.add_column(col, justify="right" if col not in ("service", "edge basis") else "left")
    for service in result["edge"]["services"]:
        table.add_row(service, f"{result['stream']['services'][service]['usd']:,.2f}",
                      f"{result['edge']['services'][service]['usd']:,.2f}",
                      f"{result['edge_without_lifecycle']['services'][service]['usd']:,.2f}",
                      result["edge"]["services"][service]["basis"])
    table.add_row("total", f"{result['stream']['total_usd']:,.2f}", f"{result['edge']['total_usd']:,.2f}",
                  f"{result['edge_without_lifecycle']['total_usd']:,.2f}", "")
    table.add_row("per device", f"{result['stream']['per_device_usd']:,.3f}",
                  f"{result['edge']['per_device_usd']:,.3f}",
                  f"{result['edge_without_lifecycle']['per_device_usd']:,.3f}", "")
    console.print(table)
    g = result["glacier_for_small_objects"]
    console.print(f"edge feature mode saves {result['edge_saves_usd']:,.2f} USD/month; the lifecycle rules save "
                  f"{result['lifecycle_saves_usd']:,.2f} USD/month in month {months_in_operation}.")
    console.print(f"moving a month of per-reading objects to Glacier would cost {g['glacier_usd_per_month']:,.2f} "
                  f"USD/month instead of {g['standard_usd_per_month']:,.2f} (plus {g['one_time_transition_usd']:,.2f} "
                  "in transitions): the template leaves small objects in Standard and expires them.")


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add ``firesight cost``."""
    cost = typer.Typer(help="AWS cost of a deployment (unit prices with their sources).", no_args_is_help=True)
    cost.command("estimate")(cost_estimate)
    app.add_typer(cost, name="cost")
