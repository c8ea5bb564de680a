"""`govnet validate` on every bad inventory: exit 2, the exact expected lines, no traceback, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.errors.cases import BASE, cases, run_case


def test_there_are_enough_cases() -> None:
    assert len(cases()) >= 25


def test_base_inventory_is_valid(tmp_path: Path) -> None:
    empty = tmp_path / "case"
    empty.mkdir()
    result = run_case(empty, tmp_path)
    assert result.returncode == 0, result.stderr
    assert BASE.exists()


@pytest.mark.parametrize("case", cases(), ids=lambda p: p.name)
def test_bad_inventory(case: Path, tmp_path: Path) -> None:
    result = run_case(case, tmp_path)
    expected = (case / "expected.txt").read_text()
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == expected
    assert result.stdout == ""
    lock_given = (case / "ipam").is_dir()
    written = sorted(p.relative_to(tmp_path) for p in (tmp_path / "inv" / "ipam").rglob("*") if p.is_file())
    given = sorted(Path("inv") / p.relative_to(case) for p in case.rglob("*") if p.is_file() and "ipam" in p.parts)
    assert written == (given if lock_given else []), "validate must not write anything"
    for path in given:
        assert (tmp_path / path).read_bytes() == (case / path.relative_to("inv")).read_bytes(), f"{path} changed"
