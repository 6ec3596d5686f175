/**
 * The image engine: bytes of an upload in, thumbnail bytes out. No AWS imports; the S3-event
 * layer and the local tools both call makeThumbnail, after their entry point called
 * configureSharp().
 */
export { configureSharp } from "./configure-sharp";
export {
  checkLimits,
  DEFAULT_LIMITS,
  DEFAULT_OPTIONS,
  FITS,
  type Fit,
  FORMATS,
  type Limits,
  MAX_DIMENSION,
  type OutputFormat,
  resolveOptions,
  type ThumbnailOptions,
  thumbnailSpec,
} from "./options";
export { type InputInfo, makeThumbnail, type Thumbnail } from "./thumbnail";
