"""CPU time of the processes on the path, read from /proc around each measurement: which process the
page's time goes to (the gateway, the web service, the booking API, PostgreSQL's backends)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; everything after its closing parenthesis splits cleanly.
    return text[text.rindex(")") + 2 :].split()


def _cpu_s(pid: int) -> float:
    fields = _stat(pid)
    # utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    return (int(fields[11]) + int(fields[12])) * TICK_S if fields else 0.0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def tree(pid: int) -> list[int]:
    """A process and its children (nginx: the master and its worker)."""
    return [pid, *_children(pid)]


class Meter:
    """CPU seconds per named group of processes; `pids_of` is asked again at every reading, so
    processes that come and go (PostgreSQL backends) are counted from when they are first seen."""

    def __init__(self, groups: Mapping[str, Iterable[int]]) -> None:
        self.fixed = {name: tuple(pids) for name, pids in groups.items()}

    def read(self, extra: Mapping[str, Iterable[int]] | None = None) -> dict[str, dict[int, float]]:
        groups = {**{name: [q for p in pids for q in tree(p)] for name, pids in self.fixed.items()}, **(extra or {})}
        return {name: {pid: _cpu_s(pid) for pid in pids} for name, pids in groups.items()}


def used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds each group used between two readings (a process first seen after counts whole)."""
    return {
        name: round(sum(cpu - before.get(name, {}).get(pid, 0.0) for pid, cpu in pids.items()), 3)
        for name, pids in after.items()
    }
