"""Model registry: versions, approval states and model resolution.

:class:`firesight.ports.ModelRegistry` is the port; :class:`MLflowModelRegistry` the local
adapter (MLflow is imported only when a registry is used) and
:class:`firesight.adapters.aws.sagemaker.SageMakerModelRegistry` the AWS one;
:func:`firesight.bootstrap.model_registry` picks one from the configuration.
"""

from firesight.ports import ModelRegistry
from firesight.model_registry.mlflow_registry import (
    APPROVAL_STATES, APPROVAL_TAG, APPROVED, MODEL_NAME, PENDING, REJECTED, MLflowModelRegistry)
from firesight.model_registry.resolve import load_approved_model, load_model, registry_for

__all__ = ["APPROVAL_STATES", "APPROVAL_TAG", "APPROVED", "MLflowModelRegistry", "MODEL_NAME", "ModelRegistry",
           "PENDING", "REJECTED", "load_approved_model", "load_model", "registry_for"]
