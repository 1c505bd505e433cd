"""The portable submitter's pure parts, and the rules that keep it shippable as ``python -c <source>``."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from rayjob_submitter import contract, portable
from rayjob_submitter.contract import ExitCode
from rayjob_submitter.inline import is_portable_command, portable_command, portable_source

AWKWARD = "echo \"a $HOME\" 'b' && printf '%s\\n' `x` ; echo ${U:-d} ü\nsecond  line"


def env(**values: str) -> dict[str, str]:
    return {contract.ENV_SUBMISSION_ID: "job-1", contract.ENV_ENTRYPOINT: AWKWARD, **values}


def test_it_speaks_the_contract() -> None:
    for code in ExitCode:
        assert getattr(portable, code.name) == int(code), code
    assert portable.EXIT_BY_STATUS == {"SUCCEEDED": 0, "FAILED": 1, "STOPPED": 3}
    assert portable.ID_PATTERN.pattern == contract.SUBMISSION_ID_PATTERN.pattern
    assert portable.ALREADY_EXISTS == contract.ALREADY_EXISTS_MARKER
    names = {name for name, *_ in (*portable.JSON_INPUTS, *portable.NUMBER_INPUTS, *portable.SETTINGS)}
    ours = {value for key, value in vars(contract).items() if key.startswith("ENV_")}
    assert names <= ours, names - ours
    assert portable.SETTINGS[0][2] == contract.DEFAULT_WAIT_SECONDS
    assert portable.SETTINGS[1][2] == contract.DEFAULT_GRACE_SECONDS


def test_the_shipped_source_is_python_3_8_and_stdlib_only() -> None:
    source = portable_source()
    tree = ast.parse(source, feature_version=(3, 8))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported - {"yaml"} <= set(sys.stdlib_module_names)  # PyYAML only if a runtime env is YAML
    assert "rayjob_submitter" not in source
    assert '"""' not in source  # no docstrings: the pod spec stays small
    assert len(source) < 20_000


def test_command_line_is_python_dash_c() -> None:
    command = portable_command()
    assert command[:2] == ["python", "-c"]
    assert is_portable_command(command)
    assert not is_portable_command(["rayjob-submit"])
    assert not is_portable_command(None)


def test_request_keeps_the_entrypoint_byte_for_byte_and_drops_empty_fields() -> None:
    body = portable.request_body(env(RAY_JOB_RUNTIME_ENV="{}", RAY_JOB_ENTRYPOINT_NUM_CPUS="0"))
    assert body == {"entrypoint": AWKWARD, "submission_id": "job-1"}


def test_request_carries_runtime_env_metadata_and_resources() -> None:
    body = portable.request_body(
        env(
            RAY_JOB_RUNTIME_ENV="env_vars:\n  A: b\n",  # YAML is accepted too
            RAY_JOB_METADATA='{"owner": "alice"}',
            RAY_JOB_ENTRYPOINT_NUM_CPUS="0.5",
            RAY_JOB_ENTRYPOINT_MEMORY="1024",
            RAY_JOB_ENTRYPOINT_RESOURCES='{"tpu": 1}',
        )
    )
    assert body["runtime_env"] == {"env_vars": {"A": "b"}}
    assert body["metadata"] == {"owner": "alice"}
    assert (body["entrypoint_num_cpus"], body["entrypoint_memory"]) == (0.5, 1024)
    assert body["entrypoint_resources"] == {"tpu": 1}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({contract.ENV_SUBMISSION_ID: "a/b"}, "[A-Za-z0-9._:@-]"),
        ({contract.ENV_ENTRYPOINT: "  "}, "RAY_JOB_ENTRYPOINT is empty"),
        ({"RAY_JOB_METADATA": "[1, 2]"}, "RAY_JOB_METADATA must be a JSON object"),
        ({"RAY_JOB_ENTRYPOINT_NUM_GPUS": "-1"}, "RAY_JOB_ENTRYPOINT_NUM_GPUS must be 0 or greater"),
        ({"RAY_JOB_ENTRYPOINT_MEMORY": "1.5"}, "RAY_JOB_ENTRYPOINT_MEMORY must be a number"),
    ],
)
def test_invalid_input_exits_2_naming_the_variable(values: dict[str, str], message: str) -> None:
    with pytest.raises(portable.Exit) as caught:
        portable.request_body(env(**values))
    assert caught.value.code == ExitCode.INVALID_INPUT
    assert message in caught.value.message


def test_settings_default_and_parse() -> None:
    assert portable.settings({}) == {"wait": 600.0, "grace": 60.0, "poll": 1.0, "http_timeout": 10.0}
    assert portable.settings({"RAY_JOB_SUBMITTER_POLL_SECONDS": "0.2"})["poll"] == 0.2


def test_token_from_env_or_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("secret\n")
    assert portable.token({"RAY_AUTH_TOKEN_PATH": str(path)}) == "secret"
    assert portable.token({"RAY_AUTH_TOKEN": "t", "RAY_AUTH_TOKEN_PATH": "/nowhere"}) == "t"
    with pytest.raises(portable.Exit) as caught:
        portable.token({"RAY_AUTH_TOKEN_PATH": "/nowhere"})
    assert caught.value.code == ExitCode.INVALID_INPUT


def test_log_delta_prints_only_what_is_new() -> None:
    assert portable.log_delta("", "a\n") == "a\n"
    assert portable.log_delta("a\n", "a\nb\n") == "b\n"
    assert portable.log_delta("a\nb\n", "a\n") == ""  # a lagging read prints nothing
    assert portable.log_delta("a\n", "x\n") == portable.RESTART_NOTICE + "x\n"


def test_verdict_line() -> None:
    job = {
        "status": "FAILED",
        "error_type": "JOB_ENTRYPOINT_COMMAND_ERROR",
        "driver_exit_code": 3,
        "message": "Job entrypoint command failed with exit code 3, last available logs: ...",
    }
    assert portable.verdict("j", job) == (
        "job 'j' FAILED, error type JOB_ENTRYPOINT_COMMAND_ERROR, driver exit code 3: "
        "Job entrypoint command failed with exit code 3"
    )


def test_refusals_are_final_except_404() -> None:
    assert portable.is_refusal(400) and portable.is_refusal(403)
    assert not portable.is_refusal(404) and not portable.is_refusal(500)
    assert "RAY_AUTH_TOKEN" in portable.refused(401, "", "x").message
