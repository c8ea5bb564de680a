"""Problems found in an inventory, each tied to the place a person must edit."""

from __future__ import annotations

from dataclasses import dataclass

#: A path into the inventory's data: `('links', 7, 'b', 'device')`.
Loc = tuple[str | int, ...]


def loc_text(loc: Loc) -> str:
    """`('links', 7, 'b', 'device')` → `links[7].b.device`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<top>"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.where}: {self.what}"


class InventoryError(Exception):
    """The inventory cannot be used; `.errors` lists every problem found, in file order."""

    def __init__(self, errors: list[Problem]) -> None:
        self.errors = sorted(set(errors), key=lambda p: (p.file, p.line, p.where, p.what))
        super().__init__("\n".join(str(e) for e in self.errors))
