"""Assertions on the synthesized template: what exists, and how tightly it is locked down."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.functions import AMQP_SECRET_ENV, REDIS_SECRET_ENV
from infra.sizing import converter_sizing, upload_sizing
from tests.infra.conftest import Synth
from vmp3.routes import ROUTES
from vmp3.settings import Settings
from vmp3.topology import topology_for

pytestmark = pytest.mark.infra

EXPECTED_KINDS = {
    "AWS::EC2::VPC": 1,
    "AWS::EC2::VPCEndpoint": 3,  # S3 gateway, Secrets Manager, Lambda
    "AWS::EC2::FlowLog": 1,
    "AWS::S3::Bucket": 2,  # media + its access logs
    "AWS::AmazonMQ::Broker": 1,
    "AWS::AmazonMQ::Configuration": 1,
    "Custom::RabbitMqDefinitions": 1,
    "AWS::ElastiCache::ReplicationGroup": 1,
    "AWS::ElastiCache::SubnetGroup": 1,
    "AWS::SecretsManager::Secret": 2,
    "AWS::ApiGateway::RestApi": 1,
    "AWS::ApiGateway::Method": len(ROUTES),
    "AWS::ApiGateway::ApiKey": 1,
    "AWS::ApiGateway::UsagePlan": 1,
    "AWS::ApiGateway::UsagePlanKey": 1,
    "AWS::ApiGateway::RequestValidator": 1,
    "AWS::Lambda::Function": 4,  # upload, gateway, converter, topology importer
    "AWS::Lambda::LayerVersion": 1,
    "AWS::Lambda::EventSourceMapping": 1,
    "AWS::CloudWatch::Alarm": 6,
}
# Which S3 object prefixes each role may touch, with which actions.
S3_GRANTS = {
    "FunctionsUploadRole": {"uploads/*": {"s3:PutObject", "s3:GetObject", "s3:DeleteObject"},
                            "jobs/*": {"s3:PutObject", "s3:GetObject"},
                            "list": {"uploads/*", "jobs/*"}},
    "FunctionsGatewayRole": {"outputs/*": {"s3:GetObject"}, "jobs/*": {"s3:GetObject"},
                             "list": {"jobs/*"}},
    "ConverterConverterRole": {"uploads/*": {"s3:GetObject"},
                               "outputs/*": {"s3:PutObject", "s3:AbortMultipartUpload"},
                               "jobs/*": {"s3:PutObject", "s3:GetObject"},
                               "list": {"jobs/*"}},
}


def _statements(synth: Synth) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, policy in synth.of_type("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            found.append((name, statement))
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _joined(value: Any) -> str:
    """Flatten an Fn::Join resource to a string with placeholders for tokens."""
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(part if isinstance(part, str) else "<token>"
                       for part in value["Fn::Join"][1])
    return value if isinstance(value, str) else "<token>"


def _functions(synth: Synth) -> dict[str, dict[str, Any]]:
    return synth.of_type("AWS::Lambda::Function")


def _function(synth: Synth, prefix: str) -> dict[str, Any]:
    return next(res["Properties"] for name, res in _functions(synth).items()
                if name.startswith(prefix))


def test_every_resource_kind_is_present(synth: Synth) -> None:
    for kind, count in EXPECTED_KINDS.items():
        synth.template.resource_count_is(kind, count)


def test_buckets_block_public_access_encrypt_and_require_tls(synth: Synth) -> None:
    synth.template.all_resources_properties("AWS::S3::Bucket", {
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True, "BlockPublicPolicy": True,
            "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
    })
    for policy in synth.of_type("AWS::S3::BucketPolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(s["Effect"] == "Deny" and s["Condition"] == {
            "Bool": {"aws:SecureTransport": "false"}} for s in statements)


def test_media_bucket_lifecycle_expires_uploads_outputs_and_multipart(synth: Synth) -> None:
    config = synth.stack.config
    synth.template.has_resource_properties("AWS::S3::Bucket", {
        "LifecycleConfiguration": {"Rules": Match.array_with([
            Match.object_like({"Prefix": "uploads/", "Status": "Enabled",
                               "ExpirationInDays": config.upload_retention_days}),
            Match.object_like({"Prefix": "outputs/", "Status": "Enabled",
                               "ExpirationInDays": config.output_retention_days}),
            Match.object_like({"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}),
        ])},
        "LoggingConfiguration": Match.any_value(),
    })


def test_uploads_notify_the_upload_function(synth: Synth) -> None:
    synth.template.has_resource_properties("AWS::S3::Bucket", {
        "NotificationConfiguration": {"LambdaConfigurations": [Match.object_like({
            "Event": "s3:ObjectCreated:*",
            "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "uploads/"}]}}})]}})


def test_no_iam_action_is_a_wildcard(synth: Synth) -> None:
    for name, statement in _statements(synth):
        for action in _as_list(statement["Action"]):
            assert "*" not in action, f"{name} grants {action}"
    for role in synth.of_type("AWS::IAM::Role").values():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                assert all("*" not in a for a in _as_list(statement["Action"]))


def test_s3_grants_are_scoped_to_prefixes(synth: Synth) -> None:
    seen: dict[str, dict[str, set[str]]] = {}
    for name, statement in _statements(synth):
        actions = {a for a in _as_list(statement["Action"]) if a.startswith("s3:")}
        if not actions:
            continue
        role = next((r for r in S3_GRANTS if name.startswith(r)), None)
        assert role is not None, f"unexpected S3 grant in {name}: {actions}"
        if actions == {"s3:ListBucket"}:
            assert _joined(statement["Resource"]).endswith(":s3:::vmp3-dev-media-<token>-<token>")
            prefixes = set(_as_list(statement["Condition"]["StringLike"]["s3:prefix"]))
            seen.setdefault(role, {}).setdefault("list", set()).update(prefixes)
            continue
        for resource in _as_list(statement["Resource"]):
            arn = _joined(resource)
            bucket, _, prefix = arn.partition("/")
            assert bucket.endswith(":s3:::vmp3-dev-media-<token>-<token>"), arn
            assert prefix in ("uploads/*", "outputs/*", "jobs/*"), arn
            seen.setdefault(role, {}).setdefault(prefix, set()).update(actions)
    assert seen == S3_GRANTS


def test_wildcard_resources_only_for_unscopable_ec2_actions(synth: Synth) -> None:
    for name, statement in _statements(synth):
        if "*" in _as_list(statement["Resource"]):
            assert all(a.startswith("ec2:") for a in _as_list(statement["Action"])), name


def test_secrets_are_readable_only_by_their_users(synth: Synth) -> None:
    readers: dict[str, set[str]] = {}
    for name, statement in _statements(synth):
        if "secretsmanager:GetSecretValue" in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                readers.setdefault(resource["Ref"].rstrip("0123456789ABCDEF"), set()).add(
                    name.split("DefaultPolicy")[0])
    assert readers["QueueCredentials"] == {"QueueDefinitionsRole", "FunctionsUploadRole",
                                           "ConverterConverterRole"}
    assert readers["CacheAuthToken"] == {"FunctionsUploadRole", "FunctionsGatewayRole",
                                         "ConverterConverterRole"}


def test_functions_sit_in_the_vpc(synth: Synth) -> None:
    for name, function in _functions(synth).items():
        vpc = function["Properties"].get("VpcConfig", {})
        assert vpc.get("SubnetIds") and vpc.get("SecurityGroupIds"), name


def test_api_requires_keys_on_every_route(synth: Synth) -> None:
    methods = [m["Properties"] for m in synth.of_type("AWS::ApiGateway::Method").values()]
    assert {m["HttpMethod"] for m in methods} == {r.method for r in ROUTES}
    for method in methods:
        if method["HttpMethod"] != "OPTIONS":
            assert method["ApiKeyRequired"] is True
            assert method["Integration"]["Type"] == "AWS_PROXY"
    synth.template.has_resource_properties("AWS::ApiGateway::UsagePlan", {
        "Throttle": {"RateLimit": Match.any_value(), "BurstLimit": Match.any_value()},
        "Quota": {"Limit": synth.stack.config.quota_per_day, "Period": "DAY"}})
    synth.template.has_resource_properties("AWS::ApiGateway::Stage", {
        "AccessLogSetting": {"DestinationArn": Match.any_value(),
                             "Format": Match.string_like_regexp("apiKeyId")}})


def test_api_resources_follow_the_route_table(synth: Synth) -> None:
    resources = synth.of_type("AWS::ApiGateway::Resource").values()
    parts = {r["Properties"]["PathPart"] for r in resources}
    expected = {part for route in ROUTES for part in route.path.strip("/").split("/")}
    assert parts == expected


def test_cache_encrypts_and_authenticates(synth: Synth) -> None:
    synth.template.has_resource_properties("AWS::ElastiCache::ReplicationGroup", {
        "TransitEncryptionEnabled": True,
        "AtRestEncryptionEnabled": True,
        "AuthToken": Match.any_value(),
        "Engine": "redis",
    })


def test_cache_and_broker_admit_only_function_security_groups(synth: Synth) -> None:
    for rule in synth.of_type("AWS::EC2::SecurityGroupIngress").values():
        props = rule["Properties"]
        assert "CidrIp" not in props and "CidrIpv6" not in props, props
        assert "SourceSecurityGroupId" in props


def test_broker_is_private_with_secret_credentials(synth: Synth) -> None:
    synth.template.has_resource_properties("AWS::AmazonMQ::Broker", {
        "EngineType": "RABBITMQ",
        "PubliclyAccessible": False,
        "AutoMinorVersionUpgrade": True,
        "Logs": {"General": True},
    })
    broker = next(iter(synth.of_type("AWS::AmazonMQ::Broker").values()))
    (user,) = broker["Properties"]["Users"]
    for field in ("Username", "Password"):  # dynamic references, never literal values
        assert _joined(user[field]).startswith("{{resolve:secretsmanager:"), user[field]


def test_queue_topology_comes_from_the_application(synth: Synth) -> None:
    resource = next(iter(synth.of_type("Custom::RabbitMqDefinitions").values()))
    imported = json.loads(resource["Properties"]["Definitions"])
    queue = Settings.model_fields["queue_name"].default
    assert imported == topology_for(queue).as_definitions("/")
    synth.template.has_resource_properties("AWS::Lambda::EventSourceMapping", {
        "Queues": [queue],
        "BatchSize": 1,
        "SourceAccessConfigurations": Match.array_with([
            Match.object_like({"Type": "BASIC_AUTH"}),
            {"Type": "VIRTUAL_HOST", "URI": "/"}]),
    })


def test_dead_letter_alarm_watches_the_dead_letter_queue(synth: Synth) -> None:
    dlq = topology_for(Settings.model_fields["queue_name"].default).dead_letter_queue
    synth.template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "Namespace": "AWS/AmazonMQ", "MetricName": "MessageCount",
        "Dimensions": Match.array_with([{"Name": "Queue", "Value": dlq}])})


def test_converter_is_sized_from_the_benchmark(synth: Synth) -> None:
    config = synth.stack.config
    sizing = converter_sizing(config.max_upload_bytes, config.max_duration_s)
    converter = _function(synth, "ConverterFunction")
    assert converter["PackageType"] == "Image"
    assert converter["MemorySize"] == sizing.memory_mb
    assert converter["EphemeralStorage"] == {"Size": sizing.ephemeral_mb}
    assert converter["Timeout"] == sizing.timeout_s <= 900
    env = converter["Environment"]["Variables"]
    assert int(env["VMP3_CONVERSION_TIMEOUT_S"]) < sizing.timeout_s
    upload = _function(synth, "FunctionsUpload")
    assert upload["EphemeralStorage"] == {
        "Size": upload_sizing(config.max_upload_bytes).ephemeral_mb}
    assert upload["Layers"]


def test_function_environment_names_are_settings_fields(synth: Synth) -> None:
    fields = {f"VMP3_{name.upper()}" for name in Settings.model_fields}
    # Secret ARNs the application reads at cold start (reported to the application side).
    pending = {AMQP_SECRET_ENV, REDIS_SECRET_ENV}
    for name, function in _functions(synth).items():
        env = function["Properties"].get("Environment", {}).get("Variables", {})
        for key in env:
            if key.startswith("VMP3_"):
                assert key in fields | pending, f"{name}: {key} is not a Settings field"
        if not name.startswith("QueueDefinitions"):
            assert env["VMP3_STAGE"] == synth.stack.config.stage
            assert env["POWERTOOLS_SERVICE_NAME"]


def test_synth_is_fast(synth: Synth) -> None:
    assert synth.seconds < 60, f"synth took {synth.seconds:.1f} s"
