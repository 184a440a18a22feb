"""CLI misuse of ``rules test`` / ``rules deploy`` (issue 9): a one-line error on stderr,
exit code 2, no traceback."""

from __future__ import annotations

import sys

import pytest

from firesight import cli

TOPIC = "firesight/v1/lab/n1/scd41"
SQL = "SELECT round(co2_ppm) AS r FROM 'firesight/v1/+/+/scd41'"


def _run(monkeypatch, capsys, tmp_path, *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("FIRESIGHT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "5000")  # one logical line; Rich would wrap it at 80 columns
    monkeypatch.setattr(sys, "argv", ["firesight", *args])
    with pytest.raises(SystemExit) as info:
        cli.main()
    out, err = capsys.readouterr()
    return info.value.code, out, err


@pytest.mark.parametrize("args", [
    ("rules", "test", "--sql", SQL, "--topic", TOPIC, "--payload", '{"co2_ppm": Infinity}'),
    ("rules", "test", "--sql", SQL, "--topic", TOPIC, "--payload", '{"co2_ppm": NaN}'),
    ("rules", "test", "--sql", SQL, "--topic", TOPIC, "--payload", "[" * 5_000 + "]" * 5_000),
    ("rules", "test", "--sql", SQL, "--topic", TOPIC, "--payload", '{"co2_ppm": ' + "9" * 400 + "}"),
    ("rules", "test", "--sql", "SELECT " + "(" * 5_000 + "1" + ")" * 5_000 + " FROM 't'", "--topic", TOPIC,
     "--payload", "{}"),
    ("rules", "test", "--sql", "SELECT 1e999 AS x FROM 'firesight/v1/+/+/scd41'", "--topic", TOPIC,
     "--payload", "{}"),
])
def test_rules_test_misuse_is_a_one_line_error(monkeypatch, capsys, tmp_path, args):
    code, out, err = _run(monkeypatch, capsys, tmp_path, *args)
    assert code == 2
    assert "Traceback" not in err and "Traceback" not in out
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1, err[:300]


@pytest.mark.parametrize("text", ["rules: [\n  - name: a\n   sql: x", "{{{{", "[" * 5_000, "- !!python/object:os.system x"])
def test_rules_deploy_with_bad_yaml_is_a_one_line_error(monkeypatch, capsys, tmp_path, text):
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    code, out, err = _run(monkeypatch, capsys, tmp_path, "rules", "deploy", "--file", str(path))
    assert code == 2 and "Traceback" not in err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1, err[:300]


def test_rules_deploy_with_non_utf8_or_deep_json_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    for name, data in (("a.json", "[".encode() * 5_000), ("b.json", '[{"name": "x"}]'.encode("utf-16"))):
        path = tmp_path / name
        path.write_bytes(data)
        code, _, err = _run(monkeypatch, capsys, tmp_path, "rules", "deploy", "--file", str(path))
        assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1, err[:300]


def test_rules_test_still_works(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("FIRESIGHT_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(sys, "argv", ["firesight", "rules", "test", "--sql", SQL, "--topic", TOPIC,
                                      "--payload", '{"co2_ppm": 812.6}'])
    cli.main()
    out, _ = capsys.readouterr()
    assert '"r": 813' in out and '"matches_topic": true' in out
