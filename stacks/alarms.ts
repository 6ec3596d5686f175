/**
 * The function's alarms: errors, throttles, dropped events and a non-empty failure queue, each
 * on any occurrence in five minutes, with an optional e-mail subscription (stacks/alarm-topic.ts).
 * Resources are created in the scope given (the stack itself), so their Terraform addresses never
 * change.
 */
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import type { Construct } from "constructs";
import { AlarmTopic } from "./alarm-topic";

export interface FunctionAlarmsProps {
  /** The deployment's name: alarm names start with it. */
  readonly name: string;
  readonly functionName: string;
  readonly failureQueueName: string;
  readonly accountId: string;
  readonly region: string;
  /** Where alarm notifications go; none: the alarms only change state. */
  readonly email?: string;
}

interface Metric {
  readonly namespace: string;
  readonly metricName: string;
  readonly statistic: string;
  readonly dimensions: Record<string, string>;
}

interface Alarm {
  readonly id: string;
  readonly description: string;
  readonly metric: Metric;
}

/** What is watched: the function's own metrics, and the failure queue's depth. */
function watched(props: FunctionAlarmsProps): Alarm[] {
  const lambdaMetric = (metricName: string): Metric => ({
    namespace: "AWS/Lambda",
    metricName,
    statistic: "Sum",
    dimensions: { FunctionName: props.functionName },
  });
  return [
    {
      id: "errors",
      description: "The function failed (each failure is retried)",
      metric: lambdaMetric("Errors"),
    },
    {
      id: "throttles",
      description: "Invocations were throttled",
      metric: lambdaMetric("Throttles"),
    },
    {
      id: "dropped-events",
      description: "Asynchronous events were dropped before the function ran them",
      metric: lambdaMetric("AsyncEventsDropped"),
    },
    {
      id: "failure-queue-depth",
      description: "Events exhausted their retries: see the failure queue",
      metric: {
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        statistic: "Maximum",
        dimensions: { QueueName: props.failureQueueName },
      },
    },
  ];
}

/** The alarms, and the topic they notify when an e-mail address is configured. */
export function functionAlarms(scope: Construct, props: FunctionAlarmsProps): void {
  const alarms = watched(props);
  const alarmName = (id: string) => `${props.name}-${id}`;
  // The topic and its e-mail subscription, when there is an address
  const alarmActions =
    props.email === undefined
      ? undefined
      : [
          new AlarmTopic(scope, "alarms", {
            topicName: `${props.name}-alarms`,
            accountId: props.accountId,
            region: props.region,
            alarmNames: alarms.map(({ id }) => alarmName(id)),
            email: props.email,
          }).topicArn,
        ];
  // One alarm per metric, on any occurrence in five minutes
  for (const { id, description, metric } of alarms) {
    new CloudwatchMetricAlarm(scope, id, {
      alarmName: alarmName(id),
      alarmDescription: description,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: 1,
      evaluationPeriods: 1,
      period: 300,
      treatMissingData: "notBreaching",
      alarmActions,
      okActions: alarmActions,
      ...metric,
    });
  }
}
