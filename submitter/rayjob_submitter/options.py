"""The command line of ``rayjob-submit``: flags, their env vars, ``--help``, and :func:`load_config`."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rayjob_submitter import config as cfg
from rayjob_submitter import contract as c


@dataclass(frozen=True)
class Option:
    flag: str
    env: str | None
    metavar: str
    help: str

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    Option(c.FLAG_ADDRESS, c.ENV_DASHBOARD_ADDRESS, "HOST:PORT", "dashboard address, http:// optional"),
    Option(c.FLAG_SUBMISSION_ID, c.ENV_SUBMISSION_ID, "ID", "submission id, [A-Za-z0-9._:@-]{1,200}"),
    Option(c.FLAG_RUNTIME_ENV_JSON, None, "JSON", "runtime env as a JSON object (KubeRay's flag)"),
    Option(c.FLAG_RUNTIME_ENV, c.ENV_RUNTIME_ENV, "YAML", "runtime env as YAML or JSON"),
    Option(c.FLAG_METADATA_JSON, c.ENV_METADATA, "JSON", "metadata, a JSON object of strings"),
    Option(c.FLAG_ENTRYPOINT_NUM_CPUS, c.ENV_ENTRYPOINT_NUM_CPUS, "N", "CPUs for the entrypoint"),
    Option(c.FLAG_ENTRYPOINT_NUM_GPUS, c.ENV_ENTRYPOINT_NUM_GPUS, "N", "GPUs for the entrypoint"),
    Option(c.FLAG_ENTRYPOINT_MEMORY, c.ENV_ENTRYPOINT_MEMORY, "BYTES", "memory for the entrypoint"),
    Option(c.FLAG_ENTRYPOINT_RESOURCES, c.ENV_ENTRYPOINT_RESOURCES, "JSON", "custom resources, JSON"),
    Option(c.FLAG_TOKEN_FILE, c.ENV_AUTH_TOKEN_PATH, "PATH", "file holding the dashboard token"),
    Option(c.FLAG_WAIT_SECONDS, c.ENV_WAIT_SECONDS, "S", "how long to wait for the dashboard"),
    Option(c.FLAG_GRACE_SECONDS, c.ENV_GRACE_SECONDS, "S", "how long the dashboard may be lost mid-job"),
    Option(c.FLAG_POLL_SECONDS, c.ENV_POLL_SECONDS, "S", "status and log poll interval"),
    Option(c.FLAG_HTTP_TIMEOUT, c.ENV_HTTP_TIMEOUT, "S", "timeout of one HTTP request"),
)

_DEFAULTS = {
    c.FLAG_WAIT_SECONDS: c.DEFAULT_WAIT_SECONDS,
    c.FLAG_GRACE_SECONDS: c.DEFAULT_GRACE_SECONDS,
    c.FLAG_POLL_SECONDS: c.DEFAULT_POLL_SECONDS,
    c.FLAG_HTTP_TIMEOUT: c.DEFAULT_HTTP_TIMEOUT,
}


def _epilog() -> str:
    lines = [
        "The entrypoint is the words after '--' (several words are joined with single spaces; one",
        f"word is used as is), or else ${c.ENV_ENTRYPOINT}. It reaches Ray byte for byte: no shell on",
        "this side; Ray runs it with /bin/sh -c. A flag wins over its env var.",
        "",
        f"The token comes from {c.FLAG_TOKEN_FILE}, else ${c.ENV_AUTH_TOKEN}, else the file named by",
        f"${c.ENV_AUTH_TOKEN_PATH}; it is sent as 'Authorization: Bearer <token>'. HTTP_PROXY and",
        "NO_PROXY are honoured.",
        "",
        "The job is submitted once: if its submission id exists already (a retried pod), the",
        "submitter attaches to it instead. It then prints the job's logs until the job ends, and a",
        "final status line. SIGTERM/SIGINT exit at once and leave the Ray job running.",
        "",
        "exit codes:",
    ]
    lines += [f"  {int(code)}  {text}" for code, text in c.EXIT_CODE_HELP.items()]
    lines += ["  128+N  terminated by signal N (the Ray job keeps running)"]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rayjob-submit",
        usage="rayjob-submit [options] [--] ENTRYPOINT...",
        description="Submit one Ray job through the dashboard REST API and follow it to the end.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for option in OPTIONS:
        env = f" [env {option.env}]" if option.env else ""
        default = _DEFAULTS.get(option.flag)
        shown = f" (default {default:g})" if default is not None else ""
        parser.add_argument(option.flag, dest=option.dest, metavar=option.metavar, help=option.help + shown + env)
    parser.add_argument("words", nargs="*", metavar="ENTRYPOINT", help="the entrypoint (better after --)")
    return parser


@dataclass(frozen=True)
class _Inputs:
    """Parsed flags plus the environment; :meth:`get` applies "a flag wins over its env var"."""

    flags: Mapping[str, str | None]
    environ: Mapping[str, str]

    def get(self, flag: str) -> tuple[str, str]:
        """(name to report, text): the flag if given, else its env var, else ''."""
        option = _option(flag)
        given = self.flags.get(option.dest)
        if given is not None:
            return option.flag, given
        if option.env and option.env in self.environ:
            return option.env, self.environ[option.env]
        return option.flag, ""

    def seconds(self, flag: str) -> float:
        parsed = cfg.parse_number(*self.get(flag))
        return _DEFAULTS[flag] if parsed is None else parsed


def _option(flag: str) -> Option:
    return next(item for item in OPTIONS if item.flag == flag)


def _entrypoint(positional: list[str], after_separator: list[str] | None, environ: Mapping[str, str]) -> str:
    if positional and after_separator:
        raise cfg.InputError("give the entrypoint once, after '--'")
    words = after_separator or positional
    entrypoint = cfg.assemble_entrypoint(words) if words else environ.get(c.ENV_ENTRYPOINT, "")
    if not entrypoint.strip():
        raise cfg.InputError(f"no entrypoint: give it after '--' or in {c.ENV_ENTRYPOINT}")
    return entrypoint


def _submission_id(name: str, text: str) -> str:
    if not text:
        raise cfg.InputError(f"no submission id: set {c.ENV_SUBMISSION_ID} or {c.FLAG_SUBMISSION_ID}")
    problem = c.submission_id_problem(text)
    if problem:
        raise cfg.InputError(f"{name}: {problem}")
    return text


def _runtime_env(inputs: _Inputs) -> dict[str, object] | None:
    """``--runtime-env-json`` (JSON only, KubeRay's flag), else ``--runtime-env``/its env var (YAML)."""
    json_flag = inputs.flags.get(_option(c.FLAG_RUNTIME_ENV_JSON).dest)
    if json_flag is not None:
        return cfg.parse_runtime_env(c.FLAG_RUNTIME_ENV_JSON, json_flag, allow_yaml=False)
    return cfg.parse_runtime_env(*inputs.get(c.FLAG_RUNTIME_ENV), allow_yaml=True)


def _request(inputs: _Inputs, entrypoint: str) -> cfg.JobRequest:
    return cfg.JobRequest(
        submission_id=_submission_id(*inputs.get(c.FLAG_SUBMISSION_ID)),
        entrypoint=entrypoint,
        runtime_env=_runtime_env(inputs),
        metadata=cfg.parse_metadata(*inputs.get(c.FLAG_METADATA_JSON)),
        entrypoint_num_cpus=cfg.parse_number(*inputs.get(c.FLAG_ENTRYPOINT_NUM_CPUS)),
        entrypoint_num_gpus=cfg.parse_number(*inputs.get(c.FLAG_ENTRYPOINT_NUM_GPUS)),
        entrypoint_memory=cfg.parse_memory(*inputs.get(c.FLAG_ENTRYPOINT_MEMORY)),
        entrypoint_resources=cfg.parse_resources(*inputs.get(c.FLAG_ENTRYPOINT_RESOURCES)),
    )


def _settings(inputs: _Inputs) -> cfg.Settings:
    _, address = inputs.get(c.FLAG_ADDRESS)
    if not address.strip():
        raise cfg.InputError(f"no dashboard address: set {c.ENV_DASHBOARD_ADDRESS} or {c.FLAG_ADDRESS}")
    settings = cfg.Settings(
        base_url=cfg.normalize_address(address),
        token=cfg.read_token(inputs.flags.get(_option(c.FLAG_TOKEN_FILE).dest), inputs.environ),
        wait_seconds=inputs.seconds(c.FLAG_WAIT_SECONDS),
        grace_seconds=inputs.seconds(c.FLAG_GRACE_SECONDS),
        poll_seconds=inputs.seconds(c.FLAG_POLL_SECONDS),
        http_timeout=inputs.seconds(c.FLAG_HTTP_TIMEOUT),
    )
    if settings.poll_seconds <= 0 or settings.http_timeout <= 0:
        raise cfg.InputError("the poll interval and the HTTP timeout must be > 0")
    return settings


def load_config(argv: Sequence[str], environ: Mapping[str, str]) -> cfg.SubmitConfig:
    """Parse argv and env. Raises :class:`config.InputError`; ``--help`` and usage errors raise SystemExit."""
    options, after_separator = cfg.split_argv(argv)
    namespace = build_parser().parse_args(options)
    inputs = _Inputs({option.dest: getattr(namespace, option.dest) for option in OPTIONS}, environ)
    entrypoint = _entrypoint(list(namespace.words), after_separator, environ)
    return cfg.SubmitConfig(request=_request(inputs, entrypoint), settings=_settings(inputs))
