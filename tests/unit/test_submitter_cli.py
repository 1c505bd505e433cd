"""rayjob-submit's entry point in-process: --help, usage errors, invalid input (nothing is sent)."""

from __future__ import annotations

import pytest

from rayjob_submitter import cli
from rayjob_submitter import contract as c
from rayjob_submitter.contract import ExitCode


def test_help_documents_every_input_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    text = capsys.readouterr().out

    env_vars = [value for name, value in vars(c).items() if name.startswith("ENV_")]
    flags = [value for name, value in vars(c).items() if name.startswith("FLAG_")]
    assert len(env_vars) >= 15
    for name in (*env_vars, *flags):
        assert name in text, name
    for code in ExitCode:
        assert f"  {int(code)}  " in text
    assert "KubeRay" in text


def test_invalid_id_exits_2_before_sending(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(c.ENV_DASHBOARD_ADDRESS, "127.0.0.1:1")
    monkeypatch.setenv(c.ENV_SUBMISSION_ID, "a/b")

    assert cli.main(["--", "echo x"]) == ExitCode.INVALID_INPUT
    err = capsys.readouterr().err
    assert "rayjob-submit: error: RAY_JOB_SUBMISSION_ID: invalid submission id 'a/b'" in err
    assert "waiting for the Ray dashboard" not in err


def test_unknown_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--no-such-flag", "--", "x"]) == ExitCode.INVALID_INPUT
    assert "unrecognized arguments" in capsys.readouterr().err


def test_missing_address_exits_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(c.ENV_DASHBOARD_ADDRESS, raising=False)
    monkeypatch.setenv(c.ENV_SUBMISSION_ID, "ok")

    assert cli.main(["--", "echo x"]) == ExitCode.INVALID_INPUT
    assert "no dashboard address: set RAY_DASHBOARD_ADDRESS" in capsys.readouterr().err
