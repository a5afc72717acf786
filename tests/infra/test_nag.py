"""cdk-nag AwsSolutions: no unacknowledged error; each acknowledgment carries a real reason."""

from __future__ import annotations

import pytest

from infra import nag
from tests.infra.conftest import Synth

pytestmark = pytest.mark.infra


def test_no_unacknowledged_errors(synth: Synth) -> None:
    report = synth.validation_report()
    errors = [
        (violation["ruleName"], [c["constructPath"] for c in violation["violatingConstructs"]])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        if violation["severity"] == "error"
    ]
    assert errors == []
    assert synth.error is None, synth.error


def test_cdk_nag_ran(synth: Synth) -> None:
    report = synth.validation_report()
    assert [p["pluginName"] for p in report["pluginReports"]] == ["AwsSolutions"]


@pytest.mark.parametrize("finding", [nag.ENI_WILDCARD, nag.PYTHON_RUNTIME, nag.SECRET_ROTATION])
def test_acknowledgments_have_reasons(finding: tuple[str, str]) -> None:
    rule, reason = finding
    assert rule and len(reason.split()) >= 12
