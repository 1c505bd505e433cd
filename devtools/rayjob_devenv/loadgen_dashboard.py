"""The load-generator Ray dashboard: a benchmark fake that answers every head's dashboard as Ray would.

Operators reach it as their HTTP proxy (``HTTP_PROXY=http://127.0.0.1:<port>``): their absolute-form requests
for ``<head-svc>.<ns>.svc.cluster.local:8265/api/jobs/...`` all land here, whatever the cluster. Jobs and
counters live in :class:`rayjob_devenv.loadgen_model.LoadgenState`; this module only serves it (asyncio,
one process, loopback only) and carries out the chaos faults.

    python -m rayjob_devenv.loadgen_dashboard --port 18265 --duration 5 [--error-rate 0.05 ...]

Control paths (never counted): ``GET /_loadgen/stats`` (the counters as JSON), ``GET /_loadgen/healthz``.
A request with the header ``X-Loadgen-Client: <name>`` is counted for that client (default ``operator``);
the benchmark's stand-in for a K8sJobMode submitter sends ``submitter``. Each submission records its Host
header (the head Service it was addressed to), so a harness can tell which attempt's head accepted which id.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from rayjob_devenv.loadgen_model import Answer, ChaosConfig, Fault, LoadgenState

CONTROL_PREFIX = "/_loadgen/"
CLIENT_HEADER = "X-Loadgen-Client"
DEFAULT_CLIENT = "operator"
STATE_KEY = web.AppKey("loadgen_state", LoadgenState)


def _reset(request: web.Request) -> None:
    """Close the client's connection with a TCP RST (SO_LINGER 0), as a crashed server would."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _read_json(request: web.Request) -> Any:
    if not request.can_read_body:
        return None
    text = await request.text()
    try:
        return json.loads(text)
    except ValueError:
        return text


def _response(answer: Answer) -> web.Response:
    if answer.is_json:
        return web.json_response(answer.body)
    return web.Response(status=answer.status, text=str(answer.body), content_type="text/plain")


def make_app(
    state: LoadgenState, *, roll: Callable[[], float] = random.random, clock: Callable[[], float] = time.time
) -> web.Application:
    """The aiohttp application serving ``state``; ``roll`` draws chaos, ``clock`` gives epoch seconds."""

    async def handle(request: web.Request) -> web.StreamResponse:
        raw_path = request.rel_url.raw_path
        if raw_path.startswith(CONTROL_PREFIX):
            return _control(state, raw_path)
        body = await _read_json(request) if request.method in ("POST", "PUT") else None
        client = request.headers.get(CLIENT_HEADER, DEFAULT_CLIENT)
        answer = state.handle(
            request.method, raw_path, body, client=client, now=clock(), roll=roll(), host=request.host
        )
        if answer.fault is Fault.TIMEOUT:
            await asyncio.sleep(state.chaos.timeout_seconds)
            _reset(request)
        elif answer.fault is Fault.RESET:
            _reset(request)
        return _response(answer)

    app = web.Application()
    app[STATE_KEY] = state
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def _control(state: LoadgenState, raw_path: str) -> web.Response:
    if raw_path == CONTROL_PREFIX + "stats":
        return web.json_response(state.stats())
    if raw_path == CONTROL_PREFIX + "healthz":
        return web.Response(text="ok")
    return web.Response(status=404, text=f"unknown control path {raw_path}")


async def serve(state: LoadgenState, host: str, port: int, ready_file: Path | None, seed: int | None) -> None:
    """Serve until SIGTERM or SIGINT; write the bound port to ``ready_file`` once listening."""
    rng = random.Random(seed)
    runner = web.AppRunner(make_app(state, roll=rng.random), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    bound = runner.addresses[0][1]
    if ready_file is not None:
        ready_file.write_text(f"{bound}\n")
    print(f"loadgen dashboard on http://{host}:{bound} (jobs succeed {state.duration:g}s after submission)", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="loadgen_dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="bind address (loopback by default)")
    parser.add_argument("--port", type=int, default=0, help="port (0: a free one, see --ready-file)")
    parser.add_argument("--ready-file", type=Path, help="write the bound port here once listening")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds from submission to SUCCEEDED")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of job requests answered 500")
    parser.add_argument("--timeout-rate", type=float, default=0.0, help="share of job requests never answered")
    parser.add_argument("--reset-rate", type=float, default=0.0, help="share of job requests reset")
    parser.add_argument("--timeout-seconds", type=float, default=30.0, help="how long a timed-out request hangs")
    parser.add_argument("--seed", type=int, help="seed of the chaos draws (reproducible faults)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        chaos = ChaosConfig(
            error_rate=args.error_rate,
            timeout_rate=args.timeout_rate,
            reset_rate=args.reset_rate,
            timeout_seconds=args.timeout_seconds,
        )
        state = LoadgenState(duration=args.duration, chaos=chaos)
    except ValueError as error:
        raise SystemExit(f"loadgen_dashboard: {error}") from None
    asyncio.run(serve(state, args.host, args.port, args.ready_file, args.seed))


if __name__ == "__main__":
    main()
