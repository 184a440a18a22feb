"""Which model a service runs: a named reference, else the newest approved registry
version, else the default model shipped inside the package.

The registry itself (MLflow locally, SageMaker Model Registry on AWS) is picked by
:func:`firesight.bootstrap.model_registry`; these functions take it as an argument.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from firesight.config import Config, load_config
from firesight.detection.bundle import DetectorBundle
from firesight.detection.shipped_model import default_model_path, load_bundle
from firesight.errors import NotFoundError
from firesight.ports import ModelRegistry


def registry_for(config: Config | None = None) -> ModelRegistry:
    """The registry named by the configuration (see :func:`firesight.bootstrap.model_registry`)."""
    from firesight import bootstrap

    return bootstrap.model_registry(config)


def _cached_version(registry: ModelRegistry, version: str, config: Config) -> Path:
    """The version's model folder in the local cache, fetched once. Each fetch goes to its
    own temporary folder and is renamed into place, so two processes never share one."""
    cache = Path(config.home) / "model-cache" / registry.model_name / str(version)
    if not (cache / "bundle.json").is_file():
        tmp = cache.with_name(f".{cache.name}.tmp-{uuid.uuid4().hex}")
        try:
            registry.fetch(version, tmp)
            cache.parent.mkdir(parents=True, exist_ok=True)
            try:
                tmp.rename(cache)
            except OSError:  # another process renamed its copy first: keep theirs
                if not (cache / "bundle.json").is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return cache


def load_approved_model(config: Config | None = None, *,
                        registry: ModelRegistry | None = None) -> tuple[DetectorBundle, dict]:
    """The newest ``Approved`` registry version, or the shipped default model.

    Returns the bundle and a reference ``{"source": "registry"|"default", "version", "path"}``.
    A registry that does not exist yet is not created by this call.
    """
    cfg = (config or load_config()).resolved()
    registry = registry or registry_for(cfg)
    if registry.exists():
        entry = registry.approved_version()
        if entry is not None:
            path = _cached_version(registry, entry["version"], cfg)
            return load_bundle(path), {"source": "registry", "version": entry["version"],
                                       "path": str(path)}
    path = default_model_path()
    return load_bundle(path), {"source": "default", "version": None, "path": str(path)}


def load_model(ref: str | None = None, config: Config | None = None, *,
               registry: ModelRegistry | None = None) -> tuple[DetectorBundle, dict]:
    """Resolve a model reference.

    ``ref`` is None (approved version, else the shipped default), ``"default"`` (the
    shipped model), ``"registry:VERSION"`` (that registry version, whatever its state) or
    a path to a model folder.
    """
    if ref is None or ref == "":
        return load_approved_model(config, registry=registry)
    if ref == "default":
        path = default_model_path()
        return load_bundle(path), {"source": "default", "version": None, "path": str(path)}
    if ref.startswith("registry:"):
        cfg = (config or load_config()).resolved()
        registry = registry or registry_for(cfg)
        version = ref.split(":", 1)[1]
        path = _cached_version(registry, version, cfg)
        return load_bundle(path), {"source": "registry", "version": version, "path": str(path)}
    path = Path(ref)
    if not path.exists():
        raise NotFoundError(f"model {ref!r}: no such folder (use a model folder, 'default' or "
                            "'registry:VERSION')")
    return load_bundle(path), {"source": "path", "version": None, "path": str(path.resolve())}
