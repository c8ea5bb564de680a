"""Secrets: the lab vault is encrypted and opens with the documented lab password through the client; the
production vault id has no default and its file is never in the repository."""

from __future__ import annotations

import subprocess

from .conftest import ROOT, run, tail

CLIENT = ROOT / "scripts" / "vault-pass-client.py"
LAB_VAULT = ROOT / "inventory" / "group_vars" / "env_lab" / "vault.yml"


def test_lab_vault_is_encrypted_for_the_lab_id() -> None:
    assert LAB_VAULT.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;lab\n")


def test_lab_vault_opens_with_the_client_and_holds_the_role_secrets() -> None:
    proc = run(["ansible-vault", "view", str(LAB_VAULT)], GOVNET_VAULT_PASSWORD="")
    assert proc.returncode == 0, tail(proc)
    for key in ("vault_postgresql_replication_password", "vault_postgresql_app_password", "vault_common_admins"):
        assert f"{key}:" in proc.stdout


def test_wrong_password_does_not_open_the_lab_vault() -> None:
    """The client hands Ansible the wrong password, and decryption (not the client, not the tool) is what fails."""
    client = run([str(CLIENT), "--vault-id", "lab"], GOVNET_VAULT_PASSWORD="not-the-lab-password")
    assert (client.returncode, client.stdout) == (0, "not-the-lab-password\n"), tail(client)
    proc = run(["ansible-vault", "view", str(LAB_VAULT)], GOVNET_VAULT_PASSWORD="not-the-lab-password")
    assert proc.returncode == 1 and proc.stdout == "", tail(proc)
    assert "Decryption failed" in proc.stderr and str(LAB_VAULT) in proc.stderr, tail(proc)


def test_production_password_has_no_default() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [str(CLIENT), "--vault-id", "production"], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert "GOVNET_VAULT_PASSWORD_PRODUCTION" in proc.stderr
    proc = subprocess.run(
        [str(CLIENT), "--vault-id", "production"],
        capture_output=True,
        text=True,
        check=False,
        env={**env, "GOVNET_VAULT_PASSWORD_PRODUCTION": "s3cret"},
    )
    assert proc.returncode == 0 and proc.stdout == "s3cret\n"


def test_no_production_vault_is_tracked() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "inventory/group_vars"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [path for path in tracked if "production" in path and path.endswith("vault.yml")]
