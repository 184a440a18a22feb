"""``firesight results``: write the results tables of README / docs from the reports."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from firesight._atomic import write_text_atomic
from rich.console import Console
from firesight.errors import DataError

console = Console()
DEFAULT_FILES = ("README.md", "docs/evaluation.md", "src/firesight/models/MODEL_CARD.md")


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add ``results`` to ``app``."""

    @app.command("results")
    def results(
        evaluation: Path = typer.Option(..., "--eval", help="Report JSON of `firesight evaluate`."),
        realcheck: Path = typer.Option(None, "--realcheck", help="Report JSON of `firesight realcheck`."),
        files: list[Path] = typer.Option(list(map(Path, DEFAULT_FILES)), "--file",
                                         help="Markdown file(s) holding <!-- results:NAME --> markers."),
    ) -> None:
        """Render the results tables from the reports and write them between their markers."""
        from firesight.validation.results_tables import render_all, splice

        def read(path: Path) -> dict:
            try:
                return json.loads(Path(path).read_text())
            except (OSError, ValueError) as exc:
                raise DataError(f"{path}: unreadable report ({exc})") from exc

        tables = render_all(read(evaluation), read(realcheck) if realcheck else None)
        for path in files:
            text = Path(path).read_text()
            new, done = splice(text, tables, on_unknown=lambda n, p=path: console.print(
                f"[yellow]{p}: no table named {n!r} (left as it is)[/]"))
            if new != text:
                write_text_atomic(path, new)
            console.print(f"{path}: {len(done)} table(s) written ({', '.join(done) or 'none'})")
