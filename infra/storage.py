"""Storage: the data bucket (uploads/, outputs/, jobs/) and the bucket its access logs go to."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

UPLOADS = "uploads/"
OUTPUTS = "outputs/"
JOBS = "jobs/"  # durable job records (vmp3.services.records)


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str,
                 upload_retention_days: int, output_retention_days: int,
                 log_retention_days: int, allowed_origins: tuple[str, ...]) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = s3.Bucket(
            self, "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-logs",
                                              expiration=Duration.days(log_retention_days))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        # A name computed from the account and region (not a Ref to the bucket) lets the
        # bucket's S3 notification point at the upload function without a dependency cycle.
        self.bucket_name = f"vmp3-{stage}-media-{Aws.ACCOUNT_ID}-{Aws.REGION}"
        self.bucket = s3.Bucket(
            self, "Media",
            bucket_name=self.bucket_name,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="media/",
            cors=_cors(allowed_origins),
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-uploads", prefix=UPLOADS,
                                 expiration=Duration.days(upload_retention_days)),
                s3.LifecycleRule(id="expire-outputs", prefix=OUTPUTS,
                                 expiration=Duration.days(output_retention_days)),
                # A job's record lives as long as its MP3.
                s3.LifecycleRule(id="expire-job-records", prefix=JOBS,
                                 expiration=Duration.days(output_retention_days)),
                s3.LifecycleRule(id="abort-incomplete-multipart",
                                 abort_incomplete_multipart_upload_after=Duration.days(1)),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.bucket_arn = f"arn:{Aws.PARTITION}:s3:::{self.bucket_name}"

    def objects(self, prefix: str) -> str:
        return f"{self.bucket_arn}/{prefix}*"

    def grant(self, role: iam.IRole, prefix: str, *actions: str) -> None:
        role.add_to_principal_policy(iam.PolicyStatement(actions=list(actions),
                                                         resources=[self.objects(prefix)]))

    def grant_list(self, role: iam.IRole, *prefixes: str) -> None:
        """ListBucket under ``prefixes``: without it S3 answers 403, not 404, for a missing key."""
        role.add_to_principal_policy(iam.PolicyStatement(
            actions=["s3:ListBucket"], resources=[self.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}}))


def _cors(origins: tuple[str, ...]) -> list[s3.CorsRule] | None:
    """Browsers may POST uploads and GET outputs through presigned URLs from these origins."""
    if not origins:
        return None
    return [s3.CorsRule(
        allowed_origins=list(origins),
        allowed_methods=[s3.HttpMethods.POST, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
        allowed_headers=["Content-Type"],
        exposed_headers=["ETag"],
        max_age=3600,
    )]
