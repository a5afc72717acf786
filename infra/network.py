"""Network: a VPC with isolated subnets only, and just the endpoints the system needs."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct


class Network(Construct):
    """No NAT gateway and no internet route.

    - S3 gateway endpoint (free): functions read and write the bucket.
    - Secrets Manager interface endpoint: functions read the broker and cache credentials,
      and the Amazon MQ event source mapping reads the broker credentials.
    - Lambda interface endpoint: the Amazon MQ event source mapping invokes the converter
      from inside the broker's VPC (AWS documents Lambda + Secrets Manager endpoints for
      RabbitMQ; STS is needed only for ActiveMQ).
    """

    def __init__(self, scope: Construct, construct_id: str, *, max_azs: int,
                 log_retention: logs.RetentionDays) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self, "Vpc",
            max_azs=max_azs,
            nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(
                name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22)],
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(
                service=ec2.GatewayVpcEndpointAwsService.S3)},
        )
        flow_logs = logs.LogGroup(self, "FlowLogs", retention=log_retention,
                                  removal_policy=RemovalPolicy.DESTROY)
        self.vpc.add_flow_log("FlowLog",
                              destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                              traffic_type=ec2.FlowLogTrafficType.REJECT)
        self.functions_sg = ec2.SecurityGroup(
            self, "FunctionsSg", vpc=self.vpc, allow_all_outbound=True,
            description="vmp3 Lambda functions (no internet route: egress stays in the VPC)")
        self.endpoints_sg = ec2.SecurityGroup(
            self, "EndpointsSg", vpc=self.vpc, allow_all_outbound=False,
            description="vmp3 interface endpoints: HTTPS from the functions and the broker")
        self.endpoints_sg.add_ingress_rule(self.functions_sg, ec2.Port.tcp(443),
                                           "functions call AWS APIs")
        services = (("SecretsManager", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
                    ("Lambda", ec2.InterfaceVpcEndpointAwsService.LAMBDA_))
        for name, service in services:
            self.vpc.add_interface_endpoint(
                name, service=service, private_dns_enabled=True, open=False,
                security_groups=[self.endpoints_sg],
                subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED))

    def admit_to_endpoints(self, peer: ec2.ISecurityGroup, description: str) -> None:
        self.endpoints_sg.add_ingress_rule(peer, ec2.Port.tcp(443), description)
