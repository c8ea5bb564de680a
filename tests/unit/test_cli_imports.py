"""The command line fails loudly on a broken module, and starts without the device stack.

Each case runs ``govnet`` in a subprocess on a copy of the package in which one module really is broken (it
imports a module that does not exist), so nothing in this process is patched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BROKEN = "import govnet_no_such_module  # broken on purpose by tests/unit/test_cli_imports.py\n"
DEVICE_STACK = ("napalm", "nornir", "nornir_napalm", "netmiko", "paramiko", "govnet.deploy.engine")


def _govnet(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "200"}
    code = "import sys; from govnet.cli import main; sys.argv = ['govnet', *sys.argv[1:]]; main()"
    return subprocess.run(
        [sys.executable, "-P", "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def broken_tree(tmp_path: Path) -> Path:
    """A copy of the package (its network_templates link copied as the directory it points to)."""
    shutil.copytree(ROOT / "govnet", tmp_path / "govnet", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _break(tree: Path, module: str) -> None:
    path = tree / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + BROKEN)


def test_the_copy_works_before_it_is_broken(broken_tree: Path) -> None:
    """The cases below fail because of the broken module, not because of the copy."""
    result = _govnet(broken_tree, "validate")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: inventory/karbala (lab)")


@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("govnet.cli.deploy", ["deploy", "--help"]),  # was "No such command 'deploy'"
        ("govnet.cli.lab", ["lab", "--help"]),
        ("govnet.policy", ["deploy", "--help"]),  # the zone policy silently did not deploy
        ("govnet.cli.verify", ["verify", "--help"]),
        ("govnet.cli.analyze", ["--help"]),  # the help lists every group's commands: it loads each module
        ("govnet.cli.deploy", ["deplyo"]),  # a mistyped command loads every module, to suggest a name
    ],
)
def test_a_broken_cli_module_fails_loudly(broken_tree: Path, module: str, args: list[str]) -> None:
    _break(broken_tree, module)
    result = _govnet(broken_tree, *args)
    assert result.returncode == 1
    assert "No such command" not in result.stderr
    assert "ModuleNotFoundError: No module named 'govnet_no_such_module'" in result.stderr
    assert f"{module.replace('.', '/')}.py" in result.stderr  # the traceback names the broken file


@pytest.mark.parametrize("module", ["govnet.cli.deploy", "govnet.cli.lab", "govnet.cli.verify", "govnet.cli.analyze"])
def test_a_command_does_not_import_the_groups_it_does_not_run(broken_tree: Path, module: str) -> None:
    """The root builds its own commands, and a group's when one of its commands runs: validate, plan and render
    run with every other group's module broken, and the broken group's own command still fails loudly."""
    _break(broken_tree, module)
    assert _govnet(broken_tree, "validate").returncode == 0
    assert _govnet(broken_tree, "plan", "--json").returncode == 0
    command = {"govnet.cli.lab": "lab", "govnet.cli.analyze": "impact"}.get(module, module.rsplit(".", 1)[1])
    result = _govnet(broken_tree, command, "--help")
    assert result.returncode == 1
    assert "ModuleNotFoundError: No module named 'govnet_no_such_module'" in result.stderr


def test_every_command_is_listed_and_reachable() -> None:
    """The lazily mounted groups add exactly the commands the root lists, in the order the help shows them."""
    code = (
        "from govnet.cli.app import GROUPS, app\n"
        "import typer\n"
        "root = typer.main.get_command(app)\n"
        "ctx = root.make_context('govnet', ['validate'])\n"
        "names = root.list_commands(ctx)\n"
        "print(names)\n"
        "print([n for n in names if root.get_command(ctx, n) is None])\n"
        "print(root.list_commands(ctx) == names)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    names, missing, stable = result.stdout.splitlines()
    assert names == str(
        ["validate", "plan", "render", "lab", "deploy", "backup", "drift", "rollback", "audit", "verify", "diagram",
         "analyze", "impact"]
    )  # fmt: skip
    assert missing == "[]" and stable == "True"


@pytest.mark.parametrize("module", ["govnet.deploy.engine", "govnet.deploy.ops"])
def test_a_broken_device_stack_fails_the_device_commands_loudly(broken_tree: Path, module: str) -> None:
    """Imported inside the commands that talk to devices, and still plainly: `deploy` fails with the ImportError."""
    _break(broken_tree, module)
    assert _govnet(broken_tree, "validate").returncode == 0
    result = _govnet(broken_tree, "backup" if module.endswith("ops") else "deploy", "--limit", "core1")
    assert result.returncode == 1
    assert "ModuleNotFoundError: No module named 'govnet_no_such_module'" in result.stderr


def test_commands_that_talk_to_no_device_do_not_import_the_device_stack(tmp_path: Path) -> None:
    code = (
        "import json, sys\n"
        "from govnet.cli.app import app\n"
        "for args in (['validate'], ['plan', '--json'], ['render', '--out', sys.argv[1]], ['audit', '--help']):\n"
        "    try:\n"
        "        app(args, standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {list(DEVICE_STACK)!r}"
        f" or m in {list(DEVICE_STACK)!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "configs")], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []
    assert len(list((tmp_path / "configs").iterdir())) == 39  # render really ran


def test_validate_does_not_import_the_table_and_progress_widgets() -> None:
    """`govnet validate` in an editor hook pays only for what it prints: no rich table, progress bar or diff view."""
    code = (
        "import sys\n"
        "from govnet.cli.app import app\n"
        "try:\n"
        "    app(['validate'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('rich.table', 'rich.progress', 'govnet.deploy.diffview') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_validate_off_a_terminal_prints_its_line_without_rich() -> None:
    """Piped (an editor hook, CI), validate's one line is plain text and rich is never imported; with colour forced
    the same line comes through rich, coloured."""
    code = (
        "import sys\n"
        "from govnet.cli import main\n"
        "sys.argv = ['govnet', 'validate']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(repr(sorted(m for m in sys.modules if m == 'rich' or m.startswith('rich.'))))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    piped = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == "[]", piped.stderr
    from govnet.model import load_network

    net = load_network(ROOT / "inventory" / "karbala", "lab")
    counts = f"{len(net.sites)} sites, {len(net.devices)} devices, {len(net.links)} links"
    assert piped.stdout.startswith(f"ok: inventory/karbala (lab): {counts}, "), piped.stdout
    assert piped.stdout.count("\n") == 1 and "\x1b" not in piped.stdout
    forced = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**env, "FORCE_COLOR": "1"},
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    assert "\x1b[32mok\x1b[0m" in forced.stdout and "'rich.console'" in forced.stderr
