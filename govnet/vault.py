"""The environment's Ansible Vault, read by govnet itself: the routing keys and device secrets a deploy needs come
from the environment (``GOVNET_<NAME>``) or from the same vault file the Ansible roles use, never from the inventory.

The file is the Ansible inventory's ``group_vars/env_<env>/vault.yml`` beside the govnet inventory
(``GOVNET_VAULT_FILE`` moves it), a whole-file vault in Ansible's ``1.1``/``1.2`` AES256 format. A secret ``NAME``
is the vault variable ``vault_govnet_<name>``. The password comes as it does for Ansible
(``scripts/vault-pass-client.py``): ``GOVNET_VAULT_PASSWORD`` for the lab id, which falls back to the lab's
documented password, and ``GOVNET_VAULT_PASSWORD_<ID>`` for any other id, with no default.

The format, as Ansible writes it: a header line, then the hex of ``hex(salt) \\n hex(hmac) \\n hex(ciphertext)``;
PBKDF2-HMAC-SHA256 (10,000 iterations) derives 80 bytes from the password and salt: the AES-256-CTR key, the
HMAC-SHA256 key and the counter's initial block; the plaintext is PKCS#7-padded YAML. Only ``cryptography``, which
govnet already uses for its config archives, is needed: reading a vault does not import Ansible.
"""

from __future__ import annotations

import binascii
import hmac
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

VAULT_FILE = "GOVNET_VAULT_FILE"
PREFIX = "vault_govnet_"
LAB_ID = "lab"
LAB_PASSWORD = "govnet-lab"  # the lab vault's documented password (docs/ansible.md); no other id has a default


class VaultError(Exception):
    """A vault that cannot be read: one line naming the file and what to do."""


def stored(default: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """govnet's secrets in the environment's vault: the file ``GOVNET_VAULT_FILE`` names (which must exist), else
    ``default`` (the model's ``Network.vault``; none there is no secret there)."""
    environ = os.environ if environ is None else environ
    named = environ.get(VAULT_FILE)
    if named and not Path(named).is_file():
        raise VaultError(f"{named}: no such vault file ({VAULT_FILE})")
    return secrets(Path(named) if named else default, environ)


def password_variable(vault_id: str) -> str:
    return "GOVNET_VAULT_PASSWORD" if vault_id == LAB_ID else f"GOVNET_VAULT_PASSWORD_{vault_id.upper()}"


def password(vault_id: str, environ: Mapping[str, str]) -> str | None:
    value = environ.get(password_variable(vault_id))
    return value or (LAB_PASSWORD if vault_id == LAB_ID else None)


def header(text: str) -> tuple[str, str | None]:
    """(format version, vault id or None) of a vault's first line; VaultError when it is not a vault."""
    first = text.split("\n", 1)[0].strip().split(";")
    if len(first) < 3 or first[0] != "$ANSIBLE_VAULT" or first[1] not in ("1.1", "1.2") or first[2] != "AES256":
        raise VaultError("not an Ansible Vault (1.1 or 1.2, AES256): encrypt it with `ansible-vault encrypt`")
    return first[1], first[3] if first[1] == "1.2" and len(first) > 3 else None


def decrypt(text: str, secret: str) -> str:
    """The plaintext of an Ansible Vault ``text`` opened with ``secret``; VaultError when it does not open."""
    from cryptography.hazmat.primitives import hashes, padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    header(text)
    body = "".join(text.split("\n")[1:]).strip()
    try:
        salt, mac, ciphertext = (binascii.unhexlify(part) for part in binascii.unhexlify(body).split(b"\n"))
    except (binascii.Error, ValueError):
        raise VaultError("the vault's body is damaged (not the hex Ansible writes)") from None
    material = PBKDF2HMAC(algorithm=hashes.SHA256(), length=80, salt=salt, iterations=10000).derive(secret.encode())
    key, mac_key, counter = material[:32], material[32:64], material[64:]
    expected = hmac.new(mac_key, ciphertext, "sha256").digest()
    if not hmac.compare_digest(expected, mac):
        raise VaultError("the vault does not open with the password in")
    decryptor = Cipher(algorithms.AES(key), modes.CTR(counter)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return (unpadder.update(padded) + unpadder.finalize()).decode()
    except (ValueError, UnicodeDecodeError):
        raise VaultError("the vault's plaintext is damaged (bad padding)") from None


@lru_cache(maxsize=8)
def _read(path: Path, mtime_ns: int, secret: str) -> dict[str, str]:
    import yaml

    data = yaml.safe_load(decrypt(path.read_text(), secret)) or {}
    if not isinstance(data, dict):
        raise VaultError("the vault holds no mapping of variables")
    return {str(k)[len(PREFIX) :]: str(v) for k, v in data.items() if str(k).startswith(PREFIX) and v is not None}


def secrets(path: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """govnet's secrets in the vault at ``path`` (``vault_govnet_<name>`` → ``name``); {} when there is no file;
    VaultError naming the file and the password variable when it cannot be opened."""
    environ = os.environ if environ is None else environ
    if not path.is_file():
        return {}
    try:
        text = path.read_text()
        _, vault_id = header(text)
        vault_id = vault_id or path.parent.name.removeprefix("env_")
        secret = password(vault_id, environ)
        if secret is None:
            raise VaultError(f"vault id '{vault_id}' has no password: set {password_variable(vault_id)}")
        try:
            return _read(path, path.stat().st_mtime_ns, secret)
        except VaultError as exc:
            raise VaultError(f"{exc}: {password_variable(vault_id)}") from None
    except VaultError as exc:
        raise VaultError(f"{path}: {exc}") from None
    except OSError as exc:
        raise VaultError(f"{path}: unreadable vault: {exc.strerror}") from None
