/**
 * Where the function's output goes besides thumbnails: its log group, with retention, and the
 * queue of asynchronous events that exhausted their retries. Resources are created in the scope
 * given (the stack itself), so their Terraform addresses never change.
 */
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import type { Construct } from "constructs";

export interface LogsAndFailuresProps {
  /** The function's name: the log group and queue are named after it. */
  readonly functionName: string;
  readonly logRetentionDays: number;
}

export interface LogsAndFailures {
  readonly logGroup: CloudwatchLogGroup;
  readonly failureQueue: SqsQueue;
}

/** SQS's longest retention: 14 days to look at an event that failed. */
const FOURTEEN_DAYS = 1209600;

export function logsAndFailures(scope: Construct, props: LogsAndFailuresProps): LogsAndFailures {
  // Log group with retention (the function's default group name, created before the function)
  const logGroup = new CloudwatchLogGroup(scope, "log-group", {
    name: `/aws/lambda/${props.functionName}`,
    retentionInDays: props.logRetentionDays,
  });
  // Failure queue: asynchronous invocations that exhausted their retries land here
  const failureQueue = new SqsQueue(scope, "failure-queue", {
    name: `${props.functionName}-failures`,
    sqsManagedSseEnabled: true,
    messageRetentionSeconds: FOURTEEN_DAYS,
  });
  return { logGroup, failureQueue };
}
