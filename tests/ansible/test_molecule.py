"""`molecule test` of every role on podman (create, converge, idempotence, verify, destroy). Needs root: the
containers run with the repository's containers.conf (runc, cgroupfs, host network). In CI they must run."""

from __future__ import annotations

import os
import shutil

import pytest

from .conftest import ROLES, ROOT, Run, tail


def test_every_role_has_a_default_scenario() -> None:
    roles = sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir())
    assert roles == ROLES
    assert set(ROLES) == {
        "common",
        "chrony",
        "nftables",
        "bind9",
        "nginx",
        "postgresql",
        "monitoring",
        "rsyslog",
        "app",
        "backup",
        "jumphost",
    }


@pytest.mark.parametrize("role", ROLES)
def test_role_layout(role: str) -> None:
    base = ROOT / "roles" / role
    for part in (
        "defaults/main.yml",
        "tasks/main.yml",
        "tasks/assert.yml",
        "handlers/main.yml",
        "meta/main.yml",
        "README.md",
        "molecule/default/molecule.yml",
        "molecule/default/converge.yml",
        "molecule/default/verify.yml",
    ):
        assert (base / part).is_file(), f"roles/{role}/{part} missing"
    assert any((base / "templates").rglob("*.j2"))
    defaults = (base / "defaults" / "main.yml").read_text().splitlines()
    names = [line.split(":")[0] for line in defaults if line and not line.startswith((" ", "#", "-"))]
    assert names and all(n.startswith(f"{role}__") for n in names), names
    for i, line in enumerate(defaults):
        if line.startswith(f"{role}__"):
            assert defaults[i - 1].startswith("#"), f"{line.split(':')[0]} has no comment"
    tasks = (base / "tasks" / "main.yml").read_text()
    first = tasks.split("_tasks: ", 1)[1].split()[0]
    assert first == "assert.yml", "inputs must be asserted before any change"
    for template in (base / "templates").rglob("*.j2"):
        assert "ansible_managed" in template.read_text(), f"{template} lacks the ansible_managed header"


@pytest.mark.molecule
@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_molecule(role: str, molecule_runs: dict[str, Run]) -> None:
    """The role's scenario, run side by side with the others' (tests/ansible/conftest.py, molecule_runs)."""
    assert shutil.which("podman"), "podman is required for the Molecule scenarios (scripts/bootstrap installs it)"
    assert os.geteuid() == 0
    proc = molecule_runs[role].result()
    assert proc.returncode == 0, tail(proc, 80)
    assert "idempotence" in proc.stdout + proc.stderr


def apt_packages_of_roles() -> set[str]:
    """Every package an `ansible.builtin.apt` task of a role names, version variables filled from the defaults."""
    import yaml

    found: set[str] = set()
    for tasks in (ROOT / "roles").glob("*/tasks/*.yml"):
        role = tasks.parents[1]
        defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
        for task in yaml.safe_load(tasks.read_text()) or []:
            apt = task.get("ansible.builtin.apt")
            if not apt or "name" not in apt:
                continue
            names = apt["name"] if isinstance(apt["name"], list) else [apt["name"]]
            # `name: "{{ <role>__missing }}"`: the task's <role>__wanted list, less what is installed already.
            wanted = {k: v for k, v in (task.get("vars") or {}).items() if k.endswith("__wanted")}
            if wanted:
                names = [n for v in wanted.values() for n in (v if isinstance(v, list) else [v])]
            for name in names:
                if name.strip("{} ") in defaults:  # a list variable such as common__packages
                    found |= set(defaults[name.strip("{} ")])
                    continue
                for var, value in defaults.items():
                    name = name.replace("{{ " + var + " }}", str(value))
                found.add(name)
    return found


def test_lab_image_holds_every_package_the_roles_install() -> None:
    """A lab namespace has no route to a mirror: a package missing from the lab image fails provisioning there."""
    script = (ROOT / "scripts" / "build-base-image").read_text()
    listed = set(script.split('LAB_PACKAGES="', 1)[1].split('"', 1)[0].split())
    wanted = apt_packages_of_roles()
    assert {"python3-psycopg2", "postgresql-15", "openssh-server"} <= wanted
    assert wanted - listed == set()
