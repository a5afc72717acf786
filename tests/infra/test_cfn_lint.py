"""cfn-lint on the synthesized template: no errors (warnings are reported, not fatal)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.infra.conftest import Synth

pytestmark = pytest.mark.infra
ERRORS = 2  # cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational


def test_cfn_lint_finds_no_errors(synth: Synth) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cfnlint", "--regions", "us-east-1", "eu-west-1", "--",
         str(synth.template_path)],
        capture_output=True, text=True, check=False)
    assert result.returncode & ERRORS == 0, result.stdout + result.stderr
