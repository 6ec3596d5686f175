/**
 * One S3 event record: make every rendition of a created object, or remove every rendition of
 * a removed one. Never throws: the result says what happened, and "retry" means a transient
 * failure the caller must surface so the event is delivered again (replays are idempotent).
 */

import { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { S3EventRecord } from "aws-lambda";
import type { HandlerConfig } from "./config";
import {
  makeRenditions,
  type Rendition,
  type RenditionFailure,
  type RenditionOutput,
  renditionSpec,
} from "./engine";
import {
  classify,
  type Disposition,
  describeError,
  type ErrorCode,
  PermanentInputError,
  TransientError,
  tooLarge,
} from "./errors";
import { recordFailure } from "./failure-record";
import { destinationKey, isInDestination, isInSource } from "./keys";
import type { Logger } from "./log";
import { isNotFound, isPreconditionFailed, s3Failure } from "./s3-errors";
import { normalizeETag, parseRecord, type SourceRecord } from "./s3-event";
import { settingsFingerprint } from "./settings-fingerprint";
import { thumbnailMetadata } from "./thumbnail-state";

export interface HandlerDeps {
  readonly s3: S3Client;
  readonly config: HandlerConfig;
  readonly log: Logger;
}

/**
 * created/deleted: done. skipped: nothing to do (stale event, object gone, our own output...).
 * failed, retry, fatal: what classify() (handler/errors.ts) says of the error met: the input can
 * never be thumbnailed (recorded on the source object, not retried); a transient failure (the
 * event must be delivered again); the configuration cannot work (stop; no object touched).
 */
export type Outcome = "created" | "deleted" | "skipped" | Disposition;

export interface ImageSummary {
  readonly bytes: number;
  readonly width?: number;
  readonly height?: number;
  readonly format?: string;
}

export interface OutputSummary extends Partial<ImageSummary> {
  readonly rendition: string;
  readonly bucket: string;
  readonly key: string;
}

/** One record's result; also the record's log line. */
export interface RecordResult {
  readonly bucket: string;
  readonly key: string;
  readonly event: string;
  readonly outcome: Outcome;
  readonly reason?: string;
  /** Error code for failed/retry/fatal, e.g. CORRUPT_INPUT, S3_ERROR, INVALID_CONFIG. */
  readonly code?: ErrorCode;
  readonly input?: ImageSummary;
  /** One per rendition: written (created) or removed (deleted). */
  readonly outputs?: readonly OutputSummary[];
  readonly ms: number;
}

type Decision = Omit<RecordResult, "bucket" | "key" | "event" | "ms">;

export async function processRecord(
  record: S3EventRecord,
  deps: HandlerDeps,
  renditions: readonly Rendition[] = deps.config.renditions,
): Promise<RecordResult> {
  const started = performance.now();
  let source: SourceRecord;
  try {
    source = parseRecord(record);
  } catch (error) {
    return {
      bucket: String(record?.s3?.bucket?.name ?? ""),
      key: String(record?.s3?.object?.key ?? ""),
      event: String(record?.eventName ?? ""),
      // Nothing to record a failure on: the record names no usable object.
      outcome: classify(error),
      ...describeError(error),
      ms: Math.round(performance.now() - started),
    };
  }
  return processObject(source, deps, started, renditions);
}

/**
 * One object, however it was announced: an S3 event record (processRecord) or a backfill
 * (handler/backfill-object.ts, which finds the object by listing or from a Batch Operations task).
 */
export async function processObject(
  source: SourceRecord,
  deps: HandlerDeps,
  started = performance.now(),
  renditions: readonly Rendition[] = deps.config.renditions,
): Promise<RecordResult> {
  let decision: Decision;
  try {
    decision = await decide(source, deps, renditions);
  } catch (error) {
    // "failed" was recorded where it happened (created); anything else is retry or fatal.
    decision = {
      outcome: classify(error) === "fatal" ? "fatal" : "retry",
      ...describeError(error),
    };
  }
  return {
    bucket: source.bucket,
    key: source.key,
    event: source.eventName,
    ...decision,
    ms: Math.round(performance.now() - started),
  };
}

async function decide(
  source: SourceRecord,
  deps: HandlerDeps,
  renditions: readonly Rendition[],
): Promise<Decision> {
  const { config } = deps;
  // Defence in depth against loops: never act on our own outputs, whatever the trigger says.
  if (isInDestination(source.bucket, source.key, config)) {
    return { outcome: "skipped", reason: "object is in the destination bucket and prefix" };
  }
  if (!isInSource(source.bucket, source.key, config)) {
    return { outcome: "skipped", reason: "object is outside SOURCE_BUCKET/SOURCE_PREFIX" };
  }
  switch (source.kind) {
    case "created":
      return created(source, deps, renditions);
    case "removed":
      return removed(source, deps);
    default:
      return { outcome: "skipped", reason: "event type is not handled" };
  }
}

/**
 * Reads and decodes the source once and makes every rendition; counts as created only once all
 * are written. A bad input fails every rendition at once (one failure record).
 */
async function created(
  source: SourceRecord,
  deps: HandlerDeps,
  renditions: readonly Rendition[],
): Promise<Decision> {
  if (source.size === 0 && source.key.endsWith("/")) {
    return { outcome: "skipped", reason: "folder placeholder (empty key ending in /)" };
  }
  const { limits } = deps.config;
  let eTag = source.eTag;
  try {
    checkSize(source.size, limits.maxInputBytes);
    const object = await getObject(source, deps);
    if (object === "stale") {
      return { outcome: "skipped", reason: "object changed since the event (ETag differs)" };
    }
    if (object === "gone") return { outcome: "skipped", reason: "object no longer exists" };
    eTag = object.eTag;
    const bytes = await readBody(object, source, limits.maxInputBytes);
    const made = await makeRenditions(bytes, renditions, limits);
    const outputs = await settleAll(
      made.outputs.map((output) => upload(source, object.eTag, output, deps)),
    );
    if (made.failures.length > 0) {
      // The renditions that could be made are written; the object fails for the others.
      return { ...(await fail(source, eTag, renditionsFailed(made.failures), deps)), outputs };
    }
    return { outcome: "created", input: made.input, outputs };
  } catch (error) {
    if (error instanceof PermanentInputError && classify(error) === "failed") {
      return fail(source, eTag, error, deps);
    }
    throw error;
  }
}

/**
 * Waits for every write (or delete), then throws the first failure if any: the record is retried
 * and the replay rewrites the same keys with the same bytes.
 */
async function settleAll<T>(writes: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(writes);
  const failed = settled.find((result) => result.status === "rejected");
  if (failed !== undefined) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
}

/** Writes one rendition to its destination key, with the metadata that names its source. */
async function upload(
  source: SourceRecord,
  eTag: string,
  output: RenditionOutput,
  { s3, config }: HandlerDeps,
): Promise<OutputSummary> {
  const { rendition, data, width, height, format } = output;
  const key = destinationKey(source.key, config, rendition);
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: config.destBucket,
        Key: key,
        Body: data,
        ContentType: output.contentType,
        CacheControl: config.cacheControl,
        Metadata: thumbnailMetadata(
          { bucket: source.bucket, key: source.key, eTag },
          renditionSpec(rendition),
        ),
      }),
    );
  } catch (error) {
    throw s3Failure("PutObject", config.destBucket, key, error);
  }
  return {
    rendition: rendition.name,
    bucket: config.destBucket,
    key,
    bytes: data.length,
    width,
    height,
    format,
  };
}

