"""Amazon SageMaker: the model registry (model packages in a model package group, with
approval status) behind :class:`firesight.ports.ModelRegistry`, and endpoint invocation.

A registered version is the detector bundle folder packed as ``model.tar.gz`` (what
SageMaker hosting unpacks into ``/opt/ml/model``) in the artefact object store (S3,
SSE-KMS, versioned), a ``metadata.json`` beside it (metrics, parameters, feature names),
and a model package whose inference specification names the serving image and that
archive. The approval status is the package's ``ModelApprovalStatus``.

References
----------
1. Amazon SageMaker Developer Guide, "Model Registry": model package groups, versions,
   "Update the Approval Status of a Model".
2. Amazon SageMaker API Reference, ``CreateModelPackage`` (``InferenceSpecification``,
   ``CustomerMetadataProperties``), ``UpdateModelPackage``, ``InvokeEndpoint``.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from firesight.adapters.aws._session import AwsSettings, ClientFactory, error_code, translate
from firesight.errors import DataError, InvalidParameterError, NotFoundError, require
from firesight.ports import Item, ModelRegistry, ObjectStore

APPROVAL_STATES = ("PendingManualApproval", "Approved", "Rejected")


def pack_model(bundle_dir: str | os.PathLike) -> bytes:
    """The model folder as a gzip tar with sorted members and zeroed times (same folder,
    same bytes)."""
    root = Path(bundle_dir)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=6) as tar:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            info = tar.gettarinfo(str(path), arcname=path.relative_to(root).as_posix())
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with open(path, "rb") as fh:
                tar.addfile(info, fh)
    return buf.getvalue()


def unpack_model(data: bytes, dst: str | os.PathLike) -> Path:
    """Extract a packed model into ``dst`` (tar's ``data`` filter: no absolute paths, links
    out of the folder or device files)."""
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.extractall(dst, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"model archive: not a readable tar.gz ({type(exc).__name__}: {exc})") from exc
    return dst


class SageMakerModelRegistry(ModelRegistry):
    """Detector versions as SageMaker model packages.

    Parameters
    ----------
    group_name : str
        Model package group (one per detector: ``firesight-detector``).
    artifacts : ObjectStore
        Where the archives go (the S3 models bucket of the template).
    image_uri : str
        The serving image (``firesight serve``'s container in ECR) named in each package.
    settings : AwsSettings
        Region and endpoint.
    """

    def __init__(self, group_name: str, *, artifacts: ObjectStore, image_uri: str,
                 settings: AwsSettings | None = None):
        require(bool(group_name), "group_name", "a model package group name", group_name)
        require(bool(image_uri), "image_uri", "the serving container image URI", image_uri)
        self.model_name = group_name
        self.artifacts = artifacts
        self.image_uri = image_uri
        self._clients = ClientFactory(settings or AwsSettings())
        self._group_ready = False

    @property
    def client(self) -> Any:
        return self._clients.client("sagemaker")

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.client.create_model_package_group(
                ModelPackageGroupName=self.model_name,
                ModelPackageGroupDescription="firesight detector versions (RF + XGBoost + LSTM ensemble)")
        except Exception as exc:
            if error_code(exc) not in ("ValidationException", "ResourceInUse", "ConflictException") \
                    or "exist" not in str(exc).lower():
                raise translate(exc, f"model package group {self.model_name}") from exc
        self._group_ready = True

    def exists(self) -> bool:
        try:
            self.client.describe_model_package_group(ModelPackageGroupName=self.model_name)
            return True
        except Exception as exc:
            if error_code(exc) in ("ValidationException", "ResourceNotFound", "ResourceNotFoundException"):
                return False
            raise translate(exc, f"model package group {self.model_name}") from exc

    def register(self, bundle_dir: Any, *, metrics: Mapping[str, float], params: Mapping[str, Any],
                 feature_names: Mapping[str, list[str]], data_ref: str, code_version: str,
                 description: str = "") -> str:
        bundle = Path(bundle_dir)
        if not (bundle / "bundle.json").is_file():
            raise DataError(f"{bundle}: not a firesight model folder (no bundle.json)")
        self._ensure_group()
        prefix = f"model-packages/{self.model_name}/{uuid.uuid4().hex}"
        self.artifacts.put_bytes(f"{prefix}/model.tar.gz", pack_model(bundle))
        meta = {"metrics": {k: float(v) for k, v in metrics.items() if v is not None},
                "params": {k: str(v)[:500] for k, v in params.items()},
                "feature_names": {k: list(v) for k, v in feature_names.items()},
                "data_ref": data_ref, "code_version": code_version}
        self.artifacts.put_bytes(f"{prefix}/metadata.json", json.dumps(meta, sort_keys=True).encode())
        try:
            out = self.client.create_model_package(
                ModelPackageGroupName=self.model_name, ModelPackageDescription=description[:1000],
                ModelApprovalStatus="PendingManualApproval",
                InferenceSpecification={
                    "Containers": [{"Image": self.image_uri,
                                    "ModelDataUrl": self.artifacts.fs_url(f"{prefix}/model.tar.gz")}],
                    "SupportedContentTypes": ["text/csv", "application/json"],
                    "SupportedResponseMIMETypes": ["application/json"]},
                CustomerMetadataProperties={"data_ref": data_ref[:256], "code_version": code_version[:256],
                                            "artifact_prefix": prefix})
        except Exception as exc:
            raise translate(exc, f"create model package in {self.model_name}") from exc
        return str(self._describe(out["ModelPackageArn"])["ModelPackageVersion"])

    def _describe(self, arn: str) -> dict[str, Any]:
        try:
            return self.client.describe_model_package(ModelPackageName=arn)
        except Exception as exc:
            raise translate(exc, f"model package {arn}") from exc

    def _packages(self) -> list[dict[str, Any]]:
        if not self.exists():
            return []
        arns = []
        paginator = self.client.get_paginator("list_model_packages")
        for page in paginator.paginate(ModelPackageGroupName=self.model_name, ModelPackageType="Versioned"):
            arns.extend(p["ModelPackageArn"] for p in page.get("ModelPackageSummaryList", []))
        return [self._describe(a) for a in arns]

    def _entry(self, pkg: Mapping[str, Any]) -> Item:
        source = pkg["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
        root = self.artifacts.fs_url("").rstrip("/") + "/"
        prefix = source[len(root):].rsplit("/", 1)[0] if source.startswith(root) else ""
        meta: dict[str, Any] = {}
        if prefix:
            try:
                meta = json.loads(self.artifacts.get_bytes(f"{prefix}/metadata.json"))
            except NotFoundError:
                meta = {}
        created = pkg.get("CreationTime")
        return {"version": str(pkg["ModelPackageVersion"]), "status": pkg.get("ModelApprovalStatus", ""),
                "created_ms": int(created.timestamp() * 1000) if created is not None else 0,
                "source": source, "arn": pkg["ModelPackageArn"], "data_ref": meta.get("data_ref", ""),
                "code_version": meta.get("code_version", ""), "metrics": meta.get("metrics", {}),
                "artifact_prefix": prefix}

    def list_versions(self) -> list[Item]:
        entries = [self._entry(p) for p in self._packages()]
        return sorted(entries, key=lambda e: int(e["version"]), reverse=True)

    def _get(self, version: str) -> Item:
        for entry in self.list_versions():
            if entry["version"] == str(version):
                return entry
        raise NotFoundError(f"model version {version!r} of {self.model_name!r} is not in the "
                            "SageMaker model registry")

    def set_status(self, version: str, status: str) -> Item:
        if status not in APPROVAL_STATES:
            raise InvalidParameterError("status", f"one of {APPROVAL_STATES}", status)
        entry = self._get(version)
        try:
            self.client.update_model_package(ModelPackageArn=entry["arn"], ModelApprovalStatus=status)
        except Exception as exc:
            raise translate(exc, f"approve {entry['arn']}") from exc
        return self._get(version)

    def fetch(self, version: str, dst: Any) -> Path:
        entry = self._get(version)
        if not entry["artifact_prefix"]:
            raise DataError(f"model version {version}: archive {entry['source']} is outside {self.artifacts.url}")
        return unpack_model(self.artifacts.get_bytes(f"{entry['artifact_prefix']}/model.tar.gz"), dst)


class SageMakerEndpoint:
    """Invoke a deployed detector endpoint (the ``/invocations`` contract of the serving
    container: ``application/json`` ``{"instances": [...]}`` or ``text/csv`` rows)."""

    def __init__(self, endpoint_name: str, *, settings: AwsSettings | None = None):
        require(bool(endpoint_name), "endpoint_name", "a SageMaker endpoint name", endpoint_name)
        self.endpoint_name = endpoint_name
        self._clients = ClientFactory(settings or AwsSettings())

    def invoke(self, instances: Sequence[Mapping[str, Any]] | Sequence[Sequence[float]], *,
               content_type: str = "application/json") -> dict[str, Any]:
        """Send ``instances`` (feature dicts or rows); return the decoded JSON answer."""
        require(content_type in ("application/json", "text/csv"), "content_type",
                "application/json or text/csv", content_type)
        if content_type == "text/csv":
            body = "\n".join(",".join(repr(float(v)) for v in row) for row in instances).encode()  # type: ignore[union-attr]
        else:
            body = json.dumps({"instances": list(instances)}).encode()
        try:
            out = self._clients.client("sagemaker-runtime").invoke_endpoint(
                EndpointName=self.endpoint_name, ContentType=content_type, Accept="application/json", Body=body)
        except Exception as exc:
            raise translate(exc, f"invoke endpoint {self.endpoint_name}") from exc
        raw = out["Body"].read()
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"endpoint {self.endpoint_name}: answer is not JSON: {raw[:200]!r}") from exc
