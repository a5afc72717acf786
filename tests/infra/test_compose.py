"""compose.local.yml parses, and its services, ports and environment match what the code reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml  # type: ignore[import-untyped]

from vmp3.local.gateway import LocalGatewaySettings
from vmp3.settings import Settings

pytestmark = pytest.mark.infra
ROOT = Path(__file__).resolve().parents[2]
# Variables the AWS SDK reads (LocalStack accepts any credentials).
AWS_ENV = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"}
LOCALSTACK_PORT = 4566
GATEWAY_PORT = 8080


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.local.yml").read_text())
    return data


def _published(service: dict[str, Any]) -> set[int]:
    return {int(str(port).split(":")[0]) for port in service.get("ports", [])}


def _default_port(field: str) -> int:
    default: str = Settings.model_fields[field].default
    port = urlsplit(default).port
    assert port is not None
    return port


def test_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"localstack", "rabbitmq", "redis", "gateway", "converter"}


def test_ports_match_the_settings_defaults(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert _default_port("redis_url") in _published(services["redis"])
    assert _default_port("amqp_url") in _published(services["rabbitmq"])
    assert LOCALSTACK_PORT in _published(services["localstack"])
    assert GATEWAY_PORT in _published(services["gateway"])


def test_app_environment_names_are_settings_fields(compose: dict[str, Any]) -> None:
    fields = {f"VMP3_{name.upper()}" for name in Settings.model_fields}
    fields |= {f"VMP3_LOCAL_{name.upper()}" for name in LocalGatewaySettings.model_fields}
    for name in ("gateway", "converter"):
        env = compose["services"][name]["environment"]
        assert set(env) <= fields | AWS_ENV, set(env) - fields - AWS_ENV
        Settings(**{key[5:].lower(): value for key, value in env.items()
                    if key.startswith("VMP3_") and not key.startswith("VMP3_LOCAL_")})


def test_app_endpoints_point_at_the_compose_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    env = services["converter"]["environment"]
    targets = {"VMP3_REDIS_URL": "redis", "VMP3_AMQP_URL": "rabbitmq",
               "VMP3_S3_ENDPOINT_URL": "localstack"}
    for key, service in targets.items():
        url = urlsplit(env[key])
        assert url.hostname == service
        assert url.port in _published(services[service])
    assert env["VMP3_QUEUE_NAME"] == Settings.model_fields["queue_name"].default


def test_app_commands(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["converter"]["command"] == ["worker"]
    assert services["gateway"]["command"][:2] == ["local", "serve-gateway"]
    assert services["gateway"]["entrypoint"] == ["python", "-m", "vmp3"]
