import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import { type GalleryContext, type Route, sendJson } from "../http";
import { badKey, sourceKey } from "./source-key";

/** DELETE /api/objects?key=KEY: deletes the source object; the pipeline removes its thumbnails. */
export function deleteRoute({ config, sourceBucket, s3 }: GalleryContext): Route {
  return async (_request, response, query) => {
    const key = sourceKey(query, config);
    if (key === undefined) return badKey(response, config);
    await s3.send(new DeleteObjectCommand({ Bucket: sourceBucket, Key: key }));
    sendJson(response, 200, { key });
  };
}
