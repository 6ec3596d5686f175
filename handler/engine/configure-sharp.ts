/**
 * sharp's process-wide settings for thumbnailing untrusted uploads. Importing the engine
 * changes nothing: each entry point (the Lambda handler, `thumbnailer make`, `serve`, the
 * bench's engine worker) calls configureSharp() once, and makeThumbnail refuses to run before.
 */
import sharp from "sharp";

let configured = false;

export function configureSharp(): void {
  // Each thumbnail is a one-shot job on an untrusted upload: libvips' operation cache would only
  // hold memory. Thread count and SIMD stay at sharp's defaults (1 thread per image on glibc
  // Linux such as Lambda, to limit memory fragmentation); throughput comes from several records
  // in parallel.
  sharp.cache(false);
  // Defence in depth behind detectContainer: libvips may decode only the raster formats we
  // accept, never SVG, PDF, ImageMagick-handled or other loaders, whatever the bytes claim to be.
  sharp.block({ operation: ["VipsForeignLoad"] });
  sharp.unblock({
    operation: [
      "VipsForeignLoadJpeg",
      "VipsForeignLoadPng",
      "VipsForeignLoadWebp",
      "VipsForeignLoadNsgif",
      "VipsForeignLoadTiff",
      "VipsForeignLoadHeif",
    ],
  });
  configured = true;
}

/** Throws unless configureSharp() has run: the loader allow-list is never silently off. */
export function assertSharpConfigured(): void {
  if (!configured) {
    throw new Error("configureSharp() must be called once before makeThumbnail");
  }
}
