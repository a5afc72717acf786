#!/usr/bin/env python3
"""CDK entry point: ``cdk synth`` / ``cdk deploy`` (cdk.json runs ``python3 app.py``)."""

from infra.app import build_app

if __name__ == "__main__":
    app, _stack = build_app()
    app.synth()
