/**
 * The permanent-failure record: two tags on the source object, where an operator (and
 * reconcile) can find them without reading logs:
 *   thumbnailer-error       the error code, e.g. CORRUPT_INPUT
 *   thumbnailer-error-etag  the ETag of the object version that failed
 * Other tags on the object are kept. Writing the record is an S3 call like any other: when it
 * fails, the failure is transient (thrown, retried).
 */

import {
  GetObjectTaggingCommand,
  PutObjectTaggingCommand,
  type S3Client,
  type Tag,
} from "@aws-sdk/client-s3";
import { type ErrorCode, isErrorCode, TransientError } from "./errors";
import { isNotFound, s3Failure } from "./s3-errors";
import { normalizeETag } from "./s3-event";

export const FAILURE_TAGS = {
  code: "thumbnailer-error",
  eTag: "thumbnailer-error-etag",
} as const;

/** S3 allows at most 10 tags per object. */
const MAX_TAGS = 10;

export interface FailureRecord {
  readonly code: ErrorCode;
  /** Without quotes. */
  readonly eTag: string;
}

/**
 * Tags the source object with the failure (GetObjectTagging, then PutObjectTagging with the
 * existing tags kept). Returns false when the object no longer exists: nothing to record on.
 */
export async function recordFailure(
  s3: S3Client,
  object: { readonly bucket: string; readonly key: string },
  failure: { readonly code: ErrorCode; readonly eTag: string },
): Promise<boolean> {
  const { bucket, key } = object;
  const existing = await readTags(s3, bucket, key);
  if (existing === undefined) return false;
  const kept = existing.filter(
    (tag) => tag.Key !== FAILURE_TAGS.code && tag.Key !== FAILURE_TAGS.eTag,
  );
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
  ];
  try {
    await s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: key, Tagging: { TagSet } }));
  } catch (error) {
    if (isNotFound(error)) return false;
    throw s3Failure("PutObjectTagging", bucket, key, error);
  }
  return true;
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
  const code = tags.find((tag) => tag.Key === FAILURE_TAGS.code)?.Value;
  const eTag = tags.find((tag) => tag.Key === FAILURE_TAGS.eTag)?.Value;
  return !isErrorCode(code) || eTag === undefined ? undefined : { code, eTag };
}

/** True when a permanent failure was recorded for this very version (ETag) of the object. */
export async function hasFailureFor(
  s3: S3Client,
  object: { readonly bucket: string; readonly key: string; readonly eTag: string },
): Promise<boolean> {
  const record = await readFailureRecord(s3, object);
  return record !== undefined && record.eTag === normalizeETag(object.eTag);
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
