"""The audit trail's hash chain catches edits, removals and truncation; secrets never enter it."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from govnet.deploy.audit import AuditLog, redact


def filled(tmp_path: Path, n: int = 4) -> AuditLog:
    log = AuditLog(tmp_path / "audit.jsonl")
    for i in range(n):
        log.append(run="r1", action="deploy", device=f"dev{i}", status="changed", diff=f"+ line {i}")
    return log


def rewrite(log: AuditLog, lines: list[str]) -> None:
    log.path.write_text("".join(lines))


def test_intact_chain_verifies(tmp_path: Path) -> None:
    log = filled(tmp_path)
    assert log.verify() == []
    records = list(log.records())
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    assert records[1]["prev"] == records[0]["hash"]


def test_edited_record_is_detected(tmp_path: Path) -> None:
    log = filled(tmp_path)
    lines = log.path.read_text().splitlines(keepends=True)
    record = json.loads(lines[1])
    record["status"] = "failed"
    lines[1] = json.dumps(record, sort_keys=True) + "\n"
    rewrite(log, lines)
    problems = [str(p) for p in log.verify()]
    assert problems == ["line 2: record 2 was edited (hash mismatch)"]


def test_edit_with_recomputed_hash_breaks_the_next_link(tmp_path: Path) -> None:
    from govnet.deploy.audit import _digest

    log = filled(tmp_path)
    lines = log.path.read_text().splitlines(keepends=True)
    record = json.loads(lines[1])
    record["diff"] = "nothing to see"
    record["hash"] = _digest(record)
    lines[1] = json.dumps(record, sort_keys=True) + "\n"
    rewrite(log, lines)
    assert [str(p) for p in log.verify()] == ["line 3: record 3 does not follow the previous one"]


def test_removed_record_is_detected(tmp_path: Path) -> None:
    log = filled(tmp_path)
    lines = log.path.read_text().splitlines(keepends=True)
    rewrite(log, lines[:1] + lines[2:])
    assert "record 2 is missing (found 3)" in " ".join(str(p) for p in log.verify())


def test_truncated_tail_is_detected(tmp_path: Path) -> None:
    log = filled(tmp_path)
    lines = log.path.read_text().splitlines(keepends=True)
    rewrite(log, lines[:-1])
    assert any("removed from the end" in str(p) for p in log.verify())


def test_appending_after_verification_keeps_the_chain(tmp_path: Path) -> None:
    log = filled(tmp_path, 2)
    AuditLog(log.path).append(run="r2", device="dev9", status="unchanged")
    assert log.verify() == []
    assert list(log.records())[-1]["seq"] == 3


def test_a_deploys_records_are_one_batch_chained_like_single_appends(tmp_path: Path) -> None:
    """``extend`` (a deploy's records: one lock, one fsync) continues the chain from the last record, also
    when that record is longer than the block the tail is read in."""
    log = filled(tmp_path, 1)
    big = "+ " + "x" * 10_000
    log.extend([{"run": "r2", "device": f"dev{i}", "status": "changed", "diff": big} for i in range(3)])
    log.extend([{"run": "r3", "device": "dev0", "status": "unchanged"}])
    assert log.extend([]) == []
    records = list(log.records())
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(records))
    assert log.verify() == []
    assert json.loads(log.head.read_text()) == {"count": 5, "hash": records[-1]["hash"]}


def test_secrets_are_redacted() -> None:
    diff = (
        "Lines To Add\n============\nusername admin secret 9 $9$abcdefghijkl\n"
        "interface eth1\n ip ospf message-digest-key 1 md5 s3cr3tkey\n"
        "router bgp 65010\n neighbor 198.18.0.1 password bgp-pass\n description govnet-lab uplink\n"
    )
    text = redact(diff, ("govnet-lab",))
    for secret in ("$9$abcdefghijkl", "s3cr3tkey", "bgp-pass", "govnet-lab"):
        assert secret not in text
    assert "username admin secret <redacted>" in text
    assert "interface eth1" in text


def test_failed_rollback_is_audited(tmp_path: Path) -> None:
    """`govnet rollback` that cannot reach the device still leaves a record (no traffic: the known_hosts
    file is missing, so the driver refuses before connecting)."""
    from govnet.deploy import ops
    from govnet.deploy.backups import BackupStore
    from govnet.deploy.engine import DeployOptions
    from govnet.deploy.inventory import Credentials
    from govnet.model import load_network

    network = load_network(Path(__file__).resolve().parents[2] / "inventory" / "karbala", "lab")
    saved = BackupStore(tmp_path / "backups").save("diwan-r1", "hostname diwan-r1\n")
    options = DeployOptions(
        creds=Credentials("govnet", "secret-not-logged"), known_hosts=tmp_path / "missing", workdir=tmp_path
    )
    result = ops.rollback(network, options, "diwan-r1", None)
    assert not result.ok and "known_hosts" in result.error
    log = AuditLog(tmp_path / "audit.jsonl")
    (record,) = list(log.records())
    assert record["action"] == "rollback" and record["status"] == "failed" and record["to"] == saved.id
    assert "known_hosts" in record["error"] and log.verify() == []
    assert "secret-not-logged" not in log.path.read_text()
