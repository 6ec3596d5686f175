// Types for heic-decode 2.x, which ships none: https://github.com/catdad-experiments/heic-decode
declare module "heic-decode" {
  /** Decodes the first top-level image. */
  function decode(input: { buffer: Uint8Array }): Promise<decode.DecodedImage>;

  namespace decode {
    interface DecodedImage {
      width: number;
      height: number;
      /** RGBA, 8 bits per channel, row-major. */
      data: Uint8ClampedArray;
    }
    interface ImageHandle {
      /** Read from the header: no pixels decoded yet. */
      width: number;
      height: number;
      decode(): Promise<DecodedImage>;
    }
    /** Handles of every top-level image; call dispose() when done with them. */
    function all(input: { buffer: Uint8Array }): Promise<ImageHandle[] & { dispose(): void }>;
  }

  export = decode;
}
