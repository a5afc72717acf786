"""Synthesize the CDK app once per session (no bundling: fast, no network, no Docker)."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, ROOT / "functions"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


@dataclass(frozen=True)
class Synth:
    template: Any  # aws_cdk.assertions.Template
    template_path: Path
    outdir: Path
    stack: Any  # infra.stack.Vmp3Stack
    seconds: float
    error: Exception | None

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        data: dict[str, dict[str, Any]] = self.template.to_json()["Resources"]
        return data

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: res for name, res in self.resources.items() if res["Type"] == kind}

    def validation_report(self) -> dict[str, Any]:
        path = self.outdir / "validation-report.json"
        return json.loads(path.read_text()) if path.exists() else {"pluginReports": []}


def cdk_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    context["vmp3:bundle"] = False
    return context


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    from aws_cdk.assertions import Template

    from infra.app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    started = time.monotonic()
    app, stack = build_app(cdk_context(), outdir=str(outdir))
    error: Exception | None = None
    try:
        app.synth()
    except RuntimeError as exc:  # cdk-nag findings fail validation; test_nag reports them
        error = exc
    template = Template.from_json(json.loads((outdir / f"{stack.stack_name}.template.json")
                                             .read_text()))
    return Synth(template, outdir / f"{stack.stack_name}.template.json", outdir, stack,
                time.monotonic() - started, error)
