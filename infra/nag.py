"""cdk-nag AwsSolutions findings this design accepts, each acknowledged with its reason.

cdk-nag 3 acknowledges through CDK's ``Validations.of(construct).acknowledge``; each
granular finding (``IAM5[Resource::...]``) is acknowledged on its own, on the narrowest
construct that carries it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

if TYPE_CHECKING:
    from infra.stack import Vmp3Stack

PACK = "AwsSolutions::AwsSolutions-"

ENI_WILDCARD = (
    "IAM5[Resource::*]",
    "Lambda's VPC network-interface actions (ec2:CreateNetworkInterface, Describe*, ...) and "
    "the Amazon MQ event source's Describe* calls do not support resource-level permissions; "
    "the actions are listed one by one, none is a wildcard.")
PYTHON_RUNTIME = (
    "L1",
    "Python 3.12 is the project's tested interpreter (pyproject requires-python, the "
    "converter's public.ecr.aws/lambda/python:3.12 image); the runtime moves with them.")
SECRET_ROTATION = (
    "SMG4",
    "Amazon MQ users and ElastiCache AUTH tokens have no hosted rotation: rotating means "
    "changing the broker user or the token (AuthTokenUpdateStrategy ROTATE) in step with "
    "the secret; docs/deploy.md has the runbook. The secret never leaves Secrets Manager.")


def _ack(construct: IConstruct, *findings: tuple[str, str]) -> None:
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=PACK + rule, reason=reason) for rule, reason in findings))


def _prefix_wildcard(bucket_arn_pattern: str, prefix: str, why: str) -> tuple[str, str]:
    return (f"IAM5[Resource::{bucket_arn_pattern}/{prefix}*]",
            f"Object keys are per job ({prefix}{{owner}}/{{job_id}}); the grant is limited to "
            f"the {prefix} prefix of the one media bucket: {why}")


def acknowledge(stack: Vmp3Stack) -> None:
    bucket = ("arn:<AWS::Partition>:s3:::"
              f"vmp3-{stack.config.stage}-media-<AWS::AccountId>-<AWS::Region>")
    functions = stack.functions
    converter = stack.converter
    for function in (functions.upload, functions.gateway, stack.queue.importer):
        _ack(function, PYTHON_RUNTIME)
    for role in (functions.upload_role, functions.gateway_role, converter.role,
                 stack.queue.importer_role):
        _ack(role, ENI_WILDCARD)
    records = _prefix_wildcard(bucket, "jobs/", "the job's durable record")
    _ack(functions.upload_role, _prefix_wildcard(
        bucket, "uploads/", "presigned POST, verify, probe and delete a job's upload"), records)
    _ack(functions.gateway_role, _prefix_wildcard(
        bucket, "outputs/", "presigned GET of a job's MP3"), records)
    _ack(converter.role,
         _prefix_wildcard(bucket, "uploads/", "read the job's video"),
         _prefix_wildcard(bucket, "outputs/", "write the job's MP3"), records)
    _ack(stack.queue.secret, SECRET_ROTATION)
    _ack(stack.cache.secret, SECRET_ROTATION)
    _ack(stack.cache.replication_group, (
        "AEC5",
        "A non-default port adds no protection: the security group admits only the functions, "
        "and TLS plus AUTH are required."))
    if not stack.config.high_availability:
        _ack(stack.cache.replication_group, (
            "AEC4",
            "Redis holds only derived job state (S3 and the queue are the durable record); "
            "a single node keeps the dev cost low. Context vmp3:highAvailability=true turns "
            "on Multi-AZ with automatic failover."))
    api = stack.api.rest_api
    _ack(api, (
        "APIG2",
        "Path parameters are validated by API Gateway; request bodies are validated by the "
        "application's pydantic models, the one definition of the body schema."))
    _ack(api, (
        "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonAPIGatewayPushToCloudWatchLogs]",
        "The account-level API Gateway logging role needs exactly this AWS policy; it is "
        "assumable only by apigateway.amazonaws.com."))
    for method in api.methods:
        _ack(method, (
            "APIG4",
            "Callers are identified by API keys with a usage plan (throttle and quota), by "
            "design (ARCHITECTURE.md); the owner of every job is the API key id."),
            ("COG4", "No Cognito user pool: clients are machines holding API keys, not users."))
