"""The one stack that wires the constructs together."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.api import Api
from infra.cache import Cache
from infra.config import StackConfig
from infra.converter import Converter
from infra.functions import Dependencies, Functions
from infra.network import Network
from infra.operations import Operations
from infra.queue import VHOST, Queue
from infra.storage import Storage
from vmp3.settings import Settings

QUEUE_NAME = Settings.model_fields["queue_name"].default


class Vmp3Stack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig,
                 **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.config = config
        retention = _retention(config.log_retention_days)
        self.network = Network(self, "Network", max_azs=2, log_retention=retention)
        vpc = self.network.vpc
        self.storage = Storage(
            self, "Storage", stage=config.stage,
            upload_retention_days=config.upload_retention_days,
            output_retention_days=config.output_retention_days,
            log_retention_days=config.log_retention_days,
            allowed_origins=config.allowed_origins)
        self.queue = Queue(
            self, "Queue", vpc=vpc, stage=config.stage, queue_name=QUEUE_NAME,
            instance_type=config.broker_instance_type,
            engine_version=config.broker_engine_version,
            high_availability=config.high_availability, log_retention=retention)
        self.cache = Cache(self, "Cache", vpc=vpc, stage=config.stage,
                           node_type=config.cache_node_type,
                           high_availability=config.high_availability)
        functions_sg = self.network.functions_sg
        self.cache.admit(functions_sg, "vmp3 functions")
        self.queue.admit(functions_sg, "vmp3 functions")
        self.network.admit_to_endpoints(self.queue.security_group, "event source mapping")
        self.network.admit_to_endpoints(self.queue.importer_sg, "topology import")
        deps = Dependencies(config=config, vpc=vpc, security_group=functions_sg,
                            storage=self.storage, queue=self.queue, cache=self.cache,
                            log_retention=retention)
        self.functions = Functions(self, "Functions", deps=deps)
        self.converter = Converter(self, "Converter", deps=deps)
        self.api = Api(self, "Api", config=config, log_retention=retention,
                       functions={"upload": self.functions.upload,
                                  "gateway": self.functions.gateway})
        self.operations = Operations(
            self, "Operations", stage=config.stage, broker_name=self.queue.broker_name,
            dead_letter_queue=self.queue.topology.dead_letter_queue, vhost=VHOST,
            functions={"upload": self.functions.upload, "gateway": self.functions.gateway,
                       "converter": self.converter.function},
            api=self.api.rest_api, alarm_topic_arn=config.alarm_topic_arn)
        CfnOutput(self, "ApiUrl", value=self.api.rest_api.url)
        CfnOutput(self, "BucketName", value=self.storage.bucket_name)


RETENTIONS = {
    1: logs.RetentionDays.ONE_DAY, 3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS, 7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS, 30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS, 90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS, 365: logs.RetentionDays.ONE_YEAR,
}


def _retention(days: int) -> logs.RetentionDays:
    """The shortest CloudWatch Logs retention that keeps logs at least ``days``."""
    return next((RETENTIONS[d] for d in sorted(RETENTIONS) if d >= days), RETENTIONS[365])
