"""Which model a service runs: a named reference, else the newest approved registry
version, else the default model shipped inside the package."""

from __future__ import annotations

from pathlib import Path

from firesight.config import Config, load_config
from firesight.detection.bundle import DetectorBundle
from firesight.detection.models import default_model_path, load_bundle
from firesight.errors import NotFoundError
from firesight.registry.mlflow_registry import ModelRegistry


def registry_for(config: Config | None = None) -> ModelRegistry:
    """The registry named by ``config.registry_uri`` (SQLite under the firesight home)."""
    cfg = (config or load_config()).resolved()
    return ModelRegistry(cfg.registry_uri)


def _cached_version(registry: ModelRegistry, version: str, config: Config) -> Path:
    cache = Path(config.home) / "model-cache" / registry.model_name / str(version)
    if not (cache / "bundle.json").is_file():
        tmp = cache.with_name(f".{cache.name}.tmp")
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp)
        registry.fetch(version, tmp)
        cache.parent.mkdir(parents=True, exist_ok=True)
        if not cache.exists():
            tmp.rename(cache)
    return cache


def load_approved_model(config: Config | None = None) -> tuple[DetectorBundle, dict]:
    """The newest ``Approved`` registry version, or the shipped default model.

    Returns the bundle and a reference ``{"source": "registry"|"default", "version", "path"}``.
    A registry that does not exist yet is not created by this call.
    """
    cfg = (config or load_config()).resolved()
    uri = cfg.registry_uri
    if not (uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///"):]).exists()):
        registry = ModelRegistry(uri)
        entry = registry.approved_version()
        if entry is not None:
            path = _cached_version(registry, entry["version"], cfg)
            return load_bundle(path), {"source": "registry", "version": entry["version"],
                                       "path": str(path)}
    path = default_model_path()
    return load_bundle(path), {"source": "default", "version": None, "path": str(path)}


def load_model(ref: str | None = None, config: Config | None = None) -> tuple[DetectorBundle, dict]:
    """Resolve a model reference.

    ``ref`` is None (approved version, else the shipped default), ``"default"`` (the
    shipped model), ``"registry:VERSION"`` (that registry version, whatever its state) or
    a path to a model folder.
    """
    if ref is None or ref == "":
        return load_approved_model(config)
    if ref == "default":
        path = default_model_path()
        return load_bundle(path), {"source": "default", "version": None, "path": str(path)}
    if ref.startswith("registry:"):
        cfg = (config or load_config()).resolved()
        registry = ModelRegistry(cfg.registry_uri)
        version = ref.split(":", 1)[1]
        path = _cached_version(registry, version, cfg)
        return load_bundle(path), {"source": "registry", "version": version, "path": str(path)}
    path = Path(ref)
    if not path.exists():
        raise NotFoundError(f"model {ref!r}: no such folder (use a model folder, 'default' or "
                            "'registry:VERSION')")
    return load_bundle(path), {"source": "path", "version": None, "path": str(path.resolve())}
