"""Converter: a container-image Lambda fed by the Amazon MQ event source mapping (ADR 0002)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, IgnoreMode, Size
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.functions import AMQP_SECRET_ENV, Dependencies, environment, new_role
from infra.queue import VHOST
from infra.sizing import ConverterSizing, converter_sizing
from infra.storage import JOBS, OUTPUTS, UPLOADS

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = "functions/converter/Dockerfile"
# The image build context is the repository, narrowed to what the Dockerfile copies.
CONTEXT_ALLOW = [
    "*",
    "!pyproject.toml",
    "!functions",
    "!layers/ffmpeg/requirements.txt",
    "!infra/lambda_requirements.py",
    "**/__pycache__",
    "**/*.egg-info",
]
# The event source mapping's own permissions (Lambda docs, "Amazon MQ execution role").
ESM_EC2_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)


class Converter(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, deps: Dependencies) -> None:
        super().__init__(scope, construct_id)
        config = deps.config
        self.sizing: ConverterSizing = converter_sizing(config.max_upload_bytes,
                                                        config.max_duration_s)
        role, log_group = new_role(self, "Converter", deps)
        self.role = role
        deps.storage.grant(role, UPLOADS, "s3:GetObject")
        deps.storage.grant(role, OUTPUTS, "s3:PutObject", "s3:AbortMultipartUpload")
        deps.storage.grant(role, JOBS, "s3:PutObject", "s3:GetObject")
        deps.storage.grant_list(role, JOBS)
        self._grant_event_source(role, deps)
        env = environment(deps, "converter")
        env[AMQP_SECRET_ENV] = deps.queue.secret.secret_arn
        env["VMP3_CONVERSION_TIMEOUT_S"] = str(self.sizing.conversion_timeout_s)
        env["VMP3_FFMPEG_PATH"] = "/opt/bin/ffmpeg"
        env["VMP3_FFPROBE_PATH"] = "/opt/bin/ffprobe"
        self.function = lambda_.DockerImageFunction(
            self, "Function",
            description="vmp3 converter (aws:rmq batches of one job)",
            code=lambda_.DockerImageCode.from_image_asset(
                str(ROOT), file=DOCKERFILE, exclude=CONTEXT_ALLOW, ignore_mode=IgnoreMode.DOCKER,
                platform=ecr_assets.Platform.LINUX_AMD64),
            architecture=lambda_.Architecture.X86_64,
            role=role,
            log_group=log_group,
            memory_size=self.sizing.memory_mb,
            ephemeral_storage_size=Size.mebibytes(self.sizing.ephemeral_mb),
            timeout=Duration.seconds(self.sizing.timeout_s),
            reserved_concurrent_executions=config.converter_concurrency,
            vpc=deps.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[deps.security_group],
            environment=env,
        )
        self.event_source = lambda_.CfnEventSourceMapping(
            self, "BrokerSource",
            function_name=self.function.function_name,
            event_source_arn=deps.queue.broker.attr_arn,
            queues=[deps.queue.topology.queue],
            # One job per invocation: a batch would multiply the run time toward the cap.
            batch_size=1,
            source_access_configurations=[
                lambda_.CfnEventSourceMapping.SourceAccessConfigurationProperty(
                    type="BASIC_AUTH", uri=deps.queue.secret.secret_arn),
                lambda_.CfnEventSourceMapping.SourceAccessConfigurationProperty(
                    type="VIRTUAL_HOST", uri=VHOST),
            ],
        )
        # The role must hold the ESM permissions, and the queue must exist, before polling.
        policy = role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            self.event_source.node.add_dependency(policy)
        self.event_source.node.add_dependency(deps.queue.definitions)

    @staticmethod
    def _grant_event_source(role: iam.Role, deps: Dependencies) -> None:
        deps.queue.secret.grant_read(role)
        role.add_to_policy(iam.PolicyStatement(actions=["mq:DescribeBroker"],
                                               resources=[deps.queue.broker.attr_arn]))
        role.add_to_policy(iam.PolicyStatement(actions=list(ESM_EC2_ACTIONS), resources=["*"]))
