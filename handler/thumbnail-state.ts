/**
 * A rendition's metadata: what the handler writes on each rendition object, and how anyone
 * (reconcile, backfill, the local service) reads it back to tell whether a rendition is current.
 */

import { HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { HandlerConfig } from "./config";
import { type Rendition, renditionSpec } from "./engine";
import { destinationKey } from "./keys";
import { isNotFound, s3Failure } from "./s3-errors";
import { normalizeETag } from "./s3-event";

/** S3 user metadata keys (sent as x-amz-meta-*; S3 returns them lowercase). */
export const METADATA = {
  sourceBucket: "source-bucket",
  /** URI-encoded (encodeURIComponent): metadata values must be ASCII. */
  sourceKey: "source-key",
  /** Without quotes. */
  sourceETag: "source-etag",
  /** renditionSpec() of the rendition it is, e.g. "256x256-inside-q80.jpeg". */
  spec: "thumbnail-spec",
} as const;

export interface SourceObject {
  readonly bucket: string;
  readonly key: string;
  /** With or without quotes. */
  readonly eTag: string;
}

/** The user metadata written with the thumbnail of `source`. */
export function thumbnailMetadata(source: SourceObject, spec: string): Record<string, string> {
  return {
    [METADATA.sourceBucket]: source.bucket,
    [METADATA.sourceKey]: encodeURIComponent(source.key),
    [METADATA.sourceETag]: normalizeETag(source.eTag),
    [METADATA.spec]: spec,
  };
}

export type ThumbnailState =
  /** No object at the rendition's key. */
  | { readonly status: "missing"; readonly rendition: Rendition; readonly key: string }
  /** Made from this very source version with the rendition's spec. */
  | { readonly status: "current"; readonly rendition: Rendition; readonly key: string }
  /** Made from another version of the source, or with another spec (or not by us at all). */
  | {
      readonly status: "outdated";
      readonly rendition: Rendition;
      readonly key: string;
      readonly sourceETag: string | undefined;
      readonly spec: string | undefined;
    };

/**
 * Reads whether one rendition of `source` is up to date: HeadObject on its key, then compares
 * its `source-etag` and `thumbnail-spec` metadata with the source's ETag and the rendition's
 * spec. S3 errors other than 404 throw a TransientError.
 */
export async function readThumbnailState(
  s3: S3Client,
  config: Pick<HandlerConfig, "destBucket" | "destPrefix">,
  source: SourceObject,
  rendition: Rendition,
): Promise<ThumbnailState> {
  const key = destinationKey(source.key, config, rendition);
  let metadata: Record<string, string>;
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: config.destBucket, Key: key }));
    metadata = head.Metadata ?? {};
  } catch (error) {
    if (isNotFound(error)) return { status: "missing", rendition, key };
    throw s3Failure("HeadObject", config.destBucket, key, error);
  }
  const sourceETag = metadata[METADATA.sourceETag];
  const spec = metadata[METADATA.spec];
  if (sourceETag === normalizeETag(source.eTag) && spec === renditionSpec(rendition)) {
    return { status: "current", rendition, key };
  }
  return { status: "outdated", rendition, key, sourceETag, spec };
}

/** The configured renditions of `source` that are missing or outdated (one HEAD each). */
export async function staleRenditions(
  s3: S3Client,
  config: Pick<HandlerConfig, "destBucket" | "destPrefix" | "renditions">,
  source: SourceObject,
): Promise<Rendition[]> {
  const states = await Promise.all(
    config.renditions.map((rendition) => readThumbnailState(s3, config, source, rendition)),
  );
  return states.filter((state) => state.status !== "current").map((state) => state.rendition);
}
