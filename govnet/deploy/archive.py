"""Encrypted archives of the devices' latest configs, for the backup server (``govnet backup --archive``).

The controller holds only the backup server's public key, so an archive it writes cannot be read back here: a
running config carries the routing keys in clear (docs/deploy.md), and the copy that leaves the controller must be
readable only where the private key is (``backup1``, from the vault). The format is small enough to read in one
place, and both ends use what their systems already have (``cryptography`` here, ``python3-cryptography`` on the
backup server; its restore test, ``roles/backup/templates/usr/local/sbin/govnet-backup-config-restore-test.j2``,
is the reader):

    MAGIC | ephemeral X25519 public key (32) | nonce (12) | AES-256-GCM(tar.gz) with tag

The AES key is HKDF-SHA256 of the X25519 shared secret (salt: ephemeral key + recipient key, info: MAGIC); the
header is the GCM associated data, so any changed byte fails the decryption. The tar holds ``manifest.json``
(per device: backup id, size, SHA-256) and ``configs/<device>.cfg``. The clear tar exists only in memory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import os
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from govnet.deploy.backups import Backup

MAGIC = b"GOVNET-CONFIGS-1\n"
RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


@dataclass(frozen=True)
class Archive:
    path: Path
    devices: int
    size: int


def public_key(text: str) -> X25519PublicKey:
    """A recipient key as written in the inventory (base64 of the raw 32 bytes); ValueError saying what is wrong."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not base64: {exc}") from None
    if len(raw) != 32:
        raise ValueError(f"an X25519 public key is 32 bytes, this one is {len(raw)}")
    return X25519PublicKey.from_public_bytes(raw)


def new_key_pair() -> tuple[str, str]:
    """(private, public), base64: the private half goes into the vault, the public half into group_vars."""
    key = X25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(private).decode(), base64.b64encode(key.public_key().public_bytes(*RAW)).decode()


def _aes_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=ephemeral + recipient, info=MAGIC).derive(shared)


def manifest(backups: list[Backup], env: str) -> dict[str, object]:
    devices = {}
    for b in backups:
        data = b.path.read_bytes()
        devices[b.device] = {"backup": b.id, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {"format": 1, "env": env, "created": created, "devices": devices}


def _tar(backups: list[Backup], meta: dict[str, object]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        members = [("manifest.json", json.dumps(meta, indent=1, sort_keys=True).encode())]
        members += [(f"configs/{b.device}.cfg", b.path.read_bytes()) for b in backups]
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def encrypt(plain: bytes, recipient: X25519PublicKey) -> bytes:
    ephemeral = X25519PrivateKey.generate()
    eph_pub, rcpt_pub = ephemeral.public_key().public_bytes(*RAW), recipient.public_bytes(*RAW)
    nonce = os.urandom(12)
    header = MAGIC + eph_pub + nonce
    key = _aes_key(ephemeral.exchange(recipient), eph_pub, rcpt_pub)
    return header + AESGCM(key).encrypt(nonce, plain, header)


def write(path: Path, backups: list[Backup], recipient: X25519PublicKey, env: str) -> Archive:
    """One archive of *backups* at *path* (mode 0600, written whole or not at all)."""
    if not backups:
        raise ValueError("no device backups to archive")
    sealed = encrypt(_tar(backups, manifest(backups, env)), recipient)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    tmp.write_bytes(sealed)
    tmp.replace(path)
    return Archive(path, len(backups), len(sealed))


def write_key_pair(folder: Path) -> Path:
    """A new key pair in *folder*: ``config-backup.key`` (mode 0600, for the vault) and ``config-backup.pub``."""
    private, public = new_key_pair()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = folder / "config-backup.key"
    key.touch(mode=0o600)
    key.chmod(0o600)
    key.write_text(private + "\n")
    (folder / "config-backup.pub").write_text(public + "\n")
    return key


if __name__ == "__main__":  # python -m govnet.deploy.archive DIR: a key pair for a new backup server
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python -m govnet.deploy.archive DIR  (writes DIR/config-backup.key and .pub)")
    print(write_key_pair(Path(sys.argv[1])))