/**
 * Records a permanent failure on the source object instead of throwing: a retry under the same
 * settings could only fail the same way. Recording is an S3 call; if it fails, its TransientError
 * propagates (retry).
 */
async function fail(
  source: SourceRecord,
  eTag: string | undefined,
  error: PermanentInputError,
  { s3, config }: HandlerDeps,
): Promise<Decision> {
  const { bucket, key, size } = source;
  // The settings of the whole configuration, not only the renditions made now: reconcile and
  // backfill compare them with the configuration's.
  const recorded = await recordFailure(
    s3,
    { bucket, key },
    { code: error.code, eTag: eTag ?? "", settings: settingsFingerprint(config) },
  );
  return {
    outcome: "failed",
    code: error.code,
    reason: recorded ? error.message : `${error.message} (object gone: not tagged)`,
    ...(size === undefined ? {} : { input: { bytes: size } }),
  };
}

/** One error for the renditions an input cannot give: the first's code, each one's reason. */
function renditionsFailed(failures: readonly RenditionFailure[]): PermanentInputError {
  const [first] = failures as [RenditionFailure];
  const reasons = failures.map(
    ({ rendition, error }) => `rendition "${rendition.name}": ${error.message}`,
  );
  return new PermanentInputError(first.error.code, reasons.join("; "));
}

