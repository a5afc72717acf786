"""API: a REST API built from vmp3.routes.ROUTES, API keys + usage plan, access logs."""

from __future__ import annotations

import json
import re

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import StackConfig
from vmp3.routes import ROUTES

PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "apiKeyId": "$context.identity.apiKeyId",
    "method": "$context.httpMethod",
    "path": "$context.resourcePath",
    "status": "$context.status",
    "length": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency",
    "time": "$context.requestTime",
}


class Api(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig,
                 functions: dict[str, lambda_.IFunction],
                 log_retention: logs.RetentionDays) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(self, "AccessLogs", retention=log_retention,
                                    removal_policy=RemovalPolicy.DESTROY)
        cors = None
        if config.allowed_origins:
            cors = apigw.CorsOptions(allow_origins=list(config.allowed_origins),
                                     allow_methods=["GET", "POST"],
                                     allow_headers=["Content-Type", "X-Api-Key"])
        self.rest_api = apigw.RestApi(
            self, "RestApi",
            rest_api_name=f"vmp3-{config.stage}",
            description="vmp3: video to MP3",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            default_cors_preflight_options=cors,
            deploy_options=apigw.StageOptions(
                stage_name=config.stage,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                throttling_rate_limit=config.throttle_rate_limit,
                throttling_burst_limit=config.throttle_burst_limit,
            ),
        )
        self.validator = self.rest_api.add_request_validator(
            "Params", validate_request_parameters=True, validate_request_body=False)
        integrations = {name: apigw.LambdaIntegration(fn, allow_test_invoke=False)
                        for name, fn in functions.items()}
        for route in ROUTES:
            resource = self.rest_api.root.resource_for_path(route.path)
            resource.add_method(
                route.method,
                integrations[route.function.value],
                api_key_required=True,
                request_validator=self.validator,
                request_parameters={f"method.request.path.{name}": True
                                    for name in PATH_PARAM.findall(route.path)},
            )
        self._usage_plan(config)

    def _usage_plan(self, config: StackConfig) -> None:
        plan = self.rest_api.add_usage_plan(
            "UsagePlan",
            name=f"vmp3-{config.stage}",
            throttle=apigw.ThrottleSettings(rate_limit=config.throttle_rate_limit,
                                            burst_limit=config.throttle_burst_limit),
            quota=apigw.QuotaSettings(limit=config.quota_per_day, period=apigw.Period.DAY),
        )
        plan.add_api_stage(stage=self.rest_api.deployment_stage)
        for name in config.api_keys:
            key = self.rest_api.add_api_key(f"Key{name.title()}",
                                            api_key_name=f"vmp3-{config.stage}-{name}")
            plan.add_api_key(key)
