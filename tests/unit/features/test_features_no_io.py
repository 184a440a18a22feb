"""features/ and detection/ reach files and object stores only through the object-store
port (firesight.datasets.objects, firesight.datasets.reader) and report progress to a
callback: no fsspec and no Rich of their own. Read from the source with :mod:`ast`, so
imports inside functions count too."""

from __future__ import annotations

from pathlib import Path

import pytest

import firesight
from support.imports import imported_modules

SRC = Path(firesight.__file__).resolve().parent
UI_AND_IO = {"fsspec", "rich", "s3fs"}


@pytest.mark.parametrize("layer", ["features", "detection"])
def test_no_fsspec_or_rich(layer):
    bad = [f"{path.relative_to(SRC)}:{line} imports {module}"
           for path in sorted((SRC / layer).rglob("*.py"))
           for line, module in imported_modules(path) if module.split(".")[0] in UI_AND_IO]
    assert not bad, "\n".join(bad)


def test_the_checker_sees_a_lazy_import(tmp_path):
    """Positive control: an import inside a function is found."""
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from rich.progress import Progress\n    import fsspec\n")
    assert {m for _, m in imported_modules(source)} == {"rich.progress", "fsspec"}
