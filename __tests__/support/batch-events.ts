/**
 * S3 Batch Operations invocations as S3 sends them to the function: schema 1.0 names the bucket
 * by ARN, 2.0 by name and carries the job's user arguments. Keys are URL-encoded the way S3
 * encodes them in events ("+" for a space).
 */

import type { BatchEvent } from "../../handler/batch-event";
import { encodeEventKey } from "./s3-events";

export interface TaskSpec {
  readonly bucket: string;
  readonly key: string;
}

let invocation = 0;

export function batchEventV1(...tasks: TaskSpec[]): BatchEvent {
  invocation += 1;
  return {
    invocationSchemaVersion: "1.0",
    invocationId: `invocation-${invocation}`,
    job: { id: "job-1" },
    tasks: tasks.map(({ bucket, key }, index) => ({
      taskId: `task-${index}`,
      s3Key: encodeEventKey(key),
      s3VersionId: null,
      s3BucketArn: `arn:aws:s3:::${bucket}`,
    })),
  };
}

export function batchEventV2(
  userArguments: Record<string, string>,
  ...tasks: TaskSpec[]
): BatchEvent {
  invocation += 1;
  return {
    invocationSchemaVersion: "2.0",
    invocationId: `invocation-${invocation}`,
    job: { id: "job-2", userArguments },
    tasks: tasks.map(({ bucket, key }, index) => ({
      taskId: `task-${index}`,
      s3Key: encodeEventKey(key),
      s3VersionId: null,
      s3Bucket: bucket,
    })),
  };
}
