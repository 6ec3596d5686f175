import { PutObjectCommand } from "@aws-sdk/client-s3";
import { type GalleryContext, type Route, sendJson } from "../http";
import { badKey, sourceKey } from "./source-key";

/**
 * PUT /api/objects?key=KEY: the request body, streamed into the source bucket as any S3 client's
 * upload (so the pipeline handles it through its real event path), if it is within MAX_INPUT_BYTES.
 */
export function uploadRoute({ config, sourceBucket, s3 }: GalleryContext): Route {
  return async (request, response, query) => {
    const key = sourceKey(query, config);
    if (key === undefined) return badKey(response, config);
    const length = Number(request.headers["content-length"]);
    if (request.headers["content-length"] === undefined || !Number.isSafeInteger(length)) {
      return sendJson(response, 411, { error: "the upload needs a Content-Length" });
    }
    if (length > config.limits.maxInputBytes) {
      return sendJson(response, 413, {
        error: `${length} bytes is over the input limit of ${config.limits.maxInputBytes} bytes (MAX_INPUT_BYTES)`,
      });
    }
    const type = request.headers["content-type"] ?? "";
    await s3.send(
      new PutObjectCommand({
        Bucket: sourceBucket,
        Key: key,
        Body: request,
        ContentLength: length,
        ContentType: /^[\w.+-]+\/[\w.+-]+$/.test(type) ? type : "application/octet-stream",
      }),
    );
    sendJson(response, 201, { key });
  };
}
