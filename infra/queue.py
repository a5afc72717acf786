"""Queue: Amazon MQ for RabbitMQ, private, credentials in Secrets Manager, topology from vmp3.

Amazon MQ's broker configuration accepts only a short list of keys (consumer_timeout,
heartbeat, ...), not ``load_definitions``. So the topology that ``vmp3.topology`` defines is
imported through the broker's management API (``POST /api/definitions``) by a small custom
resource, before the event source mapping starts to poll. The application also declares the
same topology idempotently when it connects, so both paths agree by construction.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from aws_cdk import CustomResource, Duration, Fn, RemovalPolicy
from aws_cdk import aws_amazonmq as mq
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.roles import function_role
from infra.secrets import credentials
from vmp3.topology import QueueTopology, topology_for

AMQPS_PORT = 5671
MANAGEMENT_PORT = 443
VHOST = "/"
# The broker acks for a job only after the converter returns; 30 min is RabbitMQ's default
# and stays above the converter's 15-minute Lambda cap (ADR 0002).
CONSUMER_TIMEOUT_MS = 30 * 60 * 1000
DEFINITIONS_ASSET = Path(__file__).resolve().parent / "assets" / "mq_definitions"


class Queue(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, vpc: ec2.IVpc, stage: str,
                 queue_name: str, instance_type: str, engine_version: str,
                 high_availability: bool, log_retention: logs.RetentionDays) -> None:
        super().__init__(scope, construct_id)
        self.topology: QueueTopology = topology_for(queue_name)
        self.broker_name = f"vmp3-{stage}"
        # Amazon MQ forbids , : = in passwords.
        self.secret = credentials(
            self, "Credentials", username="vmp3", length=32,
            description="vmp3 Amazon MQ (RabbitMQ) user; also read by the Lambda event source")
        self.security_group = ec2.SecurityGroup(
            self, "BrokerSg", vpc=vpc, allow_all_outbound=True,
            description="vmp3 broker: AMQPS from the functions and the event source mapping")
        # The event source mapping's pollers use the broker's own security group.
        self.security_group.add_ingress_rule(self.security_group, ec2.Port.tcp(AMQPS_PORT),
                                             "Lambda event source mapping pollers")
        configuration = mq.CfnConfiguration(
            self, "Configuration",
            name=f"vmp3-{stage}-rabbitmq",
            engine_type="RABBITMQ",
            engine_version=engine_version,
            authentication_strategy="SIMPLE",
            data=base64.b64encode(
                f"consumer_timeout = {CONSUMER_TIMEOUT_MS}\n".encode()).decode(),
        )
        subnets = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids
        self.broker = mq.CfnBroker(
            self, "Broker",
            broker_name=self.broker_name,
            engine_type="RABBITMQ",
            engine_version=engine_version,
            host_instance_type=instance_type,
            deployment_mode="CLUSTER_MULTI_AZ" if high_availability else "SINGLE_INSTANCE",
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            subnet_ids=subnets if high_availability else [subnets[0]],
            security_groups=[self.security_group.security_group_id],
            configuration=mq.CfnBroker.ConfigurationIdProperty(
                id=configuration.attr_id, revision=configuration.attr_revision),
            logs=mq.CfnBroker.LogListProperty(general=True),
            users=[mq.CfnBroker.UserProperty(
                username=self.secret.secret_value_from_json("username").unsafe_unwrap(),
                password=self.secret.secret_value_from_json("password").unsafe_unwrap(),
            )],
        )
        # amqps://b-<id>.mq.<region>.amazonaws.com:5671 (credentials come from the secret).
        self.amqps_endpoint = Fn.select(0, self.broker.attr_amqp_endpoints)
        self.amqp_url = Fn.join("", [self.amqps_endpoint, "/%2F"])
        self.definitions = self._import_definitions(vpc, log_retention)

    def admit(self, peer: ec2.ISecurityGroup, description: str) -> None:
        self.security_group.add_ingress_rule(peer, ec2.Port.tcp(AMQPS_PORT), description)

    def _import_definitions(self, vpc: ec2.IVpc,
                            log_retention: logs.RetentionDays) -> CustomResource:
        sg = ec2.SecurityGroup(self, "DefinitionsSg", vpc=vpc, allow_all_outbound=True,
                               description="vmp3 topology import: HTTPS to the broker")
        self.security_group.add_ingress_rule(sg, ec2.Port.tcp(MANAGEMENT_PORT),
                                             "topology import via the management API")
        self.importer_sg = sg
        log_group = logs.LogGroup(self, "DefinitionsLogs", retention=log_retention,
                                  removal_policy=RemovalPolicy.DESTROY)
        role = function_role(self, "DefinitionsRole", log_group)
        self.importer_role = role
        self.secret.grant_read(role)
        importer = lambda_.Function(
            self, "DefinitionsImporter",
            description="Imports the vmp3 RabbitMQ topology into Amazon MQ",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(DEFINITIONS_ASSET)),
            role=role,
            log_group=log_group,
            timeout=Duration.minutes(2),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[sg],
        )
        self.importer = importer
        return CustomResource(
            self, "Definitions",
            service_token=importer.function_arn,
            resource_type="Custom::RabbitMqDefinitions",
            properties={
                "AmqpsEndpoint": self.amqps_endpoint,
                "SecretArn": self.secret.secret_arn,
                "Definitions": json.dumps(self.topology.as_definitions(VHOST), sort_keys=True),
            },
        )
