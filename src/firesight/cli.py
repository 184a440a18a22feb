"""The ``firesight`` command line. Each area registers its commands from
``firesight.commands.<area>``; this module only assembles them and turns typed errors into
clear messages and exit codes."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer
from rich.console import Console

import firesight.commands as _commands_pkg
from firesight.errors import FiresightError

app = typer.Typer(
    name="firesight",
    help="Fire prediction from physics-based synthetic FLIR Lepton 3.5 + Sensirion SCD41 data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
bench_app = typer.Typer(help="Benchmarks: each prints JSON.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")

#: Command modules: every module of ``firesight.commands`` registers its commands with
#: ``register(app, bench_app)``. A module that fails to import is an error, never skipped.
COMMAND_MODULES = tuple(sorted(m.name for m in pkgutil.iter_modules(_commands_pkg.__path__)
                               if not m.name.startswith("_")))

for _name in COMMAND_MODULES:
    importlib.import_module(f"firesight.commands.{_name}").register(app, bench_app)


def _plain_help(typer_app: typer.Typer) -> None:
    """Show help text literally: units are written in brackets (``[s]``, ``[ppm]``), which
    Rich markup would otherwise swallow."""
    typer_app.rich_markup_mode = None
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _plain_help(group.typer_instance)


_plain_help(app)


def main() -> None:
    """Entry point: run the app, printing firesight errors without a traceback."""
    try:
        app(standalone_mode=False)
    except FiresightError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)
    except typer.Abort:
        Console(stderr=True).print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted")
        sys.exit(130)
    except Exception as exc:
        # Usage errors and explicit exits of the click layer (Typer vendors its own copy of
        # click, so match them by what they carry rather than by class).
        exit_code = getattr(exc, "exit_code", None)
        if isinstance(exit_code, int):
            show = getattr(exc, "show", None)
            if callable(show):
                show()
            sys.exit(exit_code)
        raise

if __name__ == "__main__":
    main()
