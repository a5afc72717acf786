"""CloudFormation custom resource: import RabbitMQ definitions into an Amazon MQ broker.

Stdlib + boto3 (in the Lambda runtime) only. Create and Update POST the definitions to the
management API; Delete does nothing (queues may still hold jobs; the broker goes with the stack).
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import boto3

log = logging.getLogger()
log.setLevel(logging.INFO)


def _https(url: str) -> str:
    if urlsplit(url).scheme != "https":
        raise ValueError(f"refusing a non-https URL: {url[:60]}")
    return url


def _credentials(secret_arn: str) -> tuple[str, str]:
    raw = boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    secret = json.loads(raw)
    return secret["username"], secret["password"]


def _import(props: dict[str, Any]) -> None:
    host = urlsplit(props["AmqpsEndpoint"]).hostname
    user, password = _credentials(props["SecretArn"])
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 (https only)
        _https(f"https://{host}/api/definitions"),
        data=props["Definitions"].encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (https only)
        log.info("definitions imported: HTTP %s", response.status)


def _respond(event: dict[str, Any], context: Any, status: str, reason: str) -> None:
    body = json.dumps({
        "Status": status,
        "Reason": f"{reason} (log stream {context.log_stream_name})",
        "PhysicalResourceId": event.get("PhysicalResourceId") or "rabbitmq-definitions",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
    }).encode()
    request = urllib.request.Request(  # noqa: S310 (https only)
        _https(event["ResponseURL"]), data=body, method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))})
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310 (https only)
        pass


def handler(event: dict[str, Any], context: Any) -> None:
    try:
        if event["RequestType"] in ("Create", "Update"):
            _import(event["ResourceProperties"])
        _respond(event, context, "SUCCESS", "ok")
    except Exception as exc:
        log.exception("definitions import failed")
        _respond(event, context, "FAILED", f"{type(exc).__name__}: {exc}"[:500])
