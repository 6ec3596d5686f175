/**
 * The image engine: bytes of an upload in, rendition bytes out. No AWS imports; the S3-event
 * layer and the local tools both call makeRenditions (or makeThumbnail for one), after their
 * entry point called configureSharp().
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
} from "./options";
export {
  ANIMATED_FORMATS,
  DEFAULT_RENDITION_NAME,
  defaultRendition,
  POSITIONS,
  type Position,
  parseRenditions,
  QUALITY_FORMATS,
  type Rendition,
  renditionSpec,
  thumbnailSpec,
  validateRenditions,
} from "./renditions";
export {
  type InputInfo,
  makeRenditions,
  makeThumbnail,
  type RenditionFailure,
  type RenditionOutput,
  type Renditions,
  type Thumbnail,
} from "./thumbnail";
