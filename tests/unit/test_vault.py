"""The routing keys and device secrets from the environment's Ansible Vault (govnet.vault): vaults written by the
real ``ansible-vault`` open in govnet without Ansible; ``govnet render`` takes a secret from the vault beside the
inventory when its GOVNET_<NAME> variable is unset; a vault that does not open is one line and exit 2, nothing
written; the secrets never reach the command's output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from govnet import vault

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "tests" / "errors" / "_base"
ANSIBLE_VAULT = Path(sys.executable).parent / "ansible-vault"
OSPF_KEY = "vaultOspf-9Qx"  # a made-up test key, not a real one
BGP_KEY = "vaultBgp-7Lm"

ANSIBLE_VAULT_NEEDED = "the tests encrypt with the real ansible-vault, a dev dependency (pip install -e .[dev])"


def encrypt(path: Path, text: str, password: str, vault_id: str | None) -> None:
    """``text`` encrypted into ``path`` by ansible-vault itself (1.2 with a vault id, else 1.1)."""
    assert ANSIBLE_VAULT.exists(), ANSIBLE_VAULT_NEEDED
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    secret = path.parent / ".pw"
    secret.write_text(password + "\n")
    ident = f"{vault_id}@{secret}" if vault_id else str(secret)
    flag = ["--vault-id", ident] if vault_id else ["--vault-password-file", ident]
    env = {"PATH": os.environ["PATH"], "HOME": str(path.parent)}
    proc = subprocess.run([str(ANSIBLE_VAULT), "encrypt", *flag, str(path)], capture_output=True, text=True,
                          env=env, cwd=path.parent, check=False)  # fmt: skip
    secret.unlink()
    assert proc.returncode == 0, proc.stderr


VARS = f"vault_govnet_ospf_key: {OSPF_KEY}\nvault_govnet_bgp_key: {BGP_KEY}\nvault_postgresql_app_password: x\n"


@pytest.mark.parametrize("vault_id", ["production", None])
def test_a_vault_ansible_wrote_opens_in_govnet(tmp_path: Path, vault_id: str | None) -> None:
    path = tmp_path / "group_vars" / "env_production" / "vault.yml"
    encrypt(path, VARS, "pw-for-test", vault_id)
    assert path.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;production\n" if vault_id else "$ANSIBLE_VAULT;1.1;")
    assert vault.decrypt(path.read_text(), "pw-for-test") == VARS
    found = vault.secrets(path, {"GOVNET_VAULT_PASSWORD_PRODUCTION": "pw-for-test"})
    assert found == {"ospf_key": OSPF_KEY, "bgp_key": BGP_KEY}  # only govnet's variables
    with pytest.raises(vault.VaultError, match="does not open with the password in: GOVNET_VAULT_PASSWORD_PRODUCTION"):
        vault.secrets(path, {"GOVNET_VAULT_PASSWORD_PRODUCTION": "wrong"})


def inventory(tmp_path: Path) -> Path:
    inv = tmp_path / "inv"
    shutil.copytree(BASE, inv)
    return inv


def govnet(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GOVNET_")}
    return subprocess.run([sys.executable, "-m", "govnet", "--inventory", "inv", *args], cwd=tmp_path,
                          capture_output=True, text=True, env={**clean, **env, "COLUMNS": "300"}, timeout=60,
                          check=False)  # fmt: skip


def test_render_takes_the_routing_keys_from_the_vault_beside_the_inventory(tmp_path: Path) -> None:
    inventory(tmp_path)
    encrypt(tmp_path / "group_vars" / "env_production" / "vault.yml", VARS, "pw-for-test", "production")
    proc = govnet(tmp_path, "--env", "production", "render", "--out", "out", "--json",
                  GOVNET_VAULT_PASSWORD_PRODUCTION="pw-for-test")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    configs = [p.read_text() for p in (tmp_path / "out").iterdir()]
    assert any(f"md5 {OSPF_KEY}" in c for c in configs) and any(f"password {BGP_KEY}" in c for c in configs)
    assert not any("<vault:ospf_key>" in c or "<vault:bgp_key>" in c for c in configs)
    assert "<vault:ios_tacacs_key>" in "".join(configs)  # not in the vault, not set: still a visible placeholder
    assert OSPF_KEY not in proc.stdout + proc.stderr and BGP_KEY not in proc.stdout + proc.stderr
    # the environment wins over the vault
    proc = govnet(tmp_path, "--env", "production", "render", "--out", "out2",
                  GOVNET_VAULT_PASSWORD_PRODUCTION="pw-for-test", GOVNET_OSPF_KEY="envOspf-1")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    configs = [p.read_text() for p in (tmp_path / "out2").iterdir()]
    assert any("md5 envOspf-1" in c for c in configs) and not any(OSPF_KEY in c for c in configs)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GOVNET_VAULT_PASSWORD_PRODUCTION": "wrong"},
         "{vault}: the vault does not open with the password in: GOVNET_VAULT_PASSWORD_PRODUCTION"),
        ({}, "{vault}: vault id 'production' has no password: set GOVNET_VAULT_PASSWORD_PRODUCTION"),
        ({"GOVNET_VAULT_FILE": "missing.yml"}, "missing.yml: no such vault file (GOVNET_VAULT_FILE)"),
    ],
    ids=["wrong-password", "no-password", "no-file"],
)  # fmt: skip
def test_a_vault_that_does_not_open_is_one_line_and_nothing_is_written(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    inventory(tmp_path)
    path = tmp_path / "group_vars" / "env_production" / "vault.yml"
    encrypt(path, VARS, "pw-for-test", "production")
    proc = govnet(tmp_path, "--env", "production", "render", "--out", "out", **env)
    assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
    assert proc.stderr == expected.format(vault=path) + "\n"
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_not_a_vault_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vault.yml"
    path.write_text(VARS)  # left in clear
    with pytest.raises(vault.VaultError, match=rf"^{path}: not an Ansible Vault"):
        vault.secrets(path, {})
