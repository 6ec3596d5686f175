/**
 * Backfill of one existing object: the per-object logic shared by the function's S3 Batch
 * Operations tasks (batch-event.ts) and `thumbnailer backfill --direct` (cli/backfill).
 * It decides whether there is work (mode "missing": only the renditions that are missing or
 * outdated, unless the object failed at this version under these settings; "force": all of
 * them), then hands the object to processObject, the same code an upload goes through, so a
 * backfilled thumbnail is byte for byte the one an upload would have made.
 */

import { HeadObjectCommand } from "@aws-sdk/client-s3";
import type { Rendition } from "./engine";
import { classify, describeError } from "./errors";
import {
  clearFailureRecord,
  type FailureStatus,
  failureStatus,
  readFailureRecord,
} from "./failure-record";
import { type HandlerDeps, processObject, type RecordResult } from "./process-record";
import { isNotFound, s3Failure } from "./s3-errors";
import { normalizeETag, type SourceRecord } from "./s3-event";
import { staleRenditions } from "./thumbnail-state";

export const BACKFILL_MODES = ["missing", "force"] as const;
/** missing: make what is missing or outdated (other source ETag or spec). force: remake all. */
export type BackfillMode = (typeof BACKFILL_MODES)[number];

/** The event name backfilled objects are logged and reported with. */
export const BACKFILL_EVENT = "Backfill";

export interface ExistingObject {
  readonly bucket: string;
  /** The real key (decoded). */
  readonly key: string;
  /** From a listing; when absent (a Batch task), read with HeadObject. */
  readonly eTag?: string;
  readonly size?: number;
}

/** What a backfill would do with an object: make its thumbnail, or this result (nothing to do). */
export type BackfillPlan =
  | {
      readonly make: true;
      readonly source: SourceRecord;
      /** The renditions to make: in mode "missing" only those missing or outdated. */
      readonly renditions: readonly Rendition[];
      /** It failed at this version under other settings: its record goes before the retry. */
      readonly retriesFailure: boolean;
    }
  | { readonly make: false; readonly result: RecordResult };

/**
 * Decides, without writing anything, whether `object` needs its thumbnail made. Never throws:
 * a transient failure is a "retry" result. A source object that does not exist is "failed" with
 * code SOURCE_NOT_FOUND; in mode "missing", an up-to-date thumbnail is "skipped" and an object
 * whose failure record stands (this very ETag, these settings: failureStatus) is "failed" again
 * without being downloaded.
 */
export async function planBackfill(
  object: ExistingObject,
  mode: BackfillMode,
  deps: HandlerDeps,
  started = performance.now(),
): Promise<BackfillPlan> {
  const result = (decision: Decision) => ({
    make: false as const,
    result: unmade(object, decision, started),
  });
  try {
    const found = await describe(object, deps);
    if (found === undefined) {
      return result({
        outcome: "failed",
        code: "SOURCE_NOT_FOUND",
        reason: "the source object does not exist",
      });
    }
    let renditions = deps.config.renditions;
    let status: FailureStatus = "none";
    if (mode === "missing") {
      renditions = await staleRenditions(deps.s3, deps.config, found);
      if (renditions.length === 0) {
        return result({ outcome: "skipped", reason: "every rendition is up to date" });
      }
      const failure = await readFailureRecord(deps.s3, found);
      status = failureStatus(failure, found.eTag, deps.config);
      if (failure !== undefined && status === "stands") {
        const under =
          failure.settings === undefined
            ? "(tag thumbnailer-error on this version, recorded without its settings)"
            : "under these settings (tag thumbnailer-error on this version)";
        return result({
          outcome: "failed",
          code: failure.code,
          reason: `failed before with ${failure.code} ${under}; not retried without force`,
        });
      }
    }
    const source = { ...found, eventName: BACKFILL_EVENT, kind: "created" as const };
    return { make: true, source, renditions, retriesFailure: status === "settings changed" };
  } catch (error) {
    return result(errorDecision(error));
  }
}

/**
 * planBackfill, then the upload path (processObject) when there is work; a failure recorded
 * under other settings is removed first, so the result replaces it. Never throws.
 */
export async function backfillObject(
  object: ExistingObject,
  mode: BackfillMode,
  deps: HandlerDeps,
): Promise<RecordResult> {
  const started = performance.now();
  const plan = await planBackfill(object, mode, deps, started);
  if (!plan.make) return plan.result;
  if (plan.retriesFailure) {
    try {
      await clearFailureRecord(deps.s3, plan.source);
    } catch (error) {
      return unmade(object, errorDecision(error), started);
    }
  }
  return processObject(plan.source, deps, started, plan.renditions);
}

type Decision = Omit<RecordResult, "bucket" | "key" | "event" | "ms">;

/** The result of an object backfilled without going through processObject. */
function unmade(object: ExistingObject, decision: Decision, started: number): RecordResult {
  return {
    bucket: object.bucket,
    key: object.key,
    event: BACKFILL_EVENT,
    ...decision,
    ms: Math.round(performance.now() - started),
  };
}

/** An error met before processObject: fatal (the configuration), else retry. */
function errorDecision(error: unknown): Decision {
  return { outcome: classify(error) === "fatal" ? "fatal" : "retry", ...describeError(error) };
}

interface FoundObject {
  readonly bucket: string;
  readonly key: string;
  /** Without quotes. */
  readonly eTag: string;
  readonly size: number | undefined;
}

/** The object's ETag and size: as listed, or from HeadObject; undefined when it does not exist. */
async function describe(
  object: ExistingObject,
  { s3 }: HandlerDeps,
): Promise<FoundObject | undefined> {
  const { bucket, key } = object;
  if (object.eTag !== undefined) {
    return { bucket, key, eTag: normalizeETag(object.eTag), size: object.size };
  }
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { bucket, key, eTag: normalizeETag(head.ETag ?? ""), size: head.ContentLength };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw s3Failure("HeadObject", bucket, key, error);
  }
}
