"""Bringing the on-box helper to a box that does not have it, the way Ansible ships its modules.

The helper (:mod:`napalm_frr.helper`, standard library only) travels as one zip archive over the SSH login:
a short bootstrap, run with the box's ``python3 -S``, looks for the archive in the login user's cache
(``~/.cache/napalm-frr/<version>-<digest>/helper.zip``), checks it against the sha256 the driver sent on the
command line, and asks for it (``SEND``) only when it is missing or does not match; a received archive is
checked the same way before it is kept, and older helpers' directories are removed. Then the helper runs
from the archive (zipimport), so nothing is unpacked and no ``__pycache__`` is written. The cache directory
is named after the helper's version and the digest of its modules: a newer driver, or any change to the
helper, gets a directory of its own and replaces the older one.
"""

from __future__ import annotations

import hashlib
import io
import shlex
import zipfile
from functools import cache
from pathlib import Path

from napalm_frr import helper

#: Every member's time stamp: the archive's bytes depend on the helper's sources only.
_EPOCH = (2020, 1, 1, 0, 0, 0)
_STUB = '"""The FRR driver\'s on-box helper only."""\n'

#: Run on the box as ``python3 -S -c BOOTSTRAP NAME SHA256 INSTANCE ARGS...``; prints ``READY`` (cached copy
#: good) or ``SEND`` (then reads one line with the archive's size and the archive) before the helper answers.
BOOTSTRAP = r"""
import hashlib, os, shutil, sys
name, sha, instance = sys.argv[1:4]
base = os.path.join(os.path.expanduser("~"), ".cache", "napalm-frr")
path = os.path.join(base, name, "helper.zip")
def good(p):
    try:
        with open(p, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest() == sha
    except OSError:
        return False
out = sys.stdout.buffer
if good(path):
    out.write(b"READY\n"); out.flush()
else:
    out.write(b"SEND\n"); out.flush()
    size = int(sys.stdin.buffer.readline())
    data = sys.stdin.buffer.read(size)
    if hashlib.sha256(data).hexdigest() != sha:
        sys.stderr.write("napalm-frr-helper: the archive received does not match its sha256\n")
        sys.exit(3)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    tmp = "%s.%d" % (path, os.getpid())
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    for old in os.listdir(base):
        if old != name:
            shutil.rmtree(os.path.join(base, old), ignore_errors=True)
sys.path.insert(0, path)
from napalm_frr.helper import service
sys.exit(service.main(instance, sys.argv[4:]))
"""


@cache
def archive() -> bytes:
    """The helper as a zip: an empty ``napalm_frr`` package holding ``helper/`` (deterministic bytes)."""
    source = Path(helper.__file__).resolve().parent
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("napalm_frr/__init__.py", _EPOCH), _STUB)
        for module in sorted(source.glob("*.py")):
            zf.writestr(zipfile.ZipInfo(f"napalm_frr/helper/{module.name}", _EPOCH), module.read_bytes())
    return buf.getvalue()


def archive_sha256() -> str:
    return hashlib.sha256(archive()).hexdigest()


def cache_name() -> str:
    """The helper's directory in the box's cache: its version and the digest of its modules."""
    return f"{helper.VERSION}-{helper.source_digest()[:16]}"


def ship_command(instance: str, args: list[str], python: str = "python3", vtysh: str = "", sudo: bool = False) -> str:
    """The login command that runs the helper from the box's cache, asking for it first when needed; with *vtysh*
    the helper runs that vtysh, with *sudo* it runs through ``sudo -n`` (then the cache is the target user's)."""
    argv = [python, "-S", "-c", BOOTSTRAP, cache_name(), archive_sha256(), instance, *args]
    if vtysh:
        argv = ["env", f"NAPALM_FRR_HELPER_VTYSH={vtysh}", *argv]
    if sudo:
        argv = ["sudo", "-n", *argv]
    return " ".join(shlex.quote(a) for a in argv)


def send_payload() -> bytes:
    """What the controller writes after ``SEND``: the archive's size on one line, then the archive."""
    data = archive()
    return f"{len(data)}\n".encode() + data
