"""Credentials from Secrets Manager (LocalStack's) reach the broker connection."""

from __future__ import annotations

import json
import uuid

import boto3

from vmp3.adapters.secrets import with_credentials
from vmp3.services.context import ServiceContext
from vmp3.settings import Settings


def make_secret(endpoint: str, value: dict[str, str]) -> str:
    client = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1")
    return str(client.create_secret(Name=f"vmp3-test-{uuid.uuid4().hex}",
                                    SecretString=json.dumps(value))["ARN"])


def test_broker_credentials_come_from_the_secret(settings: Settings, s3_endpoint: str) -> None:
    arn = make_secret(s3_endpoint, {"username": "guest", "password": "guest"})
    from_secret = settings.model_copy(update={
        "amqp_url": "amqp://127.0.0.1:5672/%2F", "amqp_secret_arn": arn,
        "secrets_endpoint_url": s3_endpoint})
    ctx = ServiceContext(from_secret)
    assert ctx.amqp_url == "amqp://guest:guest@127.0.0.1:5672/%2F"
    assert ctx.publisher.ping()


def test_special_characters_are_quoted(s3_endpoint: str) -> None:
    arn = make_secret(s3_endpoint, {"username": "default", "password": "p@ss/w:rd#1"})
    url = with_credentials("rediss://cache.example:6379/0", arn, s3_endpoint)
    assert url == "rediss://default:p%40ss%2Fw%3Ard%231@cache.example:6379/0"


def test_no_secret_leaves_the_url_alone() -> None:
    assert with_credentials("redis://127.0.0.1:6379/0", None) == "redis://127.0.0.1:6379/0"
