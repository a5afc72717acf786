"""Local emulation of the AWS deployment: LocalStack S3, local RabbitMQ and Redis, a gateway."""
