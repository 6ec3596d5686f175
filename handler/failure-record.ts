/**
 * The permanent-failure record: tags on the source object, where an operator (and reconcile)
 * can find them without reading logs:
 *   thumbnailer-error           the error code, e.g. CORRUPT_INPUT
 *   thumbnailer-error-etag      the ETag of the object version that failed
 *   thumbnailer-error-settings  the settings it failed under (handler/settings-fingerprint.ts)
 * Other tags on the object are kept. Writing the record is an S3 call like any other: when it
 * fails, the failure is transient (thrown, retried).
 *
 * A record stands, and reconcile/backfill do not retry the object, while it is for the object's
 * current ETag and was made under the current settings. A record without the settings tag
 * (written before it existed, or on an object with only two tags free) stands whatever the
 * settings: only a new upload or a forced backfill retries it, as before.
 */

import {
  GetObjectTaggingCommand,
  PutObjectTaggingCommand,
  type S3Client,
  type Tag,
} from "@aws-sdk/client-s3";
import type { HandlerConfig } from "./config";
import { type ErrorCode, isErrorCode, TransientError } from "./errors";
import { isNotFound, s3Failure } from "./s3-errors";
import { normalizeETag } from "./s3-event";
import { settingsFingerprint } from "./settings-fingerprint";

export const FAILURE_TAGS = {
  code: "thumbnailer-error",
  eTag: "thumbnailer-error-etag",
  settings: "thumbnailer-error-settings",
} as const;

const OURS: ReadonlySet<string> = new Set(Object.values(FAILURE_TAGS));

/** S3 allows at most 10 tags per object. */
const MAX_TAGS = 10;

export interface FailureRecord {
  readonly code: ErrorCode;
  /** Without quotes. */
  readonly eTag: string;
  /** settingsFingerprint() of the configuration it failed under; undefined: not recorded. */
  readonly settings: string | undefined;
}

/**
 * Tags the source object with the failure (GetObjectTagging, then PutObjectTagging with the
 * existing tags kept). Returns false when the object no longer exists: nothing to record on.
 * With only two tags free, the settings are left out (a record that stands whatever they are).
 */
export async function recordFailure(
  s3: S3Client,
  object: { readonly bucket: string; readonly key: string },
  failure: { readonly code: ErrorCode; readonly eTag: string; readonly settings: string },
): Promise<boolean> {
  const { bucket, key } = object;
  const existing = await readTags(s3, bucket, key);
  if (existing === undefined) return false;
  const kept = existing.filter((tag) => !OURS.has(tag.Key ?? ""));
  if (kept.length + 2 > MAX_TAGS) {
    throw new TransientError(
      "S3_ERROR",
      `cannot tag s3://${bucket}/${key} with ${failure.code}: it already has ${kept.length} ` +
        `other tags and S3 allows ${MAX_TAGS}`,
    );
  }
  const TagSet: Tag[] = [
    ...kept,
    { Key: FAILURE_TAGS.code, Value: failure.code },
    { Key: FAILURE_TAGS.eTag, Value: normalizeETag(failure.eTag) },
    ...(kept.length + 3 > MAX_TAGS
      ? []
      : [{ Key: FAILURE_TAGS.settings, Value: failure.settings }]),
  ];
  return writeTags(s3, bucket, key, TagSet);
}

/**
 * Removes the failure record, keeping the object's other tags: before a retry, so that the
 * result replaces it (a success leaves none, a failure records itself anew). Nothing to do when
 * the object has no record or no longer exists.
 */
export async function clearFailureRecord(
  s3: S3Client,
  object: { readonly bucket: string; readonly key: string },
): Promise<void> {
  const { bucket, key } = object;
  const existing = await readTags(s3, bucket, key);
  if (existing === undefined) return;
  const kept = existing.filter((tag) => !OURS.has(tag.Key ?? ""));
  if (kept.length < existing.length) await writeTags(s3, bucket, key, kept);
}

/**
 * The failure recorded on an object, if any (whatever version it was for). A tag whose value is
 * none of our codes was not written by this function: no record.
 */
export async function readFailureRecord(
  s3: S3Client,
  object: { readonly bucket: string; readonly key: string },
): Promise<FailureRecord | undefined> {
  const tags = (await readTags(s3, object.bucket, object.key)) ?? [];
  const value = (name: string) => tags.find((tag) => tag.Key === name)?.Value;
  const code = value(FAILURE_TAGS.code);
  const eTag = value(FAILURE_TAGS.eTag);
  if (!isErrorCode(code) || eTag === undefined) return undefined;
  return { code, eTag, settings: value(FAILURE_TAGS.settings) };
}

/**
 * What a failure record says of one version (`eTag`) of its object under `config`:
 *   none              no record, or one for another version: the object is to be made;
 *   stands            this version failed under these settings, or under settings not recorded:
 *                     not retried without force;
 *   settings changed  this version failed under other settings: retried.
 */
export type FailureStatus = "none" | "stands" | "settings changed";

export function failureStatus(
  record: FailureRecord | undefined,
  eTag: string,
  config: Pick<HandlerConfig, "renditions" | "limits">,
): FailureStatus {
  if (record === undefined || record.eTag !== normalizeETag(eTag)) return "none";
  if (record.settings === undefined || record.settings === settingsFingerprint(config)) {
    return "stands";
  }
  return "settings changed";
}

/** Replaces the object's tags; false when the object does not exist. */
async function writeTags(
  s3: S3Client,
  bucket: string,
  key: string,
  TagSet: Tag[],
): Promise<boolean> {
  try {
    await s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: key, Tagging: { TagSet } }));
  } catch (error) {
    if (isNotFound(error)) return false;
    throw s3Failure("PutObjectTagging", bucket, key, error);
  }
  return true;
}

/** The object's tags, or undefined when the object does not exist. */
async function readTags(s3: S3Client, bucket: string, key: string): Promise<Tag[] | undefined> {
  try {
    const output = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
    return output.TagSet ?? [];
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw s3Failure("GetObjectTagging", bucket, key, error);
  }
}
