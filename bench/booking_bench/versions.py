"""Versions and placement recorded with every result (PERFORMANCE.md: record versions)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import asyncpg

PACKAGES = (
    "uvicorn", "uvloop", "httptools", "fastapi", "starlette", "pydantic", "sqlalchemy", "asyncpg",
    "aiohttp", "hdrhistogram", "matplotlib",
)  # fmt: skip


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _command(*args: str) -> str:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False)  # noqa: S603
    except OSError as error:
        return f"unavailable ({error})"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


async def collect(connection: asyncpg.Connection, repo: Path) -> dict[str, Any]:
    settings = {
        name: await connection.fetchval(f"SHOW {name}")
        for name in ("synchronous_commit", "fsync", "shared_buffers", "max_connections", "jit")
    }
    dirty = _command("git", "-C", str(repo), "status", "--porcelain")
    return {
        "postgresql": await connection.fetchval("SELECT version()"),
        "postgresql_settings": settings,
        "python": sys.version.split()[0],
        "packages": {name: _package(name) for name in PACKAGES},
        "wrk": _command("wrk", "--version"),
        "rabbitmq": "not used (booking API only; the outbox is written, not relayed)",
        "kernel": platform.release(),
        "cpu": _cpu(),
        "cpus": os.cpu_count(),
        # Other work on the machine during the run (1, 5, 15 min): the usual cause of a rejected run.
        "load_average_at_start": os.getloadavg(),
        "git_head": _command("git", "-C", str(repo), "rev-parse", "HEAD"),
        "git_worktree_dirty": bool(dirty),
    }
