/**
 * S3 Batch Operations events (`thumbnailer backfill --batch` creates the job): each task names
 * one existing object, which backfillObject processes; the answer is Batch's result format, one
 * result per task. Invocation schema 1.0 names the bucket by ARN, 2.0 by name and carries the
 * job's user arguments (`mode`: missing | force; 1.0 and no argument mean "missing").
 *
 *   created, skipped        -> Succeeded
 *   retry (S3, throttling)  -> TemporaryFailure: Batch runs the task again
 *   failed (a bad image, a missing source object, a task we cannot read) -> PermanentFailure
 *   fatal (a configuration that cannot work; the object untouched) -> PermanentFailure
 *
 * The resultString is short: "<outcome> <code>: <reason>", at most RESULT_STRING_MAX characters.
 */

import type { S3BatchEvent, S3BatchResult, S3BatchResultResultCode } from "aws-lambda";
import {
  BACKFILL_EVENT,
  BACKFILL_MODES,
  type BackfillMode,
  backfillObject,
} from "./backfill-object";
import { mapBounded } from "./bounded";
import { decodeEventKey } from "./keys";
import { LEVEL } from "./process-event";
import type { HandlerDeps, Outcome, RecordResult } from "./process-record";

/** Schema 2.0 task: the bucket by name. */
interface BatchTaskV2 {
  readonly taskId: string;
  readonly s3Key: string;
  readonly s3VersionId: string | null;
  readonly s3Bucket: string;
}

/** A Batch Operations invocation, schema 1.0 (@types/aws-lambda's S3BatchEvent) or 2.0. */
export type BatchEvent =
  | S3BatchEvent
  | {
      readonly invocationSchemaVersion: "2.0";
      readonly invocationId: string;
      readonly job: { readonly id: string; readonly userArguments?: Record<string, string> };
      readonly tasks: BatchTaskV2[];
    };

export type { S3BatchResult as BatchResult };

/** Why a task or the job's arguments cannot be used: the task fails permanently (INVALID_TASK). */
interface Problem {
  readonly problem: string;
}

/** Batch keeps result strings short in its report; ours name the outcome, code and reason. */
export const RESULT_STRING_MAX = 512;

const RESULT_CODE: Record<Outcome, S3BatchResultResultCode> = {
  created: "Succeeded",
  deleted: "Succeeded",
  skipped: "Succeeded",
  failed: "PermanentFailure",
  retry: "TemporaryFailure",
  // The task is not retried against a configuration that cannot work; the object is untouched.
  fatal: "PermanentFailure",
};

/** True for an S3 Batch Operations invocation (S3 event notifications have `Records`). */
export function isBatchEvent(event: unknown): event is BatchEvent {
  if (typeof event !== "object" || event === null) return false;
  const candidate = event as Record<string, unknown>;
  return typeof candidate.invocationSchemaVersion === "string" && Array.isArray(candidate.tasks);
}

export async function processBatchEvent(
  event: BatchEvent,
  deps: HandlerDeps,
): Promise<S3BatchResult> {
  const mode = readMode(event);
  const tasks: readonly unknown[] = event.tasks;
  const results = await mapBounded(tasks, deps.config.concurrency, async (task) => {
    const result = await processTask(task, mode, deps);
    deps.log.log(LEVEL[result.outcome], {
      jobId: event.job?.id,
      taskId: taskIdOf(task),
      ...result,
    });
    return {
      taskId: taskIdOf(task),
      resultCode: RESULT_CODE[result.outcome],
      resultString: resultString(result),
    };
  });
  return {
    invocationSchemaVersion: event.invocationSchemaVersion,
    // A task we answer nothing for is not retried forever.
    treatMissingKeysAs: "PermanentFailure",
    invocationId: event.invocationId,
    results,
  };
}

/** The job's mode, or a message saying why the user arguments cannot be used. */
function readMode(event: BatchEvent): BackfillMode | Problem {
  const args = "userArguments" in event.job ? event.job.userArguments : undefined;
  const value = args?.mode;
  if (value === undefined) return "missing";
  const mode = BACKFILL_MODES.find((candidate) => candidate === value);
  if (mode !== undefined) return mode;
  return {
    problem: `userArguments.mode=${JSON.stringify(value)} is invalid: expected one of ${BACKFILL_MODES.join(", ")}`,
  };
}

async function processTask(
  task: unknown,
  mode: BackfillMode | Problem,
  deps: HandlerDeps,
): Promise<RecordResult> {
  const object = readTask(task);
  if ("problem" in object) return invalidTask({ bucket: "", key: "" }, object);
  if (typeof mode !== "string") return invalidTask(object, mode);
  return backfillObject(object, mode, deps);
}

function invalidTask(
  { bucket, key }: { readonly bucket: string; readonly key: string },
  { problem }: Problem,
): RecordResult {
  return {
    bucket,
    key,
    event: BACKFILL_EVENT,
    outcome: "failed",
    code: "INVALID_TASK",
    reason: problem,
    ms: 0,
  };
}

/** The task's bucket (from s3Bucket, or the name at the end of s3BucketArn) and decoded key. */
function readTask(task: unknown): { readonly bucket: string; readonly key: string } | Problem {
  const fields = (typeof task === "object" && task !== null ? task : {}) as Record<string, unknown>;
  const { s3Bucket, s3BucketArn, s3Key } = fields;
  const bucket =
    typeof s3Bucket === "string"
      ? s3Bucket
      : typeof s3BucketArn === "string"
        ? s3BucketArn.slice(s3BucketArn.lastIndexOf(":") + 1)
        : "";
  if (bucket === "" || typeof s3Key !== "string" || s3Key === "") {
    return { problem: "task has no s3Bucket (or s3BucketArn) or s3Key" };
  }
  try {
    // Batch URL-encodes keys as S3 event notifications do ("+" for a space, %XX for UTF-8).
    return { bucket, key: decodeEventKey(s3Key) };
  } catch {
    return { problem: `s3Key is not a URL-encoded key: ${JSON.stringify(s3Key)}` };
  }
}

function taskIdOf(task: unknown): string {
  const taskId = (task as { taskId?: unknown } | null)?.taskId;
  return typeof taskId === "string" ? taskId : "";
}

/** "created s3://thumbs/a.jpg", "skipped: every rendition is up to date", "failed CORRUPT_INPUT: ...". */
export function resultString(result: RecordResult): string {
  const text =
    result.outcome === "created" && result.outputs !== undefined
      ? `created ${result.outputs.map((output) => `s3://${output.bucket}/${output.key}`).join(" ")}`
      : `${result.outcome}${result.code === undefined ? "" : ` ${result.code}`}: ${result.reason ?? ""}`;
  return text.length <= RESULT_STRING_MAX ? text : `${text.slice(0, RESULT_STRING_MAX - 3)}...`;
}
