"""The helper's verbs for one FRR instance, answered one request per process or as a session.

:class:`Helper` is one helper process: its FRR access and commits (what it keeps between requests), whether
it is the resident one, and the current request's stdin.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import types
from pathlib import Path

from napalm_frr.helper import VERSION, source_digest
from napalm_frr.helper import nft as nftables
from napalm_frr.helper.box import (
    Box,
    HelperError,
    UsageError,
    locked,
    open_box,
    pid_alive,
    read_pending,
    record,
    with_newline,
)
from napalm_frr.helper.commit import Commits, remember_checked, unchanged_since_applied
from napalm_frr.helper.frr import FRR, instance_uptime
from napalm_frr.helper.protocol import (
    COMMAND_PREFIXES,
    PING_OPTIONS,
    PING_VALUE,
    SHOW_COMMAND,
    TIMER,
    candidate_and_policy,
    parse_args,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

#: Where the box's NTP client config lives (a test points it elsewhere).
ETC_ENV = "NAPALM_FRR_HELPER_ETC"


class Helper:
    """One helper process for one instance."""

    def __init__(self, instance: str, resident: bool = False) -> None:
        self.instance = instance
        self.resident = resident
        self.frr = FRR()
        self.commits = Commits(self.frr)
        self._stdin: str | None = None

    def read_stdin(self) -> str:
        """The request's input: what the controller streamed over the SSH channel, or sent with a session line."""
        return sys.stdin.read() if self._stdin is None else self._stdin

    def verb_status(self, box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
        pending = read_pending(box)
        result: dict[str, Any] = {
            "instance": box.instance,
            "pending": pending is not None,
            "checkpoint": box.checkpoint.exists(),
            "helper": {"pid": os.getpid(), "resident": self.resident, "version": VERSION, "digest": source_digest()},
        }
        if pending:
            result.update(
                deadline=pending["deadline"],
                remaining=round(max(0.0, pending["deadline"] - time.time()), 1),
                message=pending["message"],
                timer_alive=pid_alive(pending.get("pid"), pending["token"], pending.get("started")),
            )
        return result

    def verb_checkpoint(self, box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
        with locked(box):
            self.commits.save_checkpoint(box)
            record(box, "checkpoint")
        return {"checkpoint": True}

    def verb_check(self, box: Box, args: types.SimpleNamespace) -> dict[str, Any]:
        """Parse a candidate without applying it; with ``--diff`` also the exact changes a replace would send.

        ``unchanged`` is true when the candidate is exactly the last one applied and the running config
        is exactly what applying it gave: nothing to parse or diff. ``--running`` adds the running config
        read for all this (the controller's backup), ``--with-nft`` reads ``{"config", "nft"}`` from stdin
        and adds the policy table as it runs and as the ruleset would make it. One request, one login.
        """
        candidate, nft = candidate_and_policy(self.read_stdin(), args.with_nft)
        running = self.frr.running_config(box)
        intended = with_newline(running + "\n" + candidate if args.merge else candidate)
        reply: dict[str, Any] = {"valid": True, "unchanged": False}
        if not args.merge and unchanged_since_applied(box, candidate, running):
            reply["unchanged"] = True
        else:
            problems = self.frr.syntax_problems_of(box, candidate)
            if problems:
                raise HelperError("candidate rejected", problems)
            remember_checked(box, intended)
            if args.diff:
                reply["diff"] = self.frr.diff_config(box, running, intended)
        if args.diff and reply["unchanged"]:
            reply["diff"] = ""
        if args.running:
            reply["running"] = running
        if nft is not None:
            listing = nftables.nft_running()
            reply["nft_running"] = listing
            unchanged = nftables.nft_unchanged_since_applied(box, nft, listing)
            reply["nft_intended"] = listing if unchanged else nftables.nft_canonical(nft)
        return reply

    def verb_replace(self, box: Box, args: types.SimpleNamespace) -> dict[str, Any]:
        # with --with-nft, stdin is {"config": FRR config, "nft": ruleset}: one commit, one checkpoint, one timer
        candidate, nft = candidate_and_policy(self.read_stdin(), args.with_nft)
        if not candidate.strip():
            raise HelperError("empty candidate: refusing to replace the config with nothing")
        with locked(box):
            return self.commits.apply_candidate(box, candidate, args.revert_in, args.message, nft)

    def verb_nft_apply(self, box: Box, args: types.SimpleNamespace) -> dict[str, Any]:
        script = self.read_stdin()
        if not script.strip():
            raise HelperError("empty ruleset: refusing to apply nothing")
        with locked(box):
            return self.commits.apply_candidate(box, None, args.revert_in, args.message, script)

    def verb_nft_diff(self, box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
        """Running policy table and the one the ruleset on stdin would give, both as nft lists them."""
        return {"running": nftables.nft_running(), "intended": nftables.nft_canonical(self.read_stdin())}

    def verb_merge(self, box: Box, args: types.SimpleNamespace) -> dict[str, Any]:
        lines = self.read_stdin()
        with locked(box):
            return self.commits.apply_candidate(box, lines, args.revert_in, args.message, merge=True)

    def verb_arm(self, box: Box, args: types.SimpleNamespace) -> dict[str, Any]:
        with locked(box):
            if read_pending(box) is not None:
                raise HelperError("a revert timer is already armed")
            pending = self.commits.arm(box, args.seconds, args.message)
        return {"pending": True, "deadline": pending["deadline"]}

    def verb_confirm(self, box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
        with locked(box):
            pending = self.commits.disarm(box)
            if pending is None:
                raise HelperError("no commit is pending confirmation")
            saved = self.commits.save_startup(box, pending)
            record(box, "confirm", message=pending["message"], saved=saved)
        return {"confirmed": True}

    def verb_rollback(self, box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
        with locked(box):
            self.commits.disarm(box)
            self.commits.restore_checkpoint(box)
            record(box, "rollback")
        return {"rolled_back": True}

    def verb_startup(self, box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
        path = box.startup
        try:
            return {"startup": path.read_text()}
        except FileNotFoundError:
            return {"startup": ""}
        except OSError as exc:
            raise HelperError(f"cannot read {path}: {exc.strerror}") from exc

    def verb_show(self, box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
        """Read-only vtysh commands (a JSON list of ``show ...`` lines on stdin) through the resident vtysh:
        the controller's post-deploy polls, without a vtysh start per poll."""
        try:
            commands = json.loads(self.read_stdin())
            if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
                raise ValueError("not a list of strings")
        except ValueError as exc:
            raise UsageError(f"show needs a JSON list of commands on stdin ({exc})") from exc
        refused = [c for c in commands if not SHOW_COMMAND.fullmatch(c)]
        if refused:
            raise UsageError(f"show takes show commands only, one line each: {refused[0]!r}")
        return {"outputs": self.frr.show(box, commands)}

    def verb_facts(self, box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
        return {"hostname": os.uname().nodename, "uptime": instance_uptime(box), "kernel": os.uname().release}

    def verb_ping(self, box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
        """iputils ping run by the helper (a JSON argv on stdin: ``ping`` and only the options of PING_OPTIONS with
        a value each, then the destination; never a shell): a box whose login lands in vtysh has no ping with a
        count and a timeout, so the driver asks the helper instead."""
        try:
            argv = json.loads(self.read_stdin())
            if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv) or argv[:1] != ["ping"]:
                raise ValueError("not a ping command line")
        except ValueError as exc:
            raise UsageError(f"ping needs a JSON argv starting with 'ping' on stdin ({exc})") from exc
        words = argv[1:]
        if len(words) % 2 != 1 or not all(PING_VALUE.fullmatch(w) for w in words[1::2] + words[-1:]):
            raise UsageError(f"ping takes OPTION VALUE pairs then one destination, got {' '.join(words)!r}")
        options = dict(zip(words[:-1:2], words[1:-1:2], strict=True))
        unknown = sorted(set(options) - set(PING_OPTIONS))
        if unknown:
            raise UsageError(f"ping: option {unknown[0]} is not one of {' '.join(PING_OPTIONS)}")
        count, wait = (int(v) if v.isdigit() else 1 for v in (options.get("-c", "1"), options.get("-W", "1")))
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=count * wait + 30)
        except FileNotFoundError:
            raise HelperError("cannot run ping: no such program") from None
        except subprocess.TimeoutExpired:
            raise HelperError("ping did not finish") from None
        return {"output": proc.stdout + proc.stderr, "code": proc.returncode}

    def verb_ntp(self, box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
        return {"servers": ntp_servers(Path(os.environ.get(ETC_ENV) or "/etc"))}

    def handle(self, argv: list[str]) -> tuple[int, dict[str, Any]]:
        """Run one request; (exit code, JSON reply)."""
        try:
            args = parse_args(argv)
            box = open_box(self.instance)
            if args.verb == TIMER:
                return self.commits.timer_main(box, args.token), {"ok": True}
            with locked(box):
                self.commits.reap_lost_timer(box)
            result = getattr(self, "verb_" + args.verb.replace("-", "_"))(box, args)
        except UsageError as exc:
            return 2, {"ok": False, "error": f"usage: {exc}"}
        except HelperError as exc:
            return 1, {"ok": False, "error": str(exc), "problems": exc.problems}
        except FileNotFoundError as exc:  # a program the box lacks (vtysh at another path, no nft)
            return 1, {"ok": False, "error": f"cannot run {exc.filename or exc}: no such program", "problems": []}
        return 0, {"ok": True, **result}

    def session_reply(self, line: str) -> dict[str, Any]:
        """The reply to one session request line."""
        try:
            request = json.loads(line)
            argv = [str(a) for a in request["argv"]]
            stdin = str(request.get("stdin", ""))
        except (ValueError, KeyError, TypeError) as exc:
            return {"ok": False, "error": f"usage: a session request is a JSON object with argv ({exc})", "exit": 2}
        if argv[:1] in (["session"], ["_timer"], ["serve"]):
            return {"ok": False, "error": f"usage: {argv[0]} is not a session request", "exit": 2}
        self._stdin = stdin
        try:
            code, reply = self.handle(argv)
        finally:
            self._stdin = None
        return {**reply, "exit": code}

    def session(self, lines: TextIO) -> int:
        """``napalm-frr-helper session``: one process for many requests (a deploy's check, replace and confirm).

        Each stdin line is a request, ``{"argv": ["check", "--diff"], "stdin": "..."}``; each gets one
        reply line, the verb's JSON plus ``exit`` (what the verb's exit code would have been), in order,
        until stdin ends. Same verbs, same checks and locking as one request per process, without
        starting the interpreter and loading frr-reload's functions for every request. The session relay
        (:mod:`napalm_frr.helper.relay`) normally hands a session to the resident helper, which answers the
        same way; this is the in-process fallback.
        """
        for line in lines:
            if line.strip():
                emit(self.session_reply(line))
        return 0


def main(instance: str, argv: list[str]) -> int:
    """Entry point from the device's login: ``napalm-frr-helper VERB ...`` for *instance*."""
    if argv and argv[0] in COMMAND_PREFIXES:
        argv = argv[1:]
    helper = Helper(instance)
    if argv == ["session"]:
        return helper.session(sys.stdin)
    code, reply = helper.handle(argv)
    emit(reply)
    return code


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result, sort_keys=True), flush=True)


NTP_LINE = re.compile(r"^\s*(server|pool|peer)\s+(\S+)(.*)$")


def ntp_servers(etc: Path) -> dict[str, dict[str, Any]]:
    """NTP sources from the box's chrony or ntpd config: FRR itself has no NTP client."""
    files = [etc / "chrony/chrony.conf", etc / "ntp.conf", etc / "ntpsec/ntp.conf"]
    files += sorted((etc / "chrony/sources.d").glob("*.sources")) + sorted((etc / "chrony/conf.d").glob("*.conf"))
    servers: dict[str, dict[str, Any]] = {}
    for path in files:
        with contextlib.suppress(OSError):
            for line in path.read_text().splitlines():
                match = NTP_LINE.match(line)
                if match:
                    kind, address, options = match.group(1), match.group(2), match.group(3).split()
                    servers[address] = {
                        "address": address,
                        "association_type": kind,
                        "iburst": "iburst" in options,
                        "prefer": "prefer" in options,
                    }
    return servers
