"""Commit, confirm, revert: the checkpoint, the apply, and the detached revert timer of one instance.

:class:`Commits` holds what a helper process keeps for them (its FRR access, the timers it forked and has
not reaped yet). Every state change runs under the instance's lock (:func:`~napalm_frr.helper.box.locked`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import sys
import time

from napalm_frr.helper import nft as nftables
from napalm_frr.helper.box import (
    Box,
    HelperError,
    locked,
    pid_alive,
    read_pending,
    record,
    sha,
    start_time,
    with_newline,
    write_atomic,
    write_atomic_bytes,
)
from napalm_frr.helper.frr import FRR, frr_reload, write_memory

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

#: A timer that should have fired this long ago but is not running is treated as lost.
LOST_TIMER_GRACE = 5.0
#: How long a candidate that passed ``check`` counts as parsed (``replace`` then skips the dry run).
CHECKED_TTL = 600.0


class Commits:
    """Commits of one helper process: checkpoint, apply, arm, confirm, revert."""

    def __init__(self, frr: FRR) -> None:
        self.frr = frr
        #: Timers forked by this process and not yet reaped (the resident helper outlives them).
        self.timers: set[int] = set()

    def save_checkpoint(self, box: Box, running: str | None = None) -> str:
        """Keep the running config (and the policy table) as the point a rollback or an expired timer returns to.

        The policy is kept only where the helper can read it; a stale policy checkpoint is removed so a
        rollback never applies an older table than the one running. Returns the running config saved.
        """
        running = self.frr.running_config(box) if running is None else running
        write_atomic(box.checkpoint, running)
        try:
            write_atomic(box.nft_checkpoint, nftables.nft_running())
        except HelperError as exc:
            box.nft_checkpoint.unlink(missing_ok=True)
            record(box, "nft-checkpoint-skipped", reason=str(exc))
        return running

    def restore_checkpoint(self, box: Box) -> None:
        """Apply the checkpoint (only the differing lines are sent), then its policy table.

        Should the batched apply not get there, FRR's ``frr-reload.py --reload`` itself gets a go: this is
        the path that must work when everything else went wrong.
        """
        if not box.checkpoint.exists():
            raise HelperError(f"no checkpoint for {box.instance or 'the default instance'}: nothing to roll back to")
        box.applied.unlink(missing_ok=True)
        box.applied_config.unlink(missing_ok=True)
        try:
            self.frr.apply_config(box, self.frr.running_config(box), box.checkpoint.read_text())
        except HelperError as exc:
            record(box, "restore-fallback", reason=str(exc))
            frr_reload(box, box.checkpoint)
        if box.nft_checkpoint.exists():
            nftables.nft_load(box, nftables.replace_script(box.nft_checkpoint.read_text()))

    def arm(self, box: Box, seconds: int, message: str) -> dict[str, Any]:
        """Start the detached revert timer for the current checkpoint."""
        if not box.checkpoint.exists():
            raise HelperError("arm needs a checkpoint first (run checkpoint or replace)")
        token = secrets.token_hex(8)
        pending = {
            "token": token,
            "armed_at": time.time(),
            "deadline": time.time() + seconds,
            "seconds": seconds,
            "message": message,
            "pid": None,
        }
        write_atomic(box.pending, json.dumps(pending))
        pending["pid"], pending["started"] = self.spawn_timer(box, token)
        write_atomic(box.pending, json.dumps(pending))
        record(box, "arm", seconds=seconds, message=message)
        return pending

    def spawn_timer(self, box: Box, token: str) -> tuple[int, int | None]:
        """Fork the timer into its own session so closing SSH (SIGHUP) or killing the caller spares it.

        A fork of this process, not a new interpreter: nothing to start or import again. The child keeps
        only the timer log open (so the SSH session ends when the helper answers) and never returns.
        Returns the timer's pid and start time.
        """
        log = os.open(box.timer_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the timer
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the resident helper's handler is not the timer's
                self.frr.forget_ready()  # nor is its ready parser
                self.timers.clear()
                os.setsid()
                os.chdir("/")
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(log, 1)
                os.dup2(log, 2)
                os.closerange(3, 65536)  # the instance lock and the SSH session's pipes stay with the helper
                code = self.timer_main(box, token)
            except BaseException as exc:
                with contextlib.suppress(Exception):
                    os.write(2, f"{time.strftime('%FT%T')} timer {token}: {exc!r}\n".encode())
            finally:
                os._exit(code)
        os.close(log)
        self.timers.add(pid)
        return pid, start_time(pid)

    def disarm(self, box: Box) -> dict[str, Any] | None:
        """Forget the pending commit and stop its timer; return what was pending."""
        pending = read_pending(box)
        if pending is None:
            return None
        box.pending.unlink(missing_ok=True)
        if pid_alive(pending.get("pid"), pending["token"], pending.get("started")):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pending["pid"]), signal.SIGTERM)
        return pending

    def revert(self, box: Box, reason: str) -> None:
        """Roll back to the checkpoint and close the pending commit (timer expiry, lost timer)."""
        self.restore_checkpoint(box)
        box.pending.unlink(missing_ok=True)
        record(box, "revert", reason=reason)

    def reap_lost_timer(self, box: Box) -> None:
        """A pending commit whose deadline passed with no timer alive (e.g. after a reboot): revert now."""
        pending = read_pending(box)
        if pending is None or time.time() < pending["deadline"] + LOST_TIMER_GRACE:
            return
        if not pid_alive(pending.get("pid"), pending["token"], pending.get("started")):
            self.revert(box, "deadline passed and the revert timer was not running")

    def apply_candidate(
        self,
        box: Box,
        candidate: str | None,
        revert_in: int | None,
        message: str,
        nft: str | None = None,
        merge: bool = False,
    ) -> dict[str, Any]:
        """Check, checkpoint, arm, apply: the heart of ``replace``, ``merge`` and ``nft-apply``.

        *candidate* is the whole FRR config (None: leave FRR alone; with *merge*, lines to add to the
        running config), *nft* the policy ruleset (None: leave the policy alone); both are checked before
        anything changes, and one checkpoint covers both.
        """
        if read_pending(box) is not None:
            raise HelperError("a commit is pending confirmation: confirm or roll back first")
        running = self.frr.running_config(box)
        if candidate is not None:
            candidate = (running + "\n" + candidate) if merge else candidate
            candidate = candidate if candidate.endswith("\n") else candidate + "\n"
        problems = (
            [] if candidate is None or recently_checked(box, candidate) else self.frr.syntax_problems_of(box, candidate)
        )
        if nft is not None:
            problems += [f"nftables: {p}" for p in nftables.nft_problems(box, nft)]
        if problems:
            raise HelperError("candidate rejected, nothing applied", problems)
        self.save_checkpoint(box, running)
        pending = self.arm(box, revert_in, message) if revert_in else None
        try:
            box.applied.unlink(missing_ok=True)
            if candidate is not None:
                now = self.frr.apply_config(box, running, candidate, merge=merge)
            if nft is not None:
                nftables.nft_load(box, nft)
                nftables.remember_nft(box, nft)
        except HelperError as exc:
            self._undo_failed_apply(box, exc)
        if candidate is not None:
            remember_applied(box, candidate, now)
            write_atomic(box.applied_config, now)
        if pending is not None:
            # Armed before applying (a helper killed mid-apply still reverts), but the caller's
            # confirmation window starts when the change is in place, as with Junos.
            pending["deadline"] = time.time() + pending["seconds"]
            write_atomic(box.pending, json.dumps(pending))
        record(box, "commit", message=message, revert_in=revert_in, frr=candidate is not None, nft=nft is not None)
        return {"applied": True, "pending": pending is not None, "deadline": pending["deadline"] if pending else None}

    def _undo_failed_apply(self, box: Box, exc: HelperError) -> NoReturn:
        """frr-reload stopped half way: put the checkpoint back before reporting the failure."""
        self.disarm(box)
        try:
            self.restore_checkpoint(box)
            outcome = "checkpoint restored"
        except HelperError as restore_exc:
            outcome = f"restoring the checkpoint failed too: {restore_exc}"
        record(box, "apply-failed", outcome=outcome)
        raise HelperError(f"{exc}; {outcome}", exc.problems) from exc

    def timer_main(self, box: Box, token: str) -> int:
        """The detached timer: sleep to the deadline, then revert unless confirmed meanwhile."""
        while True:
            pending = read_pending(box)
            if pending is None or pending["token"] != token:
                return 0
            left = pending["deadline"] - time.time()
            if left <= 0:
                break
            time.sleep(min(left, 1.0))
        with locked(box):
            pending = read_pending(box)
            if pending is None or pending["token"] != token:
                return 0
            self.revert(box, f"not confirmed within {pending['seconds']} s")
        return 0

    def reap_timers(self) -> None:
        """Collect the exit status of finished timers, so none stays behind as a zombie."""
        for pid in list(self.timers):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self.timers.discard(pid)

    def save_startup(self, box: Box, pending: dict[str, Any]) -> str:
        """Make the confirmed commit the startup config; says how.

        The running config the commit was verified to give (kept by the apply) is written as the
        instance's ``frr.conf``, group-readable like vtysh writes it: vtysh's ``write memory`` would
        start vtysh, and through watchfrr a second ``vtysh -w``, to write the same text. Without that
        record (a policy-only commit, an apply by an older helper) or where the file cannot be written,
        ``write memory`` it is.
        """
        applied = box.applied_config
        with contextlib.suppress(OSError):
            if applied.stat().st_mtime >= float(pending.get("armed_at", 0)) - 1:
                if box.startup.exists():
                    write_atomic_bytes(box.startup.with_name("frr.conf.sav"), box.startup.read_bytes(), mode=0o640)
                write_atomic_bytes(box.startup, applied.read_bytes(), mode=0o640)
                return "frr.conf"
        write_memory(box)
        return "write memory"


def remember_checked(box: Box, candidate: str) -> None:
    """Note that *candidate* parsed just now, so the ``replace`` that follows need not parse it again."""
    write_atomic(box.checked, json.dumps({"candidate": sha(with_newline(candidate)), "time": time.time()}))


def recently_checked(box: Box, candidate: str) -> bool:
    """*candidate* passed ``check`` less than :data:`CHECKED_TTL` ago (same text, same FRR)."""
    try:
        checked = json.loads(box.checked.read_text())
    except (OSError, ValueError):
        return False
    fresh = 0 <= time.time() - float(checked.get("time", 0)) < CHECKED_TTL
    return fresh and checked.get("candidate") == sha(with_newline(candidate))


def remember_applied(box: Box, candidate: str, running: str) -> None:
    """Note which candidate produced the running config now in place (for :func:`unchanged_since_applied`)."""
    write_atomic(box.applied, json.dumps({"candidate": sha(with_newline(candidate)), "running": sha(running)}))


def unchanged_since_applied(box: Box, candidate: str, running: str) -> bool:
    """True when *candidate* is exactly the last one applied and the running config is exactly what applying it
    gave (no hand edit, rollback or revert since): then there is nothing to change and no check to run."""
    try:
        applied = json.loads(box.applied.read_text())
    except (OSError, ValueError):
        return False
    return applied.get("candidate") == sha(with_newline(candidate)) and applied.get("running") == sha(running)
