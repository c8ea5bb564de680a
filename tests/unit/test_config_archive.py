"""Configuration archives: sealed on the controller (govnet.deploy.archive), opened by the backup server's own
restore test (the role's script, run here as it is templated), which must refuse a damaged or altered archive."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import jinja2
import pytest

from govnet.deploy import archive
from govnet.deploy.backups import BackupStore

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "roles" / "backup" / "templates" / "usr" / "local" / "sbin" / "govnet-backup-config-restore-test.j2"
CONFIGS = {
    "core1": "hostname core1\ninterface eth1\n ip ospf message-digest-key 1 md5 clear-key-1\n",
    "hlth-r1": "hostname hlth-r1\nrouter bgp 65001\n neighbor 198.18.0.1 password clear-key-2\n",
}


def restore_test(tmp_path: Path, private: str) -> Path:
    """The role's restore-test script, rendered for a backup directory and key file under *tmp_path*."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters["comment"] = lambda text: f"# {text}"
    env.filters["to_json"] = json.dumps
    text = env.from_string(SCRIPT.read_text()).render(ansible_managed="managed", backup__dir=str(tmp_path / "bk"))
    key = tmp_path / "config-backup.key"
    key.write_text(private + "\n")
    text = text.replace('"/etc/govnet-backup/config-backup.key"', json.dumps(str(key)))
    script = tmp_path / "restore-test"
    script.write_text(text)
    return script


def run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, check=False)


@pytest.fixture
def sealed(tmp_path: Path) -> tuple[Path, str]:
    """An archive of two devices' configs and the private key that opens it."""
    store = BackupStore(tmp_path / "backups")
    for device, text in CONFIGS.items():
        store.save(device, text)
    private, public = archive.new_key_pair()
    drop = tmp_path / "bk" / "configs"
    latest = [b for b in (store.latest(d) for d in CONFIGS) if b is not None]
    written = archive.write(drop / "configs-20261201T000000Z.gcfg", latest, archive.public_key(public), "lab")
    assert written.devices == 2
    return written.path, private


def test_the_archive_is_encrypted_and_restores_with_every_checksum(tmp_path: Path, sealed: tuple[Path, str]) -> None:
    path, private = sealed
    data = path.read_bytes()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert b"clear-key" not in data and b"hostname" not in data
    proc = run(restore_test(tmp_path, private))  # the latest archive of the drop directory
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["archive"] == str(path)
    assert result["devices"] == {d: hashlib.sha256(t.encode()).hexdigest() for d, t in CONFIGS.items()}


def test_a_changed_byte_fails_the_restore_test(tmp_path: Path, sealed: tuple[Path, str]) -> None:
    path, private = sealed
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    proc = run(restore_test(tmp_path, private), str(path))
    assert proc.returncode == 1
    assert "does not decrypt" in proc.stderr and "Traceback" not in proc.stderr


def test_another_servers_key_cannot_open_it(tmp_path: Path, sealed: tuple[Path, str]) -> None:
    path, _ = sealed
    other, _ = archive.new_key_pair()
    proc = run(restore_test(tmp_path, other), str(path))
    assert proc.returncode == 1 and "does not decrypt" in proc.stderr


def test_a_manifest_that_lies_fails_the_restore_test(tmp_path: Path) -> None:
    """Sealed correctly, but a config differs from its manifest line: the checksum check, not the cipher, fails."""
    private, public = archive.new_key_pair()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (
            ("manifest.json", json.dumps({"devices": {"core1": {"sha256": "0" * 64}}}).encode()),
            ("configs/core1.cfg", CONFIGS["core1"].encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path = tmp_path / "lie.gcfg"
    path.write_bytes(archive.encrypt(buf.getvalue(), archive.public_key(public)))
    proc = run(restore_test(tmp_path, private), str(path))
    assert proc.returncode == 1 and "checksum mismatch: ['core1']" in proc.stderr


def test_no_archive_is_named(tmp_path: Path) -> None:
    private, _ = archive.new_key_pair()
    proc = run(restore_test(tmp_path, private))
    assert proc.returncode == 1 and "no configuration archive in" in proc.stderr


@pytest.mark.parametrize(
    ("text", "why"),
    [("not base64!", "not base64"), (base64.b64encode(os.urandom(16)).decode(), "is 16")],
    ids=["not-base64", "16-bytes"],  # fixed ids: the random key must not make pytest-xdist's workers disagree
)
def test_a_bad_recipient_key_is_refused(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        archive.public_key(text)


def test_the_cli_refuses_a_bad_recipient_before_contacting_any_device(tmp_path: Path) -> None:
    out = tmp_path / "a.gcfg"
    proc = subprocess.run(
        [sys.executable, "-m", "govnet", "backup", "--archive", str(out), "--recipient", "c2hvcnQ="],
        cwd=ROOT, capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == "backup: --recipient: an X25519 public key is 32 bytes, this one is 5"
    assert not out.exists()
