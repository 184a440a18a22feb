"""Model registry: versions, approval states and model resolution.

MLflow is imported only inside this package (and only when a registry is used).
"""

from firesight.registry.mlflow_registry import (
    APPROVAL_STATES, APPROVAL_TAG, APPROVED, MODEL_NAME, PENDING, REJECTED, ModelRegistry)
from firesight.registry.resolve import load_approved_model, load_model, registry_for

__all__ = ["APPROVAL_STATES", "APPROVAL_TAG", "APPROVED", "MODEL_NAME", "PENDING", "REJECTED",
           "ModelRegistry", "load_approved_model", "load_model", "registry_for"]
