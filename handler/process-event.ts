/**
 * A whole S3 event: its records processed at most CONCURRENCY at a time, one log line each.
 * Permanent failures are recorded and do not throw; if any record failed transiently, a
 * TransientError is thrown once all the others are done, so Lambda retries the event (replaying
 * the records that succeeded is harmless: same keys, same bytes). A configuration error (fatal)
 * stops the event: records not yet started are left alone, nothing is recorded on any object,
 * and a ConfigError is thrown after one error line saying so.
 */

import type { S3Event } from "aws-lambda";
import { mapBounded } from "./bounded";
import type { Rendition } from "./engine";
import { ConfigError, type TransientCode, TransientError } from "./errors";
import type { LogLevel } from "./log";
import { type HandlerDeps, processRecord, type RecordResult } from "./process-record";

export type { HandlerDeps, Outcome, RecordResult } from "./process-record";

/** The log level of each outcome's line. */
export const LEVEL: Record<RecordResult["outcome"], LogLevel> = {
  created: "info",
  deleted: "info",
  skipped: "info",
  failed: "warn",
  retry: "error",
  fatal: "error",
};

/**
 * `renditions`: which of the configured renditions a created object needs (default all); the
 * local service's reconciliation passes only those missing or outdated.
 */
export async function processEvent(
  event: S3Event,
  deps: HandlerDeps,
  renditions: readonly Rendition[] = deps.config.renditions,
): Promise<RecordResult[]> {
  const records = Array.isArray(event?.Records) ? event.Records : [];
  let fatal: RecordResult | undefined;
  const settled = await mapBounded(records, deps.config.concurrency, async (record) => {
    if (fatal !== undefined) return undefined;
    const result = await processRecord(record, deps, renditions);
    deps.log.log(LEVEL[result.outcome], { ...result });
    if (result.outcome === "fatal") fatal ??= result;
    return result;
  });
  const results = settled.filter((result) => result !== undefined);
  if (fatal !== undefined) {
    const message =
      `configuration error: stopped after ${results.length} of ${records.length} record(s); ` +
      `no failure was recorded on any object. Fix the setting and redeliver the event ` +
      `(e.g. from the failure queue): ${fatal.reason ?? "unknown error"}`;
    deps.log.log("error", { msg: message, code: fatal.code });
    throw new ConfigError(message, {
      code: fatal.code === "INVALID_OPTIONS" ? "INVALID_OPTIONS" : "INVALID_CONFIG",
    });
  }
  const retry = results.filter((result) => result.outcome === "retry");
  const first = retry[0];
  if (first !== undefined) {
    const code: TransientCode =
      first.code === "S3_ERROR" || first.code === "TIMEOUT" ? first.code : "INTERNAL";
    throw new TransientError(
      code,
      `${retry.length} of ${results.length} record(s) failed transiently and will be retried; ` +
        `first: s3://${first.bucket}/${first.key}: ${first.reason ?? "unknown error"}`,
    );
  }
  return results;
}
