/**
 * S3 event notification records, narrowed to what the handler acts on. Records come from outside
 * (S3, a replay, a hand-written test event), so every field is checked before use.
 */

import type { S3Event, S3EventRecord } from "aws-lambda";
import { InvalidRecordError } from "./errors";
import { decodeEventKey } from "./keys";

export type { S3Event, S3EventRecord };
export { InvalidRecordError };

/** What a record asks for: make a thumbnail, remove one, or nothing this function handles. */
export type EventKind = "created" | "removed" | "other";

export interface SourceRecord {
  /** As S3 names it, e.g. "ObjectCreated:Put", "ObjectRemoved:DeleteMarkerCreated". */
  readonly eventName: string;
  readonly kind: EventKind;
  readonly bucket: string;
  /** Decoded: the object's real key. */
  readonly key: string;
  /** Bytes, when the event carries it (created events do). */
  readonly size: number | undefined;
  /** Without quotes, when the event carries it (created events do). */
  readonly eTag: string | undefined;
}

/** Object removals, including delete markers on versioned buckets and lifecycle expiration. */
const REMOVED = /^(ObjectRemoved|LifecycleExpiration):/;
const CREATED = /^ObjectCreated:/;

/** Reads one record; throws InvalidRecordError when it has no bucket or key, or an undecodable key. */
export function parseRecord(record: S3EventRecord): SourceRecord {
  const eventName = String(record?.eventName ?? "").replace(/^s3:/, "");
  const bucket = record?.s3?.bucket?.name;
  const rawKey = record?.s3?.object?.key;
  if (typeof bucket !== "string" || bucket === "" || typeof rawKey !== "string" || rawKey === "") {
    throw new InvalidRecordError("record has no s3.bucket.name or s3.object.key");
  }
  let key: string;
  try {
    key = decodeEventKey(rawKey);
  } catch {
    throw new InvalidRecordError(
      `s3.object.key is not a URL-encoded key: ${JSON.stringify(rawKey)}`,
    );
  }
  const size = record.s3.object.size;
  const eTag = record.s3.object.eTag;
  return {
    eventName,
    kind: CREATED.test(eventName) ? "created" : REMOVED.test(eventName) ? "removed" : "other",
    bucket,
    key,
    size: typeof size === "number" && Number.isFinite(size) ? size : undefined,
    eTag: typeof eTag === "string" && eTag !== "" ? normalizeETag(eTag) : undefined,
  };
}

/** An ETag without the quotes S3 puts around it in HTTP responses (events carry none). */
export function normalizeETag(eTag: string): string {
  return eTag.replace(/^"|"$/g, "");
}
