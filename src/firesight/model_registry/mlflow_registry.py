"""Model versions and approval in MLflow's model registry (SQLite backend by default).

Every trained detector bundle is logged as an MLflow run (parameters, metrics, feature
list, training data reference, code version) and registered as a version of one
registered model. Approval follows SageMaker Model Registry's states, stored as the model
version tag ``ModelApprovalStatus``: a new version is ``PendingManualApproval``; an
operator sets ``Approved`` or ``Rejected``. Services load the newest ``Approved`` version.

References
----------
1. MLflow Model Registry, https://mlflow.org/docs/latest/model-registry/ (versions, tags).
2. Amazon SageMaker Model Registry, "Update the Approval Status of a Model":
   ``ModelApprovalStatus`` in {PendingManualApproval, Approved, Rejected}.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from firesight.errors import DataError, InvalidParameterError, NotFoundError
from firesight.ports import ModelRegistry

MODEL_NAME = "firesight-detector"
EXPERIMENT_NAME = "firesight-detectors"
APPROVAL_TAG = "ModelApprovalStatus"
PENDING, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"
APPROVAL_STATES = (PENDING, APPROVED, REJECTED)


@contextlib.contextmanager
def _quiet_mlflow():
    """Silence MLflow's INFO logging (database migrations) for the duration of a call."""
    loggers = [logging.getLogger(n) for n in ("mlflow", "alembic")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def default_artifact_root(uri: str) -> str:
    """Artifact folder beside a ``sqlite:///PATH`` registry (``PATH``'s folder / mlartifacts)."""
    if uri.startswith("sqlite:///"):
        return (Path(uri[len("sqlite:///"):]).parent / "mlartifacts").resolve().as_uri()
    raise InvalidParameterError("artifact_root", "given for a non-SQLite registry URI", uri)


class MLflowModelRegistry(ModelRegistry):
    """Register, list, approve and fetch detector versions in MLflow (the local adapter of
    :class:`firesight.ports.ModelRegistry`).

    Parameters
    ----------
    uri : str
        MLflow tracking and registry URI (``sqlite:///PATH`` by default config).
    artifact_root : str, optional
        Where run artifacts go (default: ``mlartifacts`` beside the SQLite file).
    model_name : str
        Registered model name.
    """

    def __init__(self, uri: str, *, artifact_root: str | None = None, model_name: str = MODEL_NAME):
        if not uri:
            raise InvalidParameterError("registry_uri", "a non-empty MLflow URI", uri)
        self.uri = uri
        self.artifact_root = artifact_root or default_artifact_root(uri)
        self.model_name = model_name
        self._client = None

    @property
    def client(self):
        if self._client is None:
            import mlflow
            from mlflow import MlflowClient

            if self.uri.startswith("sqlite:///"):
                Path(self.uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
            with _quiet_mlflow():
                mlflow.set_tracking_uri(self.uri)
                mlflow.set_registry_uri(self.uri)
                self._client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
                self._client.search_experiments(max_results=1)  # creates/migrates the schema
        return self._client

    def _experiment_id(self) -> str:
        exp = self.client.get_experiment_by_name(EXPERIMENT_NAME)
        if exp is not None:
            return exp.experiment_id
        return self.client.create_experiment(EXPERIMENT_NAME, artifact_location=self.artifact_root)

    def register(self, bundle_dir: str | os.PathLike, *, metrics: dict[str, float],
                 params: dict, feature_names: dict[str, list[str]], data_ref: str,
                 code_version: str, description: str = "") -> str:
        """Log ``bundle_dir`` as a run and register it; return the new version number.

        The version starts as ``PendingManualApproval``.
        """
        from mlflow.exceptions import MlflowException

        bundle = Path(bundle_dir)
        if not (bundle / "bundle.json").is_file():
            raise DataError(f"{bundle}: not a firesight model folder (no bundle.json)")
        client = self.client
        with _quiet_mlflow():
            run = client.create_run(self._experiment_id(),
                                    tags={"mlflow.runName": "firesight-train",
                                          "data_ref": data_ref, "code_version": code_version})
            rid = run.info.run_id
            for key, value in sorted(params.items()):
                client.log_param(rid, key, str(value)[:500])
            for key, value in sorted(metrics.items()):
                if value is not None:
                    client.log_metric(rid, key, float(value))
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "feature_names.json"
                path.write_text(json.dumps(feature_names, indent=1))
                client.log_artifact(rid, str(path))
            client.log_artifacts(rid, str(bundle), "model")
            client.set_terminated(rid)
            try:
                client.create_registered_model(self.model_name)
            except MlflowException as exc:
                if "already exists" not in str(exc).lower() and "RESOURCE_ALREADY_EXISTS" not in str(exc):
                    raise
            mv = client.create_model_version(
                self.model_name, f"{run.info.artifact_uri}/model", run_id=rid,
                tags={APPROVAL_TAG: PENDING, "data_ref": data_ref, "code_version": code_version},
                description=description)
        return str(mv.version)

    def _versions(self):
        from mlflow.exceptions import MlflowException

        with _quiet_mlflow():
            try:
                return list(self.client.search_model_versions(f"name='{self.model_name}'"))
            except MlflowException:
                return []

    def list_versions(self) -> list[dict]:
        """Every version, newest first, with status, metrics and references."""
        out = []
        for mv in sorted(self._versions(), key=lambda v: int(v.version), reverse=True):
            metrics = {}
            if mv.run_id:
                with _quiet_mlflow():
                    metrics = dict(self.client.get_run(mv.run_id).data.metrics)
            out.append({"version": str(mv.version), "status": mv.tags.get(APPROVAL_TAG, PENDING),
                        "created_ms": int(mv.creation_timestamp or 0), "run_id": mv.run_id,
                        "source": mv.source, "data_ref": mv.tags.get("data_ref", ""),
                        "code_version": mv.tags.get("code_version", ""), "metrics": metrics})
        return out

    def _get(self, version: str):
        for mv in self._versions():
            if str(mv.version) == str(version):
                return mv
        raise NotFoundError(f"model version {version!r} of {self.model_name!r} is not in the "
                            f"registry at {self.uri}")

    def set_status(self, version: str, status: str) -> dict:
        """Set the approval state of ``version``; return its listing entry."""
        if status not in APPROVAL_STATES:
            raise InvalidParameterError("status", f"one of {APPROVAL_STATES}", status)
        mv = self._get(version)
        with _quiet_mlflow():
            self.client.set_model_version_tag(self.model_name, str(mv.version), APPROVAL_TAG, status)
        return next(v for v in self.list_versions() if v["version"] == str(version))

    def exists(self) -> bool:
        """False for a SQLite registry whose file does not exist yet (nothing is created)."""
        return not (self.uri.startswith("sqlite:///") and not Path(self.uri[len("sqlite:///"):]).exists())

    def fetch(self, version: str, dst: str | os.PathLike) -> Path:
        """Copy the model folder of ``version`` to ``dst`` (created); return ``dst``."""
        mv = self._get(version)
        dst = Path(dst)
        source = mv.source
        parsed = urlparse(source)
        if parsed.scheme in ("file", ""):
            src = Path(parsed.path if parsed.scheme else source)
            if not src.is_dir():
                raise DataError(f"model version {version}: artefacts missing at {src}")
            shutil.copytree(src, dst, dirs_exist_ok=True)
            return dst
        import mlflow

        with _quiet_mlflow():
            path = mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=str(dst))
        return Path(path)
