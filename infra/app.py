"""Build the CDK app: used by ../app.py (``cdk synth``) and by tests/infra."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk

ROOT = Path(__file__).resolve().parent.parent
# The stack reads the application's route, topology and settings tables (one source of truth).
if str(ROOT / "functions") not in sys.path:
    sys.path.insert(0, str(ROOT / "functions"))

from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.config import StackConfig  # noqa: E402
from infra.nag import acknowledge  # noqa: E402
from infra.stack import Vmp3Stack  # noqa: E402


def build_app(context: dict[str, Any] | None = None, outdir: str | None = None,
              ) -> tuple[cdk.App, Vmp3Stack]:
    # cdk.json's context (and feature flags) are the defaults, so that a plain
    # ``python app.py`` synthesizes what ``cdk synth`` does; the CLI's -c values still win.
    defaults = json.loads((ROOT / "cdk.json").read_text())["context"]
    outdir = outdir or os.environ.get("CDK_OUTDIR") or str(ROOT / "cdk.out")
    app = cdk.App(context={**defaults, **(context or {})}, outdir=outdir)
    config = StackConfig.from_context(app.node)
    env = cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
                          region=os.environ.get("CDK_DEFAULT_REGION"))
    stack = Vmp3Stack(app, f"vmp3-{config.stage}", config=config, env=env,
                      description=f"vmp3 video-to-MP3 service ({config.stage})")
    cdk.Tags.of(stack).add("project", "vmp3")
    cdk.Tags.of(stack).add("stage", config.stage)
    acknowledge(stack)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app, stack
