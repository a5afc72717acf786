"""The adapters one process uses, built on first use and reused (Lambda keeps them warm)."""

from __future__ import annotations

from functools import cached_property

from vmp3.adapters.broker import Publisher
from vmp3.adapters.jobstore import JobStore
from vmp3.adapters.secrets import with_credentials
from vmp3.adapters.storage import ObjectStore
from vmp3.media.confine import confinement_for
from vmp3.media.convert import Converter
from vmp3.settings import Settings
from vmp3.topology import QueueTopology, topology_for


class ServiceContext:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def topology(self) -> QueueTopology:
        return topology_for(self.settings.queue_name)

    @cached_property
    def redis_url(self) -> str:
        s = self.settings
        return with_credentials(s.redis_url, s.redis_secret_arn, s.secrets_endpoint_url)

    @cached_property
    def amqp_url(self) -> str:
        s = self.settings
        return with_credentials(s.amqp_url, s.amqp_secret_arn, s.secrets_endpoint_url)

    @cached_property
    def jobs(self) -> JobStore:
        return JobStore.from_url(self.redis_url, self.settings.record_ttl_s)

    @cached_property
    def objects(self) -> ObjectStore:
        s = self.settings
        return ObjectStore.connect(s.bucket, s.aws_region, s.s3_endpoint_url,
                                   s.s3_multipart_threshold_bytes)

    @cached_property
    def publisher(self) -> Publisher:
        return Publisher(self.amqp_url, self.topology)

    @cached_property
    def converter(self) -> Converter:
        s = self.settings
        confinement = confinement_for(timeout_s=s.conversion_timeout_s,
                                      memory_bytes=s.ffmpeg_memory_bytes,
                                      max_output_bytes=s.max_output_bytes, sandbox=s.sandbox)
        return Converter.from_paths(s.ffmpeg_path, s.ffprobe_path,
                                    max_duration_s=s.max_duration_s,
                                    timeout_s=s.conversion_timeout_s, confinement=confinement)
