"""The nftables policy table the helper commits with the FRR config: listed, checked, applied, compared.

One table (``inet govnet``) is the box's zone policy. It is checked with ``nft -c`` before anything changes,
and kept in the commit's checkpoint, so a rollback or an expired revert timer restores it with the FRR config.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from napalm_frr.helper.box import Box, HelperError, scratch, sha, write_atomic

NFT_FAMILY, NFT_TABLE = "inet", "govnet"
#: nft that may change the device's namespace (e.g. a capability-bearing copy); plain nft otherwise.
NFT_ENV = "NAPALM_FRR_HELPER_NFT"


def nft_program() -> str:
    """The nft that acts on this device's namespace."""
    return os.environ.get(NFT_ENV) or shutil.which("nft") or "/usr/sbin/nft"


def _nft(argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False, timeout=60)
    except OSError as exc:
        raise HelperError(f"cannot run {argv[0]}: {exc.strerror}") from exc


def nft_running() -> str:
    """The policy table as it runs now (stateless listing: no counter values), "" when there is none."""
    proc = _nft([nft_program(), "-s", "list", "table", NFT_FAMILY, NFT_TABLE])
    if proc.returncode == 0:
        return proc.stdout
    if "No such file or directory" in proc.stderr:
        return ""
    raise HelperError(f"nft list table {NFT_FAMILY} {NFT_TABLE} failed: {proc.stderr.strip()}")


def replace_script(table: str) -> str:
    """An nft script that makes *table* (a listing, possibly empty) the whole policy, in one transaction."""
    head = f"table {NFT_FAMILY} {NFT_TABLE} {{}}\ndelete table {NFT_FAMILY} {NFT_TABLE}\n"
    return head + table


def nft_problems(box: Box, script: str) -> list[str]:
    """What ``nft -c`` (parse plus a kernel dry run, nothing applied) says about *script*."""
    path = scratch(box, "check.", ".nft", script)
    try:
        proc = _nft([nft_program(), "-c", "-f", str(path)])
    finally:
        path.unlink(missing_ok=True)
    if proc.returncode == 0:
        return []
    lines = [line.strip() for line in proc.stderr.splitlines() if "Error" in line]
    return lines or [f"nft -c exited {proc.returncode}: {proc.stderr.strip()[:300]}"]


def nft_load(box: Box, script: str) -> None:
    """Apply an nft script (one kernel transaction: all of it or nothing)."""
    path = scratch(box, "apply.", ".nft", script)
    try:
        proc = _nft([nft_program(), "-f", str(path)])
    finally:
        path.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise HelperError("nft failed to apply the policy", proc.stderr.strip().splitlines()[-5:])


def nft_canonical(script: str) -> str:
    """The table *script* defines, listed by nft itself, so it compares line by line with :func:`nft_running`.

    Loaded in a throwaway user+network namespace (``unshare -rn``), never in the device's own.
    """
    if not script.strip():
        return ""
    plain = shutil.which("nft") or "/usr/sbin/nft"
    shell = f"{plain} -f - && {plain} -s list table {NFT_FAMILY} {NFT_TABLE}"
    proc = _nft(["unshare", "-rn", "/bin/sh", "-c", shell], stdin=script)
    if proc.returncode != 0:
        lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
        raise HelperError("policy rejected", lines[:5])
    return proc.stdout


def remember_nft(box: Box, ruleset: str) -> None:
    """Note which ruleset gave the policy table now listed (for :func:`nft_unchanged_since_applied`)."""
    write_atomic(box.state / "applied-nft.json", json.dumps({"ruleset": sha(ruleset), "listing": sha(nft_running())}))


def nft_unchanged_since_applied(box: Box, ruleset: str, listing: str) -> bool:
    """*ruleset* is the last one applied and the table is still listed as it gave: the ruleset's own
    listing (a throwaway namespace, :func:`nft_canonical`) is *listing*, nothing to work out."""
    try:
        applied = json.loads((box.state / "applied-nft.json").read_text())
    except (OSError, ValueError):
        return False
    return applied.get("ruleset") == sha(ruleset) and applied.get("listing") == sha(listing)
