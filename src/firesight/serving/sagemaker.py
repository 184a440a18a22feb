"""Running the endpoint as SageMaker runs a container: ``docker run IMAGE serve``.

SageMaker hosting unpacks the model artefact into ``/opt/ml/model``, starts the container
with the argument ``serve`` and sends ``GET /ping`` and ``POST /invocations`` to port 8080
on all interfaces (or the port in ``SAGEMAKER_BIND_TO_PORT``). The ``serve`` console script
(``python -m firesight.serving.sagemaker``) does exactly that; ``firesight serve`` switches
to the same mode by itself when it finds SageMaker's environment (any ``SM_*`` or
``SAGEMAKER_*`` variable).

Environment
-----------
``FIRESIGHT_MODEL_DIR``
    Model folder (default ``/opt/ml/model``).
``SAGEMAKER_BIND_TO_PORT``
    Port (default 8080).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

SAGEMAKER_MODEL_DIR = "/opt/ml/model"


@dataclass(frozen=True)
class SageMakerSettings:
    model_dir: str
    host: str
    port: int


def in_sagemaker(environ: Mapping[str, str] | None = None) -> bool:
    """True when SageMaker's environment variables are present."""
    env = os.environ if environ is None else environ
    return any(k.startswith(("SM_", "SAGEMAKER_")) for k in env)


def settings(environ: Mapping[str, str] | None = None) -> SageMakerSettings:
    """Model folder, host and port for SageMaker mode from the environment."""
    env = os.environ if environ is None else environ
    port = env.get("SAGEMAKER_BIND_TO_PORT", "8080")
    try:
        port_n = int(port)
    except ValueError:
        from firesight.errors import InvalidParameterError

        raise InvalidParameterError("SAGEMAKER_BIND_TO_PORT", "a port number", port) from None
    return SageMakerSettings(model_dir=env.get("FIRESIGHT_MODEL_DIR", SAGEMAKER_MODEL_DIR),
                             host="0.0.0.0", port=port_n)


def main() -> None:
    """The ``serve`` entry point: load the model from the model folder and serve on 8080
    (arguments are ignored: SageMaker passes none but ``serve`` itself)."""
    from firesight.commands.serve import run_endpoint

    s = settings()
    run_endpoint(model=s.model_dir, host=s.host, port=s.port, sagemaker=True)


if __name__ == "__main__":
    main()
