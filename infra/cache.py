"""Cache: ElastiCache Redis for job records and progress; TLS, encryption at rest, AUTH."""

from __future__ import annotations

from aws_cdk import Fn
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from constructs import Construct

from infra.secrets import credentials

REDIS_PORT = 6379


class Cache(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, vpc: ec2.IVpc, stage: str,
                 node_type: str, high_availability: bool) -> None:
        super().__init__(scope, construct_id)
        # AUTH tokens must be printable without @ " /.
        self.secret = credentials(self, "AuthToken", username="default", length=64,
                                  description="vmp3 ElastiCache Redis AUTH token")
        self.security_group = ec2.SecurityGroup(
            self, "CacheSg", vpc=vpc, allow_all_outbound=False,
            description="vmp3 Redis: admits only the functions")
        subnets = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids
        subnet_group = elasticache.CfnSubnetGroup(
            self, "Subnets", description="vmp3 Redis subnets", subnet_ids=subnets,
            cache_subnet_group_name=f"vmp3-{stage}-redis")
        self.replication_group = elasticache.CfnReplicationGroup(
            self, "Redis",
            replication_group_description=f"vmp3 {stage} job metadata",
            engine="redis",
            engine_version="7.1",
            cache_node_type=node_type,
            num_cache_clusters=2 if high_availability else 1,
            automatic_failover_enabled=high_availability,
            multi_az_enabled=high_availability,
            port=REDIS_PORT,
            cache_subnet_group_name=subnet_group.ref,
            security_group_ids=[self.security_group.security_group_id],
            transit_encryption_enabled=True,
            at_rest_encryption_enabled=True,
            auth_token=self.secret.secret_value_from_json("password").unsafe_unwrap(),
            auto_minor_version_upgrade=True,
            snapshot_retention_limit=0,
        )
        # rediss:// = TLS; the AUTH token comes from the secret, not from this URL.
        self.redis_url = Fn.join("", [
            "rediss://", self.replication_group.attr_primary_end_point_address, ":",
            self.replication_group.attr_primary_end_point_port, "/0"])

    def admit(self, peer: ec2.ISecurityGroup, description: str) -> None:
        self.security_group.add_ingress_rule(peer, ec2.Port.tcp(REDIS_PORT), description)
