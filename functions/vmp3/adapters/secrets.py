"""Credentials from Secrets Manager, put into a service URL that carries none.

On AWS the stack passes ``VMP3_REDIS_SECRET_ARN`` / ``VMP3_AMQP_SECRET_ARN`` (JSON
``{"username", "password"}``) next to credential-free URLs; locally no ARN is set and the
URL is used as it is.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from aws_lambda_powertools.utilities import parameters

from vmp3.errors import ConfigError

# Powertools caches a secret this long; a ServiceContext reads it once, so a rotated
# password reaches a warm function at its next cold start (docs/deploy.md: rotation runbook).
SECRET_MAX_AGE_S = 300


def with_credentials(url: str, secret_arn: str | None, endpoint_url: str | None = None) -> str:
    if not secret_arn:
        return url
    secret = _fetch(secret_arn, endpoint_url)
    try:
        user, password = str(secret["username"]), str(secret["password"])
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"secret {secret_arn} lacks username/password") from exc
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def _fetch(secret_arn: str, endpoint_url: str | None) -> dict[str, Any]:
    provider = parameters.SecretsProvider(
        boto3_client=_client(endpoint_url)) if endpoint_url else None
    try:
        if provider is not None:
            value = provider.get(secret_arn, transform="json", max_age=SECRET_MAX_AGE_S)
        else:
            value = parameters.get_secret(secret_arn, transform="json", max_age=SECRET_MAX_AGE_S)
    except parameters.exceptions.GetParameterError as exc:
        raise ConfigError(f"cannot read secret {secret_arn}") from exc
    if not isinstance(value, dict):
        raise ConfigError(f"secret {secret_arn} is not a JSON object")
    return value


def _client(endpoint_url: str) -> Any:
    import boto3

    return boto3.client("secretsmanager", endpoint_url=endpoint_url)
