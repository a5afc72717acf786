"""Operations: alarms on dead letters, function errors and converter failures.

The application emits Powertools (EMF) metrics into ``metrics_namespace(stage)`` with the
default ``service`` dimension set by POWERTOOLS_SERVICE_NAME.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

# Metric names the application must use (Powertools add_metric).
JOBS_SUBMITTED = "JobsSubmitted"  # upload fn, Count, when a job is queued
JOBS_DONE = "JobsDone"  # converter, Count
JOBS_FAILED = "JobsFailed"  # converter, Count
CONVERSION_SECONDS = "ConversionSeconds"  # converter, Seconds, FFmpeg wall time
PERIOD = Duration.minutes(5)


def metrics_namespace(stage: str) -> str:
    return f"vmp3-{stage}"


class Operations(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str, broker_name: str,
                 dead_letter_queue: str, vhost: str, functions: dict[str, lambda_.IFunction],
                 api: apigw.RestApi, alarm_topic_arn: str) -> None:
        super().__init__(scope, construct_id)
        self.alarms: list[cloudwatch.Alarm] = []
        dead_letters = cloudwatch.Metric(
            namespace="AWS/AmazonMQ", metric_name="MessageCount", statistic="Maximum",
            period=PERIOD,
            dimensions_map={"Broker": broker_name, "VirtualHost": vhost,
                            "Queue": dead_letter_queue})
        self._alarm("DeadLetters", dead_letters, "jobs reached the dead-letter queue")
        for name, function in functions.items():
            self._alarm(f"{name.title()}Errors", function.metric_errors(period=PERIOD),
                        f"the {name} function failed")
        failed = cloudwatch.Metric(
            namespace=metrics_namespace(stage), metric_name=JOBS_FAILED, statistic="Sum",
            period=PERIOD, dimensions_map={"service": "converter"})
        self._alarm("ConversionFailures", failed, "conversions failed")
        self._alarm("Api5xx", api.metric_server_error(period=PERIOD, statistic="Sum"),
                    "the API answered 5xx")
        if alarm_topic_arn:
            topic = sns.Topic.from_topic_arn(self, "AlarmTopic", alarm_topic_arn)
            for alarm in self.alarms:
                alarm.add_alarm_action(actions.SnsAction(topic))

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, what: str) -> None:
        self.alarms.append(cloudwatch.Alarm(
            self, construct_id,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"vmp3: {what}",
        ))
