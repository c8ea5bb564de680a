"""JUnit reports of validate and verify: one testcase per check or problem, unique names, failures marked."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from govnet.cli.app import app
from govnet.junit import Case, junit_xml, verify_cases
from govnet.verify.result import Check

ROOT = Path(__file__).resolve().parents[2]


def govnet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "govnet", *args], capture_output=True, text=True, cwd=ROOT)


def test_validate_junit_lists_each_problem(tmp_path: Path) -> None:
    inv = tmp_path / "inv"
    shutil.copytree(ROOT / "inventory" / "karbala", inv)
    gov = inv / "governorate.yml"
    gov.write_text(gov.read_text().replace("198.18.64.0/18", "198.18.300.0/18", 1))
    proc = govnet("-i", str(inv), "validate", "--junit", str(tmp_path / "v.xml"))
    assert proc.returncode == 2
    problems = [line for line in proc.stderr.splitlines() if "problem(s) found" not in line]
    assert problems and all("Input is not a valid IPv4 network" in p for p in problems)
    root = ET.parse(tmp_path / "v.xml").getroot()
    assert [f.get("message") for f in root.iter("failure")] == problems
    assert root.get("failures") == str(len(problems))


def test_validate_junit_passes_on_karbala(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["-i", str(ROOT / "inventory" / "karbala"), "validate", "--junit", str(tmp_path / "v.xml")]
    )
    assert result.exit_code == 0, result.output
    root = ET.parse(tmp_path / "v.xml").getroot()
    assert root.get("tests") == "1" and root.get("failures") == "0"


def test_verify_cases_are_unique_and_failures_carry_the_detail() -> None:
    checks = [
        Check("reachability", "diwan/staff -> dc/dmz ping", True),
        Check("reachability", "diwan/staff -> dc/dmz ping", False, "100% loss"),
        Check("segmentation", "service -> security tcp/22 blocked", False, "connected"),
    ]
    root = ET.fromstring(junit_xml("govnet-verify", verify_cases(checks)))
    names = [t.get("name") for t in root.iter("testcase")]
    assert names == [
        "diwan/staff -> dc/dmz ping",
        "diwan/staff -> dc/dmz ping #2",
        "service -> security tcp/22 blocked",
    ]
    assert [f.get("message") for f in root.iter("failure")] == ["100% loss", "connected"]


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate testcase names: a"):
        junit_xml("s", [Case("x", "a", True), Case("x", "a", False)])
