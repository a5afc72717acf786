"""Figures printed by the security and reliability tests and saved for the report.

``scripts/reliability_report`` turns the saved file into docs/reliability.md.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def figures_path() -> Path:
    return Path(os.environ.get("VMP3_FIGURES_FILE", REPO / ".vmp3" / "reliability-figures.json"))


@dataclass
class Figure:
    section: str
    check: str
    figure: str
    passed: bool


@dataclass
class FigureBook:
    figures: list[Figure] = field(default_factory=list)

    def record(self, section: str, check: str, figure: str, passed: bool = True) -> None:
        print(f"FIGURE [{section}] {check}: {figure}")
        self.figures.append(Figure(section, check, figure, passed))

    def save(self, path: Path) -> None:
        if not self.figures:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        merged = {(f["section"], f["check"]): f for f in _load(path)}
        merged.update({(f.section, f.check): asdict(f) for f in self.figures})
        path.write_text(json.dumps(list(merged.values()), indent=2, ensure_ascii=False))


def _load(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    loaded: list[dict[str, object]] = json.loads(path.read_text())
    return loaded
