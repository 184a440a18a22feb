"""`make deploy-check`, state machine part: prove that the template's state machines are the
workflow definitions that firesight runs locally, and that they are valid.

1. every definition in ``src/firesight/workflows/definitions`` passes firesight's own checks
   (``firesight.workflows.validate``) with the tasks firesight registers;
2. each ``AWS::StepFunctions::StateMachine`` in ``deploy/aws/template.yaml`` carries exactly
   ``to_aws_definition(<workflow>)`` (firesight tasks become Lambda alias ARNs), and its
   ``DefinitionSubstitutions`` cover every ``${...}`` substitution key;
3. moto's Amazon States Language parser (the one moto runs executions with) parses each
   converted definition with the substitution keys filled.

Exit status 0 when all hold; otherwise every problem is printed and the status is 1.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "aws" / "template.yaml"
_SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def main(template_path: Path = TEMPLATE) -> int:
    from cfnlint.decode import decode

    from firesight.adapters.aws.stepfunctions import to_aws_definition
    from firesight.workflows import list_workflows, load_definition
    from firesight.workflows.tasks import START_EXECUTION_SYNC, default_tasks
    from firesight.workflows.validate import definition_problems

    problems: list[str] = []
    resources = set(default_tasks()) | {START_EXECUTION_SYNC}
    workflows = list_workflows()
    for name in workflows:
        for p in definition_problems(load_definition(name), resources=resources):
            problems.append(f"workflow {name}: {p}")

    template, matches = decode(str(template_path))
    if matches or template is None:
        return _report([f"template: {m}" for m in matches] or ["template: unreadable"])
    machines = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::StepFunctions::StateMachine"}
    seen = set()
    for logical_id, resource in sorted(machines.items()):
        props = resource["Properties"]
        sub = props["StateMachineName"].get("Fn::Sub", "")
        workflow = sub.split("${Environment}-", 1)[-1]
        if workflow not in workflows:
            problems.append(f"{logical_id}: StateMachineName {sub!r} names no workflow in {workflows}")
            continue
        seen.add(workflow)
        expected = to_aws_definition(load_definition(workflow, substitute=False))
        if props.get("Definition") != expected:
            problems.append(f"{logical_id}: Definition differs from to_aws_definition({workflow}); "
                            "regenerate it (see docs/aws.md)")
        text = json.dumps(props.get("Definition"))
        keys_used = set(_SUBSTITUTION.findall(text))
        missing = keys_used - set(props.get("DefinitionSubstitutions", {}))
        if missing:
            problems.append(f"{logical_id}: DefinitionSubstitutions lack {sorted(missing)}")
        filled = _SUBSTITUTION.sub(lambda m: f"arn:aws:lambda:eu-west-1:123456789012:function:f:{m.group(1)}", text)
        try:
            from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

            AmazonStateLanguageParser.parse(filled)
        except Exception as exc:  # the parser raises its own exception types
            problems.append(f"{logical_id}: moto's ASL parser refuses the definition: {exc}")
    for workflow in sorted(set(workflows) - seen):
        problems.append(f"workflow {workflow} has no state machine in the template")
    if problems:
        return _report(problems)
    print(f"state machines: {len(workflows)} workflow definitions valid; {len(machines)} template copies "
          "match and parse")
    return 0


def _report(problems: list[str]) -> int:
    for p in problems:
        print(f"ERROR {p}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE))
