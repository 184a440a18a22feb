"""Feature tables for training and evaluation, from a dataset or a features file.

``data`` is either a firesight dataset (folder or URL with ``manifest.parquet``),
whose windows are computed here with :mod:`firesight.features`, or a ``.parquet`` file
written by ``firesight features`` (``scenario_id, family, is_fire, ignition_time_s,
time_s, <features>, burning``).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pandas as pd

from firesight.errors import DataError, NotFoundError

#: Columns a feature table must hold besides the features.
TABLE_META: tuple[str, ...] = ("scenario_id", "family", "ignition_time_s", "time_s", "burning")


def read_feature_table(path: str) -> pd.DataFrame:
    """Read a features ``.parquet`` file (local path or URL, through the object store of its
    folder: :func:`firesight.datasets.objects.read_object`) and check its columns."""
    from firesight.datasets.objects import read_object

    try:
        raw = read_object(path)
    except NotFoundError as exc:
        raise DataError(f"{path}: no such features file") from exc
    except OSError as exc:
        raise DataError(f"{path}: unreadable ({exc})") from exc
    try:
        table = pd.read_parquet(io.BytesIO(raw))
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise DataError(f"{path}: not a readable parquet file ({type(exc).__name__}: {exc})") from exc
    return check_feature_table(table, path)


def check_feature_table(table: pd.DataFrame, where: str) -> pd.DataFrame:
    """Require the meta columns and every column of ``FEATURE_NAMES``."""
    from firesight.features import FEATURE_NAMES

    missing = [c for c in TABLE_META if c not in table.columns]
    if missing:
        raise DataError(f"{where}: lacks columns {missing}")
    lacking = [c for c in FEATURE_NAMES if c not in table.columns]
    if lacking:
        raise DataError(f"{where}: lacks {len(lacking)} feature column(s) {lacking[:6]}; recompute "
                        "features with this firesight version")
    if len(table) == 0:
        raise DataError(f"{where}: holds no windows")
    return table


def dataset_feature_table(url: str, *, step_s: float = 1.0, window_s: float = 60.0, workers: int = 1,
                          progress: Callable[[int, int, str], None] | None = None) -> tuple[pd.DataFrame, dict]:
    """Window features of every scenario of the dataset at ``url`` (manifest order), computed
    by :func:`firesight.features.dataset.compute_dataset_features` into a scratch file; plus
    the dataset's generation settings and manifest. ``progress`` is called as
    ``progress(done, total, scenario_id)`` (see ``compute_dataset_features``)."""
    import tempfile

    from firesight.datasets import open_dataset
    from firesight.features.dataset import compute_dataset_features, read_features

    ds = open_dataset(url)
    if len(ds) == 0:
        raise DataError(f"{url}: the dataset holds no scenarios")
    with tempfile.TemporaryDirectory(prefix="firesight-features-") as scratch:
        out = compute_dataset_features(url, f"{scratch}/features.parquet", workers=workers,
                                       step_s=step_s, window_s=window_s, progress=progress)
        table = read_features(out["path"])
    return table, {"info": ds.info, "manifest": ds.manifest}


def check_features_stamp(model_info: dict, desc: dict, where: str) -> None:
    """Refuse features that a model was not trained on: a :class:`DataError` unless the
    table's stamp (window step and length, :data:`~firesight.features.windows.FEATURES_VERSION`,
    digest of the feature definitions) equals the model's ``features_stamp``."""
    want = model_info.get("features_stamp")
    if want is None:
        return  # a model from before stamps: its feature list is still checked column by column
    have = desc.get("features_stamp")
    if have is None:
        raise DataError(f"{where}: the features carry no version stamp (written by an older "
                        "firesight?); recompute them with `firesight features`")
    diff = [f"{k} {have.get(k)!r} (model: {want[k]!r})" for k in sorted(want) if have.get(k) != want[k]]
    if diff:
        raise DataError(f"{where}: features differ from the model's: {', '.join(diff)}; recompute them "
                        f"with --step-s {want.get('step_s')} --window-s {want.get('window_s')} on this "
                        "firesight, or use a model trained on them")


def load_feature_table(data: str, *, features: str | None = None, step_s: float = 1.0,
                       window_s: float = 60.0, workers: int = 1,
                       progress: Callable[[int, int, str], None] | None = None) -> tuple[pd.DataFrame, dict]:
    """A feature table for ``data`` plus a description (URL, size, seed, families).

    ``data`` is a dataset URL or a features ``.parquet``. With a dataset, ``features`` may
    name its precomputed features file (``firesight features``); it must cover exactly the
    dataset's scenarios. Otherwise the features are computed here, reporting to ``progress``
    as ``progress(done, total, scenario_id)``. A dataset also gives each scenario's
    ``source_view`` (fire in view of the camera or not).
    """
    from firesight.features.dataset import STAMP_KEY
    from firesight.features.windows import features_stamp

    if str(data).endswith(".parquet"):
        if features is not None:
            raise DataError("--features goes with a dataset --data, not with a features file")
        table = read_feature_table(str(data))
        desc = {"url": str(data), "kind": "features", "features_stamp": table.attrs.get(STAMP_KEY)}
    else:
        from firesight.datasets import open_dataset

        ds = open_dataset(str(data))
        if features is not None:
            table = read_feature_table(str(features))
            stamp = table.attrs.get(STAMP_KEY)
            have, want = set(table["scenario_id"].astype(str)), set(ds.ids)
            if have != want:
                raise DataError(f"{features}: its scenarios differ from {data}'s manifest "
                                f"({len(have - want)} extra, {len(want - have)} missing); recompute "
                                "with `firesight features`")
        else:
            table, _ = dataset_feature_table(str(data), step_s=step_s, window_s=window_s,
                                             workers=workers, progress=progress)
            stamp = features_stamp(step_s=step_s, window_s=window_s)
        info = ds.info
        desc = {"url": str(data), "kind": "dataset", "features": features, "seed": info.get("seed"),
                "features_stamp": stamp,
                "generation": {k: v for k, v in info.items()
                               if isinstance(v, (str, int, float, bool, list)) or v is None}}
        manifest = ds.manifest
        if "source_view" in manifest.columns:
            view = dict(zip(manifest["id"].astype(str), manifest["source_view"].astype(str)))
            table["source_view"] = table["scenario_id"].astype(str).map(view)
    per = table.groupby("scenario_id").first()
    desc.update({"n_scenarios": int(len(per)),
                 "n_fire": int(per["ignition_time_s"].notna().sum()),
                 "n_windows": int(len(table)),
                 "families": {str(k): int(v) for k, v in per["family"].value_counts().sort_index().items()},
                 "step_s": float(step_s), "window_s": float(window_s)})
    stamp = desc.get("features_stamp") or {}
    if stamp:  # a features file says which step and window it was computed with
        desc["step_s"], desc["window_s"] = float(stamp["step_s"]), float(stamp["window_s"])
    return table, desc
