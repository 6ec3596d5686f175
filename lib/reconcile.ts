/**
 * Reconciliation (the local service at start-up; a `backfill` against AWS later): finds the
 * work that notifications should have caused but that is not done, and returns it as S3 events
 * for processEvent. Uses only the S3 API, so it runs the same against s3rver and AWS.
 *
 *   - a source object with a rendition missing or outdated (other source ETag or spec), and
 *     which has no permanent failure recorded for its current ETag: an ObjectCreated:Put event
 *     with exactly those renditions (the others are current and are not rewritten);
 *   - a rendition (made by us from this source bucket) whose source is gone: ObjectRemoved:Delete
 *     (once per source key and page), which removes every configured rendition.
 *
 * Listing is paged and checks run a page at a time, so memory stays bounded for any bucket size.
 */

import {
  type _Object,
  HeadObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { S3Event } from "aws-lambda";
import { mapBounded } from "../handler/bounded";
import type { HandlerConfig } from "../handler/config";
import type { Rendition } from "../handler/engine";
import { ConfigError } from "../handler/errors";
import { hasFailureFor } from "../handler/failure-record";
import { isInDestination } from "../handler/keys";
import { isNotFound, s3Failure } from "../handler/s3-errors";
import { normalizeETag } from "../handler/s3-event";
import { METADATA, staleRenditions } from "../handler/thumbnail-state";
import { type EventSource, s3Event } from "./synthetic-event";

export interface ReconcileDeps {
  readonly s3: S3Client;
  readonly config: HandlerConfig;
}

export interface ReconcileOptions {
  /** Objects checked at once (HEAD/GetObjectTagging requests in flight). Default 8. */
  readonly concurrency?: number;
  /** Also look for thumbnails whose source is gone (one HEAD per thumbnail). Default true. */
  readonly removeOrphans?: boolean;
}

/** One piece of work: an event for processEvent and the renditions it must make. */
export interface ReconcileWork {
  readonly event: S3Event;
  /** Created: the renditions missing or outdated. Removed: every configured one. */
  readonly renditions: readonly Rendition[];
}

/** Yields the work each object needs; S3 errors throw a TransientError. */
export async function* reconcile(
  deps: ReconcileDeps,
  source: EventSource,
  options: ReconcileOptions = {},
): AsyncGenerator<ReconcileWork> {
  const { s3, config } = deps;
  const sourceBucket = config.sourceBucket;
  if (sourceBucket === undefined) {
    throw new ConfigError("reconciliation needs SOURCE_BUCKET: the bucket to list");
  }
  const concurrency = options.concurrency ?? 8;

  for await (const page of listPages(s3, sourceBucket, config.sourcePrefix)) {
    const objects = page.filter(
      (object) => !isInDestination(sourceBucket, object.Key, config) && !isFolder(object),
    );
    const stale = await mapBounded(objects, concurrency, async (object) => {
      const current = { bucket: sourceBucket, key: object.Key, eTag: eTagOf(object) };
      const renditions = await staleRenditions(s3, config, current);
      if (renditions.length === 0 || (await hasFailureFor(s3, current))) return [];
      return renditions;
    });
    for (const [index, object] of objects.entries()) {
      const renditions = stale[index] ?? [];
      if (renditions.length === 0) continue;
      const event = s3Event(
        {
          eventName: "ObjectCreated:Put",
          bucket: sourceBucket,
          key: object.Key,
          size: object.Size ?? 0,
          eTag: eTagOf(object),
        },
        source,
      );
      yield { event, renditions };
    }
  }

  if (options.removeOrphans === false) return;
  for await (const page of listPages(s3, config.destBucket, config.destPrefix)) {
    const orphans = await mapBounded(page, concurrency, (thumbnail) =>
      orphanSourceKey(s3, config, sourceBucket, thumbnail.Key),
    );
    for (const key of new Set(orphans)) {
      if (key === undefined) continue;
      const event = s3Event(
        { eventName: "ObjectRemoved:Delete", bucket: sourceBucket, key },
        source,
      );
      yield { event, renditions: config.renditions };
    }
  }
}

type Listed = _Object & { Key: string };

async function* listPages(s3: S3Client, bucket: string, prefix: string): AsyncGenerator<Listed[]> {
  try {
    for await (const page of paginateListObjectsV2(
      { client: s3 },
      { Bucket: bucket, Prefix: prefix },
    )) {
      yield (page.Contents ?? []).filter((object): object is Listed => object.Key !== undefined);
    }
  } catch (error) {
    throw s3Failure("ListObjectsV2", bucket, prefix, error);
  }
}

/** The listed object's ETag without quotes, as events carry it. */
function eTagOf(object: Listed): string {
  return normalizeETag(object.ETag ?? "");
}

/** Zero-byte keys ending in "/" are folder placeholders made by consoles, not images. */
function isFolder(object: Listed): boolean {
  return object.Key.endsWith("/") && (object.Size ?? 0) === 0;
}

/**
 * The source key of a thumbnail we made from `sourceBucket` whose source no longer exists;
 * undefined when the source exists or the object is not one of our thumbnails.
 */
async function orphanSourceKey(
  s3: S3Client,
  config: HandlerConfig,
  sourceBucket: string,
  thumbnailKey: string,
): Promise<string | undefined> {
  const metadata = await head(s3, config.destBucket, thumbnailKey);
  const encodedKey = metadata?.[METADATA.sourceKey];
  if (metadata?.[METADATA.sourceBucket] !== sourceBucket || encodedKey === undefined) {
    return undefined;
  }
  const sourceKey = decodeURIComponent(encodedKey);
  if (!sourceKey.startsWith(config.sourcePrefix)) return undefined;
  return (await head(s3, sourceBucket, sourceKey)) === undefined ? sourceKey : undefined;
}

/** The object's user metadata, or undefined when it does not exist. */
async function head(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<Record<string, string> | undefined> {
  try {
    const output = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return output.Metadata ?? {};
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw s3Failure("HeadObject", bucket, key, error);
  }
}
