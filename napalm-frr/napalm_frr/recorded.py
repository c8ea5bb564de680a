"""Recorded device output: record a real router once, replay it in tests without a device.

Layout (one directory per method and case)::

    tests/fixtures/frr/<method>/<case>/<command>.txt   what the device answered
    tests/fixtures/frr/<method>/<case>/args.json       keyword arguments of the call (optional)
    tests/fixtures/frr/<method>/<case>/expected.json   what the driver must return
    tests/fixtures/frr/<method>/<case>/host            the address it was recorded from (in messages)

A command's file name is the command with every non-alphanumeric character replaced by ``_``
(NAPALM's convention); a command asked again gets ``.2.txt``, ``.3.txt`` ... in order. One-shot
commands store their stdout; stderr, if any, goes to ``<command>.stderr`` and a non-zero exit
status to ``<command>.rc``. Every ``ping`` shares
``ping.txt``, so the shared NAPALM suite's fixed destination needs no recording of its own.

Record a case against a live router::

    python -m napalm_frr.recorded HOST get_facts normal --known-hosts FILE
    python -m napalm_frr.recorded HOST get_route_to bgp --args '{"destination": "198.18.8.0/24"}'
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import shlex
import sys
from collections import Counter
from pathlib import Path

from napalm.base.exceptions import ConnectionException

from napalm_frr.connection import HELPER_COMMAND, HELPER_VERBS, Connection, ExecResult

DEFAULT_ROOT = Path("tests/fixtures/frr")


def fixture_name(command: str) -> str:
    """File stem for a command: ``show ip route json`` → ``show_ip_route_json``."""
    if command.split()[0] == "ping":
        return "ping"
    return re.sub(r"[^a-zA-Z0-9]", "_", command)[:150]


class RecordedConnection:
    """A fake device that answers from a fixture directory (and fails loudly on anything else)."""

    def __init__(self, case_dir: Path) -> None:
        self.case_dir = case_dir
        self.asked: Counter[str] = Counter()
        self.calls: list[tuple[str, str]] = []
        self.alive = True

    def _read(self, command: str) -> tuple[str, str, int]:
        stem = fixture_name(command)
        self.asked[stem] += 1
        n = self.asked[stem]
        candidates = [f"{stem}.{n}" if n > 1 else stem] + [f"{stem}.{k}" for k in range(n - 1, 1, -1)] + [stem]
        for name in candidates:
            path = self.case_dir / f"{name}.txt"
            if path.exists():
                rc, err = path.with_suffix(".rc"), path.with_suffix(".stderr")
                stderr = err.read_text() if err.exists() else ""
                return path.read_text(), stderr, int(rc.read_text()) if rc.exists() else 0
        raise OSError(f"no recorded output for {command!r}: {self.case_dir / (stem + '.txt')}")

    def send_command(self, command: str) -> str:
        self.calls.append((command, ""))
        return self._read(command)[0]

    def run(self, command: str, stdin: str = "", timeout: float = 60.0) -> ExecResult:
        self.calls.append((command, stdin))
        stdout, stderr, rc = self._read(command)
        return ExecResult(rc, stdout, stderr)

    def helper_request(self, argv: list[str], stdin: str = "", timeout: float = 60.0) -> str:
        """The helper's verbs as its session answers them: a verb it does not have is refused (exit 2), ``show``
        answers each command from its recorded vtysh output, the others from the recorded reply to
        ``napalm-frr-helper VERB ARGS`` (a recording without a JSON line: the session ended)."""
        if not self.alive:
            raise ConnectionException("the SSH connection is closed")
        if not argv or argv[0] not in HELPER_VERBS:
            verb = argv[0] if argv else ""
            return json.dumps({"ok": False, "error": f"usage: unknown verb {verb!r}", "exit": 2})
        command = " ".join([HELPER_COMMAND, *(shlex.quote(a) for a in argv)])
        self.calls.append((command, stdin))
        if argv[0] == "show":
            outputs = []
            for command in json.loads(stdin):
                output = self._read(command)[0]
                if output.lstrip().startswith("%"):  # as the helper's vtysh refuses it
                    return json.dumps({"ok": False, "error": f"vtysh {command!r} failed: {output.strip()}", "exit": 1})
                outputs.append(output)
            return json.dumps({"ok": True, "outputs": outputs, "exit": 0})
        stdout, stderr, rc = self._read(command)
        lines = stdout.strip().splitlines()
        if not lines or not lines[-1].startswith("{"):
            detail = (stdout + stderr).strip().splitlines()
            raise ConnectionException("the helper session ended" + (f": {detail[-1]}" if detail else ""))
        return json.dumps({**json.loads(lines[-1]), "exit": rc})

    def is_alive(self) -> bool:
        return self.alive

    def close(self) -> None:
        self.alive = False


class RecordingConnection:
    """Wraps a live connection and writes every answer into a fixture directory."""

    def __init__(self, inner: Connection, case_dir: Path) -> None:
        self.inner = inner
        self.case_dir = case_dir
        self.asked: Counter[str] = Counter()
        case_dir.mkdir(parents=True, exist_ok=True)

    def _save(self, command: str, text: str, rc: int = 0, stderr: str = "") -> None:
        stem = fixture_name(command)
        self.asked[stem] += 1
        name = stem if self.asked[stem] == 1 else f"{stem}.{self.asked[stem]}"
        (self.case_dir / f"{name}.txt").write_text(text)
        if rc:
            (self.case_dir / f"{name}.rc").write_text(f"{rc}\n")
        if stderr:
            (self.case_dir / f"{name}.stderr").write_text(stderr)

    def send_command(self, command: str) -> str:
        output = self.inner.send_command(command)
        self._save(command, output)
        return output

    def run(self, command: str, stdin: str = "", timeout: float = 60.0) -> ExecResult:
        result = self.inner.run(command, stdin, timeout)
        self._save(command, result.stdout, result.exit_status, result.stderr)
        return result

    def helper_request(self, argv: list[str], stdin: str = "", timeout: float = 60.0) -> str:
        """Saved as the one-shot ``napalm-frr-helper VERB ARGS`` reply (``exit`` as its .rc) the fake serves."""
        line = self.inner.helper_request(argv, stdin, timeout)
        reply = json.loads(line)
        if argv[:1] == ["show"]:
            for command, output in zip(json.loads(stdin), reply.get("outputs", []), strict=False):
                self._save(command, output)
        else:
            command = " ".join([HELPER_COMMAND, *(shlex.quote(a) for a in argv)])
            self._save(
                command, json.dumps({k: v for k, v in reply.items() if k != "exit"}) + "\n", reply.get("exit", 0)
            )
        return line

    def is_alive(self) -> bool:
        return self.inner.is_alive()

    def close(self) -> None:
        self.inner.close()


def main(argv: list[str] | None = None) -> int:
    """Record one getter case (or a sequence of calls with --steps) from a live router."""
    from napalm_frr.frr import FRRDriver

    parser = argparse.ArgumentParser(prog="python -m napalm_frr.recorded", description=main.__doc__)
    parser.add_argument("host")
    parser.add_argument("method")
    parser.add_argument("case")
    parser.add_argument("--args", default="{}", help="keyword arguments of the call, as JSON")
    parser.add_argument("--steps", default="", help='calls before the recorded one: [["method", {kwargs}], ...]')
    parser.add_argument("--known-hosts", default="")
    parser.add_argument("--username", default=getpass.getuser(), help="the login (default: yours)")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    opts = parser.parse_args(argv)
    driver = FRRDriver(
        opts.host,
        opts.username,
        os.environ.get("NAPALM_FRR_PASSWORD") or getpass.getpass(f"{opts.username}@{opts.host} password: "),
        optional_args={"known_hosts_file": opts.known_hosts} if opts.known_hosts else {},
    )
    driver.open()
    case_dir = opts.root / opts.method / opts.case
    assert driver.device is not None
    driver.device = RecordingConnection(driver.device, case_dir)
    try:
        for method, kwargs in json.loads(opts.steps or "[]"):
            getattr(driver, method)(**kwargs)
        kwargs = json.loads(opts.args)
        try:
            result = getattr(driver, opts.method)(**kwargs)
        except Exception as exc:  # the refusal is what this case records
            result = {"error": type(exc).__name__, "message": str(exc)}
    finally:
        driver.close()
    if kwargs:
        (case_dir / "args.json").write_text(json.dumps(kwargs, indent=2, sort_keys=True) + "\n")
    if opts.steps:
        (case_dir / "steps.json").write_text(opts.steps + "\n")
    (case_dir / "expected.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    (case_dir / "host").write_text(opts.host + "\n")  # the driver's hostname appears in its messages
    print(f"recorded {case_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
