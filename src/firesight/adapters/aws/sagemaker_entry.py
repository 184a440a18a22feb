"""SageMaker training in script mode: ``python -m firesight.adapters.aws.sagemaker_entry
--kind ensemble --seed 0 ...`` inside the firesight image.

SageMaker mounts the ``train`` channel at ``SM_CHANNEL_TRAIN`` (a features ``.parquet`` file
or a dataset folder with ``manifest.parquet``), passes the hyperparameters as ``--name value``
arguments and uploads whatever is in ``SM_MODEL_DIR`` as ``model.tar.gz``. This entry point
runs exactly ``firesight train`` with those arguments and ``--out SM_MODEL_DIR``, so the
archive holds the same model folder as a local run (and the serving container loads it from
``/opt/ml/model``). ``SM_OUTPUT_DATA_DIR`` receives ``training.json`` (what was trained, on
which data).

References
----------
1. Amazon SageMaker Developer Guide, "Use script mode": ``SM_MODEL_DIR``, ``SM_CHANNEL_<NAME>``,
   hyperparameters as command-line arguments; the training toolkit's environment variables.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from firesight.errors import InvalidParameterError

#: ``firesight train`` options a training job may set as hyperparameters.
HYPERPARAMETERS = ("kind", "seed", "params", "test-fraction", "holdout-families", "split-seed",
                   "workers", "step-s", "window-s")


def training_input(channel: str) -> str:
    """The ``--data`` of ``firesight train`` for a mounted channel folder: its one
    ``.parquet`` file (a features table) or the folder itself (a dataset)."""
    folder = Path(channel)
    if not folder.is_dir():
        raise InvalidParameterError("SM_CHANNEL_TRAIN", "a mounted channel folder", channel)
    if (folder / "manifest.parquet").is_file():
        return str(folder)
    tables = sorted(folder.glob("*.parquet"))
    if len(tables) != 1:
        raise InvalidParameterError("SM_CHANNEL_TRAIN", "a dataset folder or exactly one features .parquet",
                                    [p.name for p in tables])
    return str(tables[0])


def train_arguments(argv: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """``firesight train`` arguments for SageMaker's hyperparameters and environment."""
    args = ["train", "--data", training_input(environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")),
            "--out", environ.get("SM_MODEL_DIR", "/opt/ml/model")]
    items = list(argv)
    i = 0
    while i < len(items):
        name = items[i]
        if not name.startswith("--") or name[2:].replace("_", "-") not in HYPERPARAMETERS or i + 1 >= len(items):
            raise InvalidParameterError("hyperparameters", f"--NAME VALUE pairs with NAME in {HYPERPARAMETERS}",
                                        name)
        args += ["--" + name[2:].replace("_", "-"), items[i + 1]]
        i += 2
    return args


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    env = dict(os.environ if environ is None else environ)
    args = train_arguments(sys.argv[1:] if argv is None else argv, env)
    from firesight.cli import app

    try:
        app(args, standalone_mode=False)
    except SystemExit as exc:  # typer exits on usage errors
        return int(exc.code or 0)
    out_dir = env.get("SM_OUTPUT_DATA_DIR")
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        Path(out_dir, "training.json").write_text(json.dumps({"arguments": args}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