/** Refuses, before any request, what the event already says is empty or too large. */
function checkSize(size: number | undefined, maxInputBytes: number): void {
  if (size === 0) throw new PermanentInputError("EMPTY_INPUT", "object is empty (0 bytes)");
  if (size !== undefined && size > maxInputBytes) {
    throw tooLarge(size, maxInputBytes, "MAX_INPUT_BYTES");
  }
}

interface FoundObject {
  /** Without quotes. */
  readonly eTag: string;
  readonly contentLength: number | undefined;
  readonly body: GetObjectCommandOutput["Body"];
}

/**
 * Opens the version the event is about: GetObject with the event's ETag as If-Match, so a stale
 * event (the object has been overwritten since) gets 412 instead of the newer bytes.
 */
async function getObject(
  source: SourceRecord,
  { s3 }: HandlerDeps,
): Promise<FoundObject | "stale" | "gone"> {
  const { bucket, key } = source;
  let output: GetObjectCommandOutput;
  try {
    output = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: quoted(source.eTag) }),
    );
  } catch (error) {
    if (isPreconditionFailed(error)) return "stale";
    if (isNotFound(error)) return "gone";
    throw s3Failure("GetObject", bucket, key, error);
  }
  const eTag = output.ETag === undefined ? source.eTag : normalizeETag(output.ETag);
  // Some S3-compatible servers (s3rver) ignore If-Match: compare the ETag they return.
  if (source.eTag !== undefined && eTag !== source.eTag) return discard(output.Body, "stale");
  return { eTag: eTag ?? "", contentLength: output.ContentLength, body: output.Body };
}

/** Reads the whole body, unless its length is over the limit (then closes it unread). */
async function readBody(
  object: FoundObject,
  { bucket, key }: SourceRecord,
  maxInputBytes: number,
): Promise<Uint8Array> {
  if (object.contentLength !== undefined && object.contentLength > maxInputBytes) {
    throw discard(object.body, tooLarge(object.contentLength, maxInputBytes, "MAX_INPUT_BYTES"));
  }
  if (object.body === undefined) {
    throw new TransientError("S3_ERROR", `GetObject s3://${bucket}/${key} returned no body`);
  }
  try {
    return await object.body.transformToByteArray();
  } catch (error) {
    throw s3Failure("GetObject (reading the body)", bucket, key, error);
  }
}

/** Closes a response body we will not read, so its connection goes back to the pool. */
function discard<T>(body: unknown, result: T): T {
  if (body instanceof Readable) body.destroy();
  return result;
}

function quoted(eTag: string | undefined): string | undefined {
  return eTag === undefined ? undefined : `"${eTag}"`;
}

/**
 * Deletes every rendition of a removed object, unless the source exists again: events arrive out
 * of order, and a removal processed after a re-upload (or the removal of an old version in a
 * versioned bucket) must not delete the current object's renditions.
 */
async function removed(source: SourceRecord, { s3, config }: HandlerDeps): Promise<Decision> {
  const { bucket, key } = source;
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { outcome: "skipped", reason: "source object exists again: renditions kept" };
  } catch (error) {
    if (!isNotFound(error)) throw s3Failure("HeadObject", bucket, key, error);
  }
  // DeleteObject succeeds whether or not the object exists, so a replay is harmless. Every
  // configured rendition goes, not only those the source had: a rendition added since has none.
  const outputs = await settleAll(
    config.renditions.map(async (rendition): Promise<OutputSummary> => {
      const outputKey = destinationKey(key, config, rendition);
      try {
        await s3.send(new DeleteObjectCommand({ Bucket: config.destBucket, Key: outputKey }));
      } catch (error) {
        throw s3Failure("DeleteObject", config.destBucket, outputKey, error);
      }
      return { rendition: rendition.name, bucket: config.destBucket, key: outputKey };
    }),
  );
  return { outcome: "deleted", outputs };
}
