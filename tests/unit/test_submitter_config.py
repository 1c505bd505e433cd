"""Argument and environment parsing of rayjob-submit (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rayjob_submitter import contract as c
from rayjob_submitter.config import (
    InputError,
    JobRequest,
    assemble_entrypoint,
    normalize_address,
    parse_memory,
    parse_metadata,
    parse_number,
    parse_resources,
    parse_runtime_env,
    read_token,
    split_argv,
)
from rayjob_submitter.options import load_config

BASE_ENV = {c.ENV_DASHBOARD_ADDRESS: "head-svc.ns.svc.cluster.local:8265", c.ENV_SUBMISSION_ID: "job-1"}


def test_minimal_kuberay_style_invocation() -> None:
    config = load_config(["--", "python", "/home/ray/samples/sample_code.py"], BASE_ENV)

    assert config.request.submission_id == "job-1"
    assert config.request.entrypoint == "python /home/ray/samples/sample_code.py"
    assert config.settings.base_url == "http://head-svc.ns.svc.cluster.local:8265"
    assert config.settings.token is None
    assert config.settings.wait_seconds == c.DEFAULT_WAIT_SECONDS
    assert config.settings.grace_seconds == c.DEFAULT_GRACE_SECONDS


def test_kuberay_light_weight_submitter_sample_args() -> None:
    runtime_env = '{"pip":["requests==2.26.0","pendulum==2.1.2"],"env_vars":{"counter_name":"test_counter"}}'
    argv = ["--runtime-env-json", runtime_env, "--", "python", "/home/ray/samples/sample_code.py"]

    request = load_config(argv, BASE_ENV).request

    assert request.runtime_env == {
        "pip": ["requests==2.26.0", "pendulum==2.1.2"],
        "env_vars": {"counter_name": "test_counter"},
    }


def test_every_input_from_env() -> None:
    env = {
        **BASE_ENV,
        c.ENV_ENTRYPOINT: "echo $HOME && ls",
        c.ENV_RUNTIME_ENV: "env_vars:\n  A: b\n",
        c.ENV_METADATA: '{"owner": "alice"}',
        c.ENV_ENTRYPOINT_NUM_CPUS: "1.000000",
        c.ENV_ENTRYPOINT_NUM_GPUS: "0.5",
        c.ENV_ENTRYPOINT_MEMORY: "1000000",
        c.ENV_ENTRYPOINT_RESOURCES: '{"widget": 2}',
        c.ENV_AUTH_TOKEN: "tok",
        c.ENV_WAIT_SECONDS: "5",
        c.ENV_GRACE_SECONDS: "7",
        c.ENV_POLL_SECONDS: "0.25",
        c.ENV_HTTP_TIMEOUT: "3",
    }

    config = load_config([], env)

    assert config.request.to_json() == {
        "entrypoint": "echo $HOME && ls",
        "submission_id": "job-1",
        "runtime_env": {"env_vars": {"A": "b"}},
        "metadata": {"owner": "alice"},
        "entrypoint_num_cpus": 1.0,
        "entrypoint_num_gpus": 0.5,
        "entrypoint_memory": 1000000,
        "entrypoint_resources": {"widget": 2},
    }
    settings = config.settings
    assert (settings.token, settings.wait_seconds, settings.grace_seconds) == ("tok", 5, 7)
    assert (settings.poll_seconds, settings.http_timeout) == (0.25, 3)


def test_flags_win_over_env() -> None:
    env = {
        **BASE_ENV,
        c.ENV_ENTRYPOINT: "echo env",
        c.ENV_METADATA: '{"from": "env"}',
        c.ENV_ENTRYPOINT_NUM_CPUS: "2",
        c.ENV_RUNTIME_ENV: '{"env_vars": {"X": "env"}}',
    }
    argv = [
        "--address",
        "http://other:1234/",
        "--submission-id",
        "job-2",
        "--metadata-json",
        '{"from": "flag"}',
        "--entrypoint-num-cpus",
        "1",
        "--runtime-env-json",
        '{"env_vars": {"X": "flag"}}',
        "--",
        "echo flag",
    ]

    config = load_config(argv, env)

    assert config.settings.base_url == "http://other:1234"
    assert config.request.submission_id == "job-2"
    assert config.request.entrypoint == "echo flag"
    assert config.request.metadata == {"from": "flag"}
    assert config.request.entrypoint_num_cpus == 1
    assert config.request.runtime_env == {"env_vars": {"X": "flag"}}


def test_empty_optional_fields_are_left_out() -> None:
    env = {**BASE_ENV, c.ENV_ENTRYPOINT_NUM_CPUS: "0", c.ENV_METADATA: "{}", c.ENV_RUNTIME_ENV: ""}

    assert load_config(["--", "true"], env).request.to_json() == {"entrypoint": "true", "submission_id": "job-1"}


@pytest.mark.parametrize(
    ("words", "entrypoint"),
    [
        (["echo hi && ls; `x` $Y\nz"], "echo hi && ls; `x` $Y\nz"),  # one word: as is
        (["echo", "a  b", "c"], "echo a  b c"),  # several: single spaces, like KubeRay
        (["  padded  "], "  padded  "),
    ],
)
def test_entrypoint_assembly(words: list[str], entrypoint: str) -> None:
    assert assemble_entrypoint(words) == entrypoint
    assert load_config(["--", *words], BASE_ENV).request.entrypoint == entrypoint


def test_positional_entrypoint_without_separator() -> None:
    assert load_config(["--metadata-json", "{}", "echo", "hi"], BASE_ENV).request.entrypoint == "echo hi"


def test_split_argv_keeps_later_separators_in_the_entrypoint() -> None:
    assert split_argv(["--address", "x", "--", "a", "--", "-b"]) == (["--address", "x"], ["a", "--", "-b"])
    assert split_argv(["--address", "x"]) == (["--address", "x"], None)


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        ([], BASE_ENV, "no entrypoint"),
        (["--", "   "], BASE_ENV, "no entrypoint"),
        (["echo", "--", "echo"], BASE_ENV, "once"),
        (["--", "x"], {c.ENV_SUBMISSION_ID: "j"}, "no dashboard address"),
        (["--", "x"], {c.ENV_DASHBOARD_ADDRESS: "h:1"}, "no submission id"),
        (["--", "x"], {**BASE_ENV, c.ENV_SUBMISSION_ID: "a/b"}, "can never be stopped"),
        (["--", "x"], {**BASE_ENV, c.ENV_SUBMISSION_ID: "x" * 201}, "1-200 characters"),
        (["--address", "ftp://h:1", "--", "x"], BASE_ENV, "invalid dashboard address"),
        (["--entrypoint-num-cpus", "-1", "--", "x"], BASE_ENV, ">= 0"),
        (["--entrypoint-num-gpus", "many", "--", "x"], BASE_ENV, "not a number"),
        (["--entrypoint-memory", "1.5", "--", "x"], BASE_ENV, "integer"),
        (["--runtime-env-json", "env_vars: {}", "--", "x"], BASE_ENV, "not valid JSON"),
        (["--runtime-env-json", "[1]", "--", "x"], BASE_ENV, "expected an object"),
        (["--metadata-json", '{"n": 1}', "--", "x"], BASE_ENV, "must be strings"),
        (["--entrypoint-resources", '{"w": "1"}', "--", "x"], BASE_ENV, "must be a number"),
        (["--poll-interval-seconds", "0", "--", "x"], BASE_ENV, "must be > 0"),
    ],
)
def test_invalid_input(argv: list[str], env: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_config(argv, env)


@pytest.mark.parametrize("submission_id", ["ok.id:with-chars_1@x", "a", "x" * 200, "rayjob-sample-abcde"])
def test_valid_submission_ids(submission_id: str) -> None:
    assert c.submission_id_problem(submission_id) is None


@pytest.mark.parametrize("submission_id", ["", "a/b", "a b", "a?b", "x" * 201, "é"])
def test_invalid_submission_ids(submission_id: str) -> None:
    problem = c.submission_id_problem(submission_id)
    assert problem is not None
    assert "[A-Za-z0-9._:@-]" in problem


@pytest.mark.parametrize(
    ("address", "url"),
    [
        ("h:8265", "http://h:8265"),
        ("http://h:8265/", "http://h:8265"),
        ("HTTPS://h:8265", "HTTPS://h:8265"),
        (" 10.0.0.1:8265 ", "http://10.0.0.1:8265"),
    ],
)
def test_normalize_address(address: str, url: str) -> None:
    assert normalize_address(address) == url


def test_number_parsers() -> None:
    assert parse_number("n", "") is None
    assert parse_number("n", "1.000000") == 1.0
    assert parse_memory("m", "") is None
    assert parse_memory("m", "2048") == 2048
    for bad in ("nan", "inf", "-0.5"):
        with pytest.raises(InputError):
            parse_number("n", bad)


def test_structured_parsers() -> None:
    assert parse_runtime_env("r", '{"a": 1}', allow_yaml=False) == {"a": 1}
    assert parse_runtime_env("r", "a: 1\nb: [x]\n", allow_yaml=True) == {"a": 1, "b": ["x"]}
    assert parse_runtime_env("r", "null", allow_yaml=True) is None
    with pytest.raises(InputError, match="neither valid JSON nor valid YAML"):
        parse_runtime_env("r", "a: [1", allow_yaml=True)
    assert parse_metadata("m", "") is None
    assert parse_resources("r", '{"a": 0.5, "b": 3}') == {"a": 0.5, "b": 3}
    with pytest.raises(InputError):
        parse_resources("r", '{"a": true}')


def test_token_precedence(tmp_path: Path) -> None:
    flag_file = tmp_path / "flag"
    flag_file.write_text("from-flag\n")
    env_file = tmp_path / "env"
    env_file.write_text("  from-path  ")

    assert read_token(str(flag_file), {c.ENV_AUTH_TOKEN: "from-env"}) == "from-flag"
    assert read_token(None, {c.ENV_AUTH_TOKEN: "from-env", c.ENV_AUTH_TOKEN_PATH: str(env_file)}) == "from-env"
    assert read_token(None, {c.ENV_AUTH_TOKEN_PATH: str(env_file)}) == "from-path"
    assert read_token(None, {}) is None
    with pytest.raises(InputError, match="cannot read the token file"):
        read_token(str(tmp_path / "missing"), {})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(InputError, match="is empty"):
        read_token(str(tmp_path / "empty"), {})


def test_request_body_keeps_the_entrypoint_verbatim() -> None:
    entrypoint = "echo 'a'  \"b\" $C && d; `e`\n"
    assert JobRequest("id", entrypoint).to_json() == {"entrypoint": entrypoint, "submission_id": "id"}
