"""The state machine part of ``make deploy-check`` passes on the template and fails when a
template copy drifts from the workflow definition or loses a substitution."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _checker():
    spec = importlib.util.spec_from_file_location("check_state_machines", ROOT / "deploy/aws/check_state_machines.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_template_state_machines_match_and_drift_is_caught(tmp_path, capsys):
    checker = _checker()
    assert checker.main() == 0
    text = (ROOT / "deploy/aws/template.yaml").read_text()
    drifted = tmp_path / "drifted.yaml"
    assert "MaxAttempts: 2" in text
    drifted.write_text(text.replace("MaxAttempts: 2", "MaxAttempts: 7", 1))
    assert checker.main(drifted) == 1
    assert "differs from to_aws_definition" in capsys.readouterr().err
    unsubstituted = tmp_path / "unsubstituted.yaml"
    unsubstituted.write_text(text.replace("        TaskTrainArn: !Ref WorkflowTaskAliasTrain\n", "", 1))
    assert checker.main(unsubstituted) == 1
    assert "DefinitionSubstitutions lack ['TaskTrainArn']" in capsys.readouterr().err
