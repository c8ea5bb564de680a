"""Pulumi.yaml documents every key the program reads; the stack files use only those keys with the declared
types; reading a stack's configuration gives the settings the stack file says."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import pulumi
from govnet.model.login import LAB_PASSWORD
from govnet_pulumi import settings as settings_module
from govnet_pulumi.settings import SECRET_KEYS, from_config
from tests.pulumi.conftest import ROOT, RecordingMocks

PROJECT = ROOT / "pulumi"
TYPES = {"string": str, "integer": int, "boolean": bool, "array": list}


def declared() -> dict[str, dict[str, Any]]:
    return yaml.safe_load((PROJECT / "Pulumi.yaml").read_text())["config"]


def stack(name: str) -> dict[str, Any]:
    return yaml.safe_load((PROJECT / f"Pulumi.{name}.yaml").read_text())["config"]


def test_every_key_read_is_documented() -> None:
    source = Path(settings_module.__file__).read_text()
    read = set(re.findall(r'cfg\.(?:get|require)\w*\("(\w+)"\)', source))
    assert read == set(declared()) | set(SECRET_KEYS)
    header = (PROJECT / "Pulumi.yaml").read_text()
    for key in SECRET_KEYS:
        assert f"#   {key}" in header, f"secret key {key} is not documented in Pulumi.yaml"
        assert key not in declared(), f"{key} must not be declared with a plain default"


def test_every_declared_key_has_type_default_description() -> None:
    for key, spec in declared().items():
        assert spec.get("description"), key
        assert isinstance(spec["default"], TYPES[spec["type"]]), key


@pytest.mark.parametrize("name", ["lab", "production"])
def test_stack_files_use_declared_keys_with_their_types(name: str) -> None:
    spec = declared()
    for key, value in stack(name).items():
        namespace, _, short = key.partition(":")
        assert namespace == "govnet", key
        assert short in spec, f"Pulumi.{name}.yaml: {key} is not declared in Pulumi.yaml"
        assert isinstance(value, TYPES[spec[short]["type"]]), key
        assert short not in SECRET_KEYS, f"Pulumi.{name}.yaml: {key} in clear text"


def configure(name: str) -> RecordingMocks:
    """What the engine hands the program: project defaults overlaid with the stack file, as strings."""
    values = {f"govnet:{k}": v["default"] for k, v in declared().items()} | stack(name)
    as_text = {k: json.dumps(v) if isinstance(v, list | bool) else str(v) for k, v in values.items()}
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="govnet", stack=name, preview=False)
    pulumi.runtime.set_all_config(as_text, [])
    return mocks


def test_lab_stack_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOVNET_PASSWORD", raising=False)
    monkeypatch.delenv("GOVNET_USERNAME", raising=False)
    configure("lab")
    got = from_config()
    assert got.env == "lab" and got.proxmox is None and got.manage_routers
    assert got.inventory == ROOT / "inventory" / "karbala"
    assert got.known_hosts == str(ROOT / "build" / "lab" / "known_hosts")
    assert got.backup_dir == str(ROOT / "build" / "lab" / "backups")
    assert got.revert_in == 60 and got.router_username == "govnet"
    assert got.router_password.value == LAB_PASSWORD
    assert LAB_PASSWORD not in repr(got)


def test_production_stack_needs_its_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOVNET_PASSWORD", raising=False)
    monkeypatch.delenv("PROXMOX_VE_API_TOKEN", raising=False)
    configure("production")
    with pytest.raises(pulumi.RunError, match="routerPassword"):
        from_config()
    monkeypatch.setenv("GOVNET_PASSWORD", "from-env")
    with pytest.raises(pulumi.RunError, match="proxmoxApiToken"):
        from_config()
    monkeypatch.setenv("PROXMOX_VE_API_TOKEN", "noc@pve!pulumi=x")
    got = from_config()
    assert got.env == "production" and got.revert_in == 300
    assert got.proxmox is not None and got.proxmox.bridge == "vmbr1" and got.proxmox.template_vm_id == 9000
    assert got.known_hosts == str(Path("~/.ssh/govnet_known_hosts").expanduser())


def test_main_builds_the_lab_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """`__main__.py` stays thin: settings → model → build → exports, and it runs as the engine would run it."""
    import runpy

    monkeypatch.delenv("GOVNET_PASSWORD", raising=False)
    mocks = configure("lab")
    exported: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", lambda key, value: exported.__setitem__(key, value))

    @pulumi.runtime.test
    def run() -> pulumi.Output[Any]:
        runpy.run_path(str(PROJECT / "__main__.py"), run_name="__main__")
        return pulumi.Output.from_input(exported["links"])

    run()
    assert set(exported) == {"env", "servers", "vm_ids", "ansible_inventory", "links"}
    # both ends of each of the 42 links
    assert len([d for d in mocks.declared if d.type.endswith(":RouterConfig")]) == 84
    assert len((PROJECT / "__main__.py").read_text().splitlines()) <= 15
