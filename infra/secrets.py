"""Generated credentials, kept in Secrets Manager as JSON ``{"username", "password"}``."""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct


def credentials(scope: Construct, construct_id: str, *, description: str, username: str,
                length: int) -> secretsmanager.Secret:
    """A user and a generated password with no punctuation: it goes into a URL as it is."""
    return secretsmanager.Secret(
        scope, construct_id,
        description=description,
        generate_secret_string=secretsmanager.SecretStringGenerator(
            secret_string_template=json.dumps({"username": username}),
            generate_string_key="password",
            exclude_punctuation=True,
            password_length=length,
        ),
        removal_policy=RemovalPolicy.DESTROY,
    )
