import { type GalleryContext, type Route, sendJson } from "../http";

/** GET /api/config: where uploads go and how large they may be. */
export function configRoute({ config, sourceBucket }: GalleryContext): Route {
  return async (_request, response) =>
    sendJson(response, 200, {
      sourceBucket,
      sourcePrefix: config.sourcePrefix,
      maxInputBytes: config.limits.maxInputBytes,
    });
}
