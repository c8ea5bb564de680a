"""ansible-lint (production profile, no skip list) and yamllint over the Ansible content, as CI runs them."""

from __future__ import annotations

import shutil
from pathlib import Path

from .conftest import ROOT, run, tail

YAML_PATHS = [
    "roles",
    "playbooks",
    "collections",
    "inventory/karbala.govnet.yml",
    "inventory/group_vars",
    ".ansible-lint",
    ".yamllint",
]


def test_ansible_lint_production_profile_passes() -> None:
    proc = run(["ansible-lint", "--profile", "production", "--strict", "--offline", "-q"])
    assert proc.returncode == 0, tail(proc)


def test_lint_config_has_no_skip_list() -> None:
    config = (ROOT / ".ansible-lint").read_text()
    assert "skip_list" not in config and "warn_list" not in config
    assert "profile: production" in config


def test_yamllint_passes() -> None:
    proc = run(["yamllint", "--strict", *YAML_PATHS])
    assert proc.returncode == 0, tail(proc)


def test_ansible_lint_rejects_a_sloppy_role(tmp_path: Path) -> None:
    """The lint step can fail: a role with a short module name and a command without changed_when is refused."""
    role = tmp_path / "roles" / "sloppy"
    (role / "tasks").mkdir(parents=True)
    (role / "tasks" / "main.yml").write_text("---\n- name: run something\n  command: /bin/true\n")
    shutil.copy(ROOT / ".ansible-lint", tmp_path / ".ansible-lint")
    proc = run(["ansible-lint", "--profile", "production", "--offline", "roles/sloppy"], cwd=tmp_path)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "fqcn" in out and "no-changed-when" in out, tail(proc)


def test_yamllint_rejects_bad_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("---\nkey: yes\nkey: no\n")
    proc = run(["yamllint", "--strict", "-c", str(ROOT / ".yamllint"), str(bad)])
    assert proc.returncode != 0
    assert "truthy" in proc.stdout and "key-duplicates" in proc.stdout, tail(proc)
