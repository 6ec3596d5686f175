import { setTimeout as sleep } from "node:timers/promises";
import type { S3Event } from "aws-lambda";
import { describeError } from "../../handler/errors";
import type { Logger } from "../../handler/log";
import type { FailureLog } from "./failure-log";

export interface InvokeOptions {
  /** The function: resolves when the event is done, throws to have it retried. */
  readonly handle: (event: S3Event) => Promise<void>;
  /** Wait before each retry; Lambda's asynchronous invocation retries twice. */
  readonly retryDelaysMs: readonly number[];
  readonly failures: FailureLog;
  readonly log: Logger;
  /** Aborted at shutdown: no more retries (reconciliation at next start redoes the event). */
  readonly signal: AbortSignal;
}

/**
 * Delivers one event the way Lambda's asynchronous invocation does: a thrown error is retried
 * after each delay, and after the last retry the event goes to the on-failure record and the log.
 * Returns "ok", "failed" (recorded) or "aborted" (shutdown interrupted the retries).
 */
export async function invoke(
  event: S3Event,
  options: InvokeOptions,
): Promise<"ok" | "failed" | "aborted"> {
  const { retryDelaysMs, signal } = options;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await options.handle(event);
      return "ok";
    } catch (error) {
      const { code, reason } = describeError(error);
      const retryIn = retryDelaysMs[attempt - 1];
      const record = event.Records[0];
      const where = { bucket: record?.s3.bucket.name, key: record?.s3.object.key };
      if (retryIn === undefined) {
        await options.failures.append({
          kind: "invocation",
          attempts: attempt,
          code,
          reason,
          event,
        });
        options.log.log("error", {
          msg: "invocation failed after retries; event recorded in the on-failure record",
          ...where,
          attempts: attempt,
          code,
          reason,
          record: options.failures.file,
        });
        return "failed";
      }
      options.log.log("warn", {
        msg: "invocation failed; retrying",
        ...where,
        attempt,
        retryIn,
        code,
        reason,
      });
      try {
        await sleep(retryIn, undefined, { signal });
      } catch {
        return "aborted";
      }
    }
  }
}
