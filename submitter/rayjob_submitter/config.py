"""Turns argv and the environment into a validated :class:`SubmitConfig` (pure: no I/O but the token file).

Every problem found here is reported as :class:`InputError` (exit code 2) before anything is sent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rayjob_submitter import contract as c


class InputError(Exception):
    """Invalid input: reported on one line, exit code 2."""


JobRequest = c.SubmitRequest
"""What is sent to ``POST /api/jobs/``: the contract's model, shared with the operator."""


@dataclass(frozen=True)
class Settings:
    """How the submitter talks to the dashboard."""

    base_url: str
    token: str | None = None
    wait_seconds: float = c.DEFAULT_WAIT_SECONDS
    grace_seconds: float = c.DEFAULT_GRACE_SECONDS
    poll_seconds: float = c.DEFAULT_POLL_SECONDS
    http_timeout: float = c.DEFAULT_HTTP_TIMEOUT


@dataclass(frozen=True)
class SubmitConfig:
    request: JobRequest
    settings: Settings


# --- small parsers ------------------------------------------------------------------------------------


def normalize_address(address: str) -> str:
    """``host:port`` or ``http(s)://host:port[/]`` → ``http(s)://host:port`` (no trailing slash)."""
    text = address.strip().rstrip("/")
    if not text:
        raise InputError(f"the dashboard address is empty: set {c.ENV_DASHBOARD_ADDRESS} or {c.FLAG_ADDRESS}")
    if "://" not in text:
        text = "http://" + text
    scheme = text.split("://", 1)[0].lower()
    if scheme not in ("http", "https") or text.endswith("://"):
        raise InputError(f"invalid dashboard address {address!r}: expected host:port or http://host:port")
    return text


def parse_number(name: str, text: str) -> float | None:
    """A finite number ≥ 0 (``"1"``, ``"0.5"``, KubeRay's ``"1.000000"``); empty → None."""
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{name}: {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{name}: {text!r} must be a finite number >= 0")
    return value


def parse_memory(name: str, text: str) -> int | None:
    """Bytes as an integer ≥ 0 (Ray rejects floats); empty → None."""
    if not text.strip():
        return None
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"{name}: {text!r} is not an integer number of bytes") from None
    if value < 0:
        raise InputError(f"{name}: {text!r} must be >= 0")
    return value


def _load_json_object(name: str, text: str) -> dict[str, Any] | None:
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{name}: not valid JSON ({error})") from None
    return _require_object(name, value)


def _require_object(name: str, value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise InputError(f"{name}: expected an object with string keys, got {type(value).__name__}")
    return value


def parse_runtime_env(name: str, text: str, *, allow_yaml: bool) -> dict[str, Any] | None:
    """A runtime env given as JSON, or (``allow_yaml``) as YAML, which is a superset of JSON."""
    if not allow_yaml or not text.strip():
        return _load_json_object(name, text)
    try:
        return _load_json_object(name, text)
    except InputError:
        pass
    try:
        import yaml
    except ImportError:
        raise InputError(f"{name}: not valid JSON, and PyYAML is not installed to read YAML") from None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        summary = " ".join(str(error).split())
        raise InputError(f"{name}: neither valid JSON nor valid YAML ({summary})") from None
    return _require_object(name, value)


def parse_metadata(name: str, text: str) -> dict[str, str] | None:
    """A JSON object whose values are all strings (Ray answers 400 otherwise)."""
    value = _load_json_object(name, text)
    if value is None:
        return None
    bad = sorted(key for key, item in value.items() if not isinstance(item, str))
    if bad:
        raise InputError(f"{name}: metadata values must be strings (not for {', '.join(bad)})")
    return {key: str(item) for key, item in value.items()}


def parse_resources(name: str, text: str) -> dict[str, float] | None:
    """A JSON object of custom resource name → finite number ≥ 0."""
    value = _load_json_object(name, text)
    if value is None:
        return None
    for key, amount in value.items():
        is_number = isinstance(amount, int | float) and not isinstance(amount, bool)
        if not is_number or not math.isfinite(amount) or amount < 0:
            raise InputError(f"{name}: resource {key!r} must be a number >= 0, got {amount!r}")
    return value


def assemble_entrypoint(words: Sequence[str]) -> str:
    """The entrypoint from argv words: one word as is, several joined by single spaces (as KubeRay)."""
    return words[0] if len(words) == 1 else " ".join(words)


def split_argv(argv: Sequence[str]) -> tuple[list[str], list[str] | None]:
    """(options, entrypoint words after the first ``--``, or None when there is no ``--``)."""
    items = list(argv)
    if c.ENTRYPOINT_SEPARATOR not in items:
        return items, None
    index = items.index(c.ENTRYPOINT_SEPARATOR)
    return items[:index], items[index + 1 :]


def read_token(token_file: str | None, environ: Mapping[str, str]) -> str | None:
    """The token: ``--token-file``, else ``RAY_AUTH_TOKEN``, else the file in ``RAY_AUTH_TOKEN_PATH``."""
    if not token_file and environ.get(c.ENV_AUTH_TOKEN, "").strip():
        return environ[c.ENV_AUTH_TOKEN].strip()
    path = token_file or environ.get(c.ENV_AUTH_TOKEN_PATH, "")
    if not path:
        return None
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise InputError(f"cannot read the token file {path}: {error.strerror or error}") from None
    if not token:
        raise InputError(f"the token file {path} is empty")
    return token
