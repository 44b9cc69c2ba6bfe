"""Service processes for system and API-contract tests: started from their console scripts exactly as
in production, waited for until ready, stopped with SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from starlette.types import ASGIApp

from clinic_shared.testing.messaging import eventually
from clinic_shared.testing.unhandled import RECORD

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServiceProcess:
    name: str
    port: int
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text()[-chars:]


def start(script: str, *, port: int, env: Mapping[str, str], logs: Path) -> ServiceProcess:
    """Run console script `script` (e.g. `booking-api`) from this virtualenv, logging to `logs`."""
    log = logs / f"{script}.log"
    RECORD.service_logs.append(log)  # read at the end of the run for unhandled errors
    return start_command(script, [str(BIN / script)], port=port, env=env, log=log)


def start_command(name: str, command: Sequence[str], *, port: int, env: Mapping[str, str], log: Path) -> ServiceProcess:
    """Run a program of the platform's (nginx for the gateway, say) as a process, logging to `log`."""
    with log.open("wb") as output:
        # Our own programs, with arguments we build: no shell and no outside input.
        popen = subprocess.Popen(list(command), env=dict(env), stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
    return ServiceProcess(name=name, port=port, popen=popen, log=log)


async def wait_until_ready(processes: Iterable[ServiceProcess], *, timeout_s: float = 60) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        for process in processes:

            async def ready(process: ServiceProcess = process) -> bool:
                if process.popen.poll() is not None:
                    message = f"{process.name} exited with {process.popen.returncode}:\n{process.log_tail()}"
                    raise AssertionError(message)
                try:
                    return (await client.get(f"{process.url}/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, timeout_s=timeout_s, what=f"{process.name} to be ready")


def stop(processes: Iterable[ServiceProcess], *, timeout_s: float = 15) -> None:
    running = [p for p in processes if p.popen.poll() is None]
    for process in running:
        process.popen.send_signal(signal.SIGTERM)
    for process in running:
        try:
            process.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.popen.kill()


@contextmanager
def serving_in_thread(app: ASGIApp, *, name: str = "app") -> Iterator[str]:
    """`app` served on a free port of 127.0.0.1 in a thread of this process until the block ends, for
    a peer that must be reached over real HTTP (a fake provider, a page in a browser). Its lifespan is
    not run: the app is expected to be ready when built."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name=f"{name}-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
