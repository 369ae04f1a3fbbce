"""Processes as /proc shows them: the descendants of a process and whether any of them survive."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Dict, Iterable, List, NamedTuple, Set


class Proc(NamedTuple):
    pid: int
    ppid: int
    pgid: int
    state: str
    cmdline: str


def processes() -> Dict[int, Proc]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # exited meanwhile
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2:].split()
        found[int(entry.name)] = Proc(int(entry.name), int(fields[1]), int(fields[2]), fields[0], cmdline)
    return found


def descendants(root: int) -> List[Proc]:
    table = processes()
    children: Dict[int, List[int]] = {}
    for proc in table.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if pid in table:
            found.append(table[pid])
            todo.extend(children.get(pid, []))
    return found


def alive(pids: Iterable[int] = (), pgids: Iterable[int] = ()) -> List[Proc]:
    """The processes (zombies excepted) with one of these PIDs or in one of these process groups."""
    pids, pgids = set(pids), set(pgids)
    return [p for p in processes().values() if p.state != "Z" and (p.pid in pids or p.pgid in pgids)]


def wait_until_gone(pids: Set[int], pgids: Set[int], timeout: float) -> List[Proc]:
    deadline = time.monotonic() + timeout
    while True:
        left = alive(pids, pgids)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def as_terminal_job() -> None:
    """For preexec_fn: SIGINT at its default in the child, as for a terminal's
    foreground job (a test runner started in the background has it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
