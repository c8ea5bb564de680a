"""The render's fast paths give the bytes the plain paths give: forked workers against one process, inlined macro
imports against Jinja's own import, and a re-render that leaves unchanged files alone. A large build's frozen
model (govnet.model.build) is frozen only when large and only when the build succeeded."""

from __future__ import annotations

import gc
import os
import resource
from pathlib import Path

import jinja2
import pytest

import govnet.model as model
from govnet import iosfmt, render
from govnet.model import InventoryError, build, load_network
from govnet.model.derive import TEMPLATES
from govnet.render import acl_addr, acl_name, render_all, render_device

ROOT = Path(__file__).resolve().parents[2]
NETS = {
    (gov, env): load_network(ROOT / "inventory" / gov, env)
    for gov in ("karbala", "babil")
    for env in ("lab", "production")
}
GOLDEN = ROOT / "tests" / "golden"


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def child_page_faults() -> int:
    """Minor page faults of this process's waited-for children: grows when a forked worker ran."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt


@pytest.mark.parametrize(("gov", "env"), list(NETS), ids=[f"{g}-{e}" for g, e in NETS])
def test_forked_workers_write_the_bytes_one_process_writes(
    gov: str, env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = NETS[(gov, env)]
    monkeypatch.setattr(render, "PARALLEL_FROM", 10**9)
    serial = render_all(net, tmp_path / "serial")
    monkeypatch.setattr(render, "PARALLEL_FROM", 1)  # what a national inventory takes, on this small one
    monkeypatch.setattr(os, "cpu_count", lambda: 3)  # two workers and this process, whatever the machine has
    faults, frozen = child_page_faults(), gc.get_freeze_count()
    parallel = render_all(net, tmp_path / "parallel")
    assert child_page_faults() > faults, "the parallel path forked no worker"
    assert [p.name for p in parallel] == [p.name for p in serial] == [f"{d}.cfg" for d in net.devices]
    got, want = files(tmp_path / "parallel"), files(tmp_path / "serial")
    assert got == want
    golden = GOLDEN / env if gov == "karbala" else GOLDEN / gov / env
    assert got == {p.name: p.read_bytes() for p in sorted(golden.glob("*.cfg"))}
    assert gc.get_freeze_count() == frozen, "the render left the model frozen"


def test_a_second_render_rewrites_only_what_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net = NETS[("karbala", "lab")]
    monkeypatch.setattr(render, "PARALLEL_FROM", 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    render_all(net, tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    edited, removed = tmp_path / names[0], tmp_path / names[-1]
    edited.write_text("hand edit\n")
    removed.unlink()
    for name in names[1:-1]:  # a rewrite, however quick, would move these stamps to now
        os.utime(tmp_path / name, ns=(1, 1))
    stamps = {n: (tmp_path / n).stat().st_mtime_ns for n in names[1:-1]}
    render_all(net, tmp_path)
    assert {n: (tmp_path / n).stat().st_mtime_ns for n in names[1:-1]} == stamps
    assert edited.read_text() == render_device(net, edited.stem)
    assert removed.read_text() == render_device(net, removed.stem)


def plain_environment(platform: str) -> jinja2.Environment:
    """The shipped templates as Jinja loads them, includes and imports its own way."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / platform),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(acl_addr=acl_addr, acl_name=acl_name, **iosfmt.FILTERS)
    return env


@pytest.mark.parametrize(("gov", "env"), list(NETS), ids=[f"{g}-{e}" for g, e in NETS])
def test_inlined_templates_render_what_jinja_renders(gov: str, env: str) -> None:
    net = NETS[(gov, env)]
    plain = plain_environment(net.platform)
    bootstrap = (TEMPLATES / net.platform / "bootstrap.j2").exists()  # FRR's day-0 config; IOS has none
    for name, device in net.devices.items():
        context = render._context(net, device, None)
        assert render_device(net, name) == plain.get_template("device.j2").render(context), name
        if bootstrap:
            assert render.render_bootstrap(net, name) == plain.get_template("bootstrap.j2").render(context), name
    source = render.environment(net.platform).loader.get_source(render.environment(net.platform), "device.j2")[0]
    assert "{% include" not in source and "{% from" not in source


def write(directory: Path, texts: dict[str, str]) -> None:
    for name, text in texts.items():
        (directory / name).write_text(text)


MACROS = "{% macro a(x) %}\n a={{ x }}\n{% endmacro %}\n{# b #}\n{% macro b(x) %}\n b={{ x }}\n{% endmacro %}\n"


@pytest.mark.parametrize(
    ("macro_file", "imports", "inlined"),
    [
        (MACROS, "a, b", True),
        (MACROS, "a", False),  # b would be defined where the template did not import it
        ("text outside a macro\n" + MACROS, "a, b", False),  # an import drops that text, an inline would print it
    ],
    ids=["every-macro", "some-macros", "text-outside"],
)
def test_a_macro_import_is_inlined_only_where_it_means_the_same(
    tmp_path: Path, macro_file: str, imports: str, inlined: bool
) -> None:
    device = (
        f'top\n  {{% from "m.macro.j2" import {imports} %}}\n'
        "{{ a(x) }}\n{% if b is defined %}{{ b(x) }}{% endif %}end\n"
    )
    write(tmp_path, {"device.j2": device, "m.macro.j2": macro_file})
    options = {"trim_blocks": True, "lstrip_blocks": True, "keep_trailing_newline": True}
    fast = jinja2.Environment(loader=render.InliningLoader(tmp_path), undefined=jinja2.StrictUndefined, **options)
    plain = jinja2.Environment(loader=jinja2.FileSystemLoader(tmp_path), undefined=jinja2.StrictUndefined, **options)
    assert ("{% from" not in fast.loader.get_source(fast, "device.j2")[0]) is inlined
    assert fast.get_template("device.j2").render(x=1) == plain.get_template("device.j2").render(x=1)


def test_a_large_build_is_frozen_a_small_or_failed_one_is_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frozen = gc.get_freeze_count()
    build(ROOT / "inventory" / "babil", "lab")
    assert gc.get_freeze_count() == frozen and gc.isenabled()
    monkeypatch.setattr(model, "FREEZE_FROM", 1_000)  # Karbala's build leaves about 5,000 objects
    try:
        build(ROOT / "inventory" / "karbala", "lab")
        assert gc.get_freeze_count() > frozen + 1_000 and gc.isenabled()
    finally:
        gc.unfreeze()
    bad = tmp_path / "bad"
    bad.mkdir()
    for path in (ROOT / "inventory" / "karbala").glob("*.yml"):
        (bad / path.name).write_text(path.read_text().replace("kind: datacentre", "kind: datacenter"))
    with pytest.raises(InventoryError):
        build(bad, "lab")
    assert gc.get_freeze_count() == 0 and gc.isenabled()
