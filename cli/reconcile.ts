/**
 * Reconciliation (the local service at start-up; a `backfill` against AWS later): finds the
 * work that notifications should have caused but that is not done, and returns it as S3 events
 * for processEvent. Uses only the S3 API, so it runs the same against s3rver and AWS.
 *
 *   - a source object with a rendition missing or outdated (other source ETag or spec), and
 *     whose failure record, if any, does not stand (handler/failure-record.ts: it is for another
 *     ETag, or this ETag failed under other settings): an ObjectCreated:Put event with exactly
 *     those renditions (the others are current and are not rewritten). A record of this ETag
 *     under other settings is removed first, so the retry's result replaces it (onRetry);
 *   - a rendition (made by us from this source bucket) whose source is gone: ObjectRemoved:Delete
 *     (once per source key and page), which removes every configured rendition;
 *   - an object made by us from this source bucket at a key no configured rendition writes (its
 *     rendition was removed from the list): reported to onUnconfigured, and deleted here only
 *     with `prune`.
 *
 * Listing is paged and checks run a page at a time, so memory stays bounded for any bucket size.
 */

import {
  type _Object,
  DeleteObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { S3Event } from "aws-lambda";
import { mapBounded } from "../handler/bounded";
import type { HandlerConfig } from "../handler/config";
import type { Rendition } from "../handler/engine";
import { ConfigError } from "../handler/errors";
import { clearFailureRecord, failureStatus, readFailureRecord } from "../handler/failure-record";
import { destinationKey, isInDestination } from "../handler/keys";
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
  /**
   * Also look at every object under DEST_PREFIX (one HEAD each): thumbnails whose source is gone,
   * and ours that no configured rendition writes. Default true.
   */
  readonly removeOrphans?: boolean;
  /** Delete our objects that no configured rendition writes. Default false: only report them. */
  readonly prune?: boolean;
  /** Called with each of our objects that no configured rendition writes, once it is dealt with. */
  readonly onUnconfigured?: (key: string, deleted: boolean) => void;
  /** Called with each source key that failed at this ETag under other settings: retried. */
  readonly onRetry?: (key: string) => void;
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
    const stale = await mapBounded(objects, concurrency, (object) =>
      staleWork(deps, { bucket: sourceBucket, key: object.Key, eTag: eTagOf(object) }, options),
    );
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
    const orphans = await mapBounded(page, concurrency, async (thumbnail) => {
      const output = await readOutput(s3, config, sourceBucket, thumbnail.Key);
      if (output === "not ours") return undefined;
      if (!output.configured) {
        if (options.prune === true) await deleteObject(s3, config.destBucket, thumbnail.Key);
        options.onUnconfigured?.(thumbnail.Key, options.prune === true);
        return undefined;
      }
      return (await head(s3, sourceBucket, output.sourceKey)) === undefined
        ? output.sourceKey
        : undefined;
    });
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

/**
 * The renditions of a source object to make: none when all are current or its failure record
 * stands; a record of this ETag under other settings is removed (the retry replaces it).
 */
async function staleWork(
  { s3, config }: ReconcileDeps,
  current: { readonly bucket: string; readonly key: string; readonly eTag: string },
  options: ReconcileOptions,
): Promise<readonly Rendition[]> {
  const renditions = await staleRenditions(s3, config, current);
  if (renditions.length === 0) return [];
  const status = failureStatus(await readFailureRecord(s3, current), current.eTag, config);
  if (status === "stands") return [];
  if (status === "settings changed") {
    await clearFailureRecord(s3, current);
    options.onRetry?.(current.key);
  }
  return renditions;
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
 * Whether an object under DEST_PREFIX is one we made from `sourceBucket` (its metadata names a
 * source there, under SOURCE_PREFIX), and if so its source key and whether a configured
 * rendition writes that key.
 */
async function readOutput(
  s3: S3Client,
  config: HandlerConfig,
  sourceBucket: string,
  key: string,
): Promise<"not ours" | { readonly sourceKey: string; readonly configured: boolean }> {
  const metadata = await head(s3, config.destBucket, key);
  const encodedKey = metadata?.[METADATA.sourceKey];
  if (metadata?.[METADATA.sourceBucket] !== sourceBucket || encodedKey === undefined) {
    return "not ours";
  }
  const sourceKey = decodeURIComponent(encodedKey);
  if (!sourceKey.startsWith(config.sourcePrefix)) return "not ours";
  const configured = config.renditions.some(
    (rendition) => destinationKey(sourceKey, config, rendition) === key,
  );
  return { sourceKey, configured };
}

async function deleteObject(s3: S3Client, bucket: string, key: string): Promise<void> {
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    throw s3Failure("DeleteObject", bucket, key, error);
  }
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
