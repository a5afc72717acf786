"""Adapters: the real S3, Redis and RabbitMQ behind small interfaces, chosen by URL."""
