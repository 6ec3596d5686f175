import type { ServerResponse } from "node:http";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import sharp from "sharp";
import { type Container, detectContainer } from "../../../../handler/engine/detect";
import { isNotFound } from "../../../../handler/s3-errors";
import { COMMON_HEADERS, IMAGE_POLICY } from "../guard";
import { type GalleryContext, type Route, sendJson } from "../http";

/** A container, with HEIF told apart by codec: AVIF (AV1) or HEIC (HEVC, or unreadable). */
type ImageFormat = Exclude<Container, "heif"> | "avif" | "HEIC";

/**
 * The Content-Type an image is served with, by its content (never by the type its uploader
 * claimed): only formats every current browser shows in an <img>. HEIC, TIFF and anything else
 * are not served, so no upload can be opened here as a page.
 */
const SHOWN_TYPES: Partial<Record<ImageFormat, string>> = {
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
};

/** GET /api/file?bucket=B&key=K: a source object or a thumbnail, as an image in a sandbox. */
export function objectFileRoute({ config, sourceBucket, s3 }: GalleryContext): Route {
  return async (_request, response, query) => {
    const bucket = query.get("bucket");
    const key = query.get("key");
    const allowed =
      key !== null &&
      ((bucket === sourceBucket && key.startsWith(config.sourcePrefix)) ||
        (bucket === config.destBucket && key.startsWith(config.destPrefix)));
    if (!allowed) {
      return sendJson(response, 400, {
        error: `expected ?bucket=${sourceBucket}|${config.destBucket}&key=KEY`,
      });
    }
    await sendImage(response, s3, bucket, key);
  };
}

/** Sends an object of the S3 server as an image, if it is one a browser shows. */
async function sendImage(
  response: ServerResponse,
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<void> {
  let bytes: Uint8Array;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    bytes = await (
      object.Body as { transformToByteArray(): Promise<Uint8Array> }
    ).transformToByteArray();
  } catch (error) {
    if (isNotFound(error)) return sendJson(response, 404, { error: "no such object" });
    throw error;
  }
  const format = await imageFormat(bytes);
  const type = format === undefined ? undefined : SHOWN_TYPES[format];
  if (type === undefined) {
    return sendJson(response, 415, {
      error: `not shown: its content is ${format ?? "not an image"}, which browsers do not all display`,
    });
  }
  response.writeHead(200, {
    ...COMMON_HEADERS,
    "Content-Type": type,
    "Content-Length": bytes.byteLength,
    "Content-Security-Policy": IMAGE_POLICY,
  });
  response.end(bytes);
}

/**
 * The image's format by its content: its container, with the HEIF container told apart by its
 * codec as the handler does (AV1: AVIF, which browsers show; HEVC: HEIC, which most do not).
 */
async function imageFormat(bytes: Uint8Array): Promise<ImageFormat | undefined> {
  const container = detectContainer(bytes);
  if (container !== "heif") return container;
  const { compression } = await sharp(bytes)
    .metadata()
    .catch(() => ({ compression: undefined }));
  return compression === "av1" ? "avif" : "HEIC";
}
