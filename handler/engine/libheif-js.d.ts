// Types for the parts of libheif-js 1.x (libheif's C API through Emscripten) that heic.ts uses;
// the package ships none for this entry point: https://github.com/catdad-experiments/libheif-js
declare module "libheif-js/libheif-wasm/libheif-bundle.js" {
  namespace libheif {
    /** An enum member: compare with the value from the module's table, not by number. */
    export type Enum = { readonly value: number };
    export interface HeifError {
      code: Enum;
      message: string;
    }
    export type HeifContext = object;
    export type HeifImageHandle = object;
    export type HeifImage = object;
    export interface DecodedImage {
      image: HeifImage;
      code?: undefined;
      channels: {
        id: Enum;
        width: number;
        height: number;
        /** Bytes per row, which may include padding. */
        stride: number;
        /** A view into the WebAssembly heap, valid until heif_image_release. */
        data: Uint8Array;
      }[];
    }

    export interface Libheif {
      /** The whole WebAssembly heap. */
      HEAPU8: Uint8Array;
      /** The module's WebAssembly bytes. */
      wasmBinary: Uint8Array;
      heif_error_code: { heif_error_Ok: Enum };
      heif_colorspace: { heif_colorspace_RGB: Enum };
      heif_chroma: { heif_chroma_interleaved_RGB: Enum; heif_chroma_interleaved_RGBA: Enum };
      heif_channel: { heif_channel_interleaved: Enum };
      heif_context_alloc(): HeifContext;
      heif_context_free(context: HeifContext): void;
      /** Copies `data` into the heap and parses the container. */
      heif_context_read_from_memory(context: HeifContext, data: Uint8Array): HeifError;
      heif_js_context_get_list_of_top_level_image_IDs(context: HeifContext): number[];
      heif_js_context_get_image_handle(
        context: HeifContext,
        id: number,
      ): HeifImageHandle & { code?: Enum; message?: string };
      heif_image_handle_get_width(handle: HeifImageHandle): number;
      heif_image_handle_get_height(handle: HeifImageHandle): number;
      heif_image_handle_has_alpha_channel(handle: HeifImageHandle): number;
      heif_image_handle_release(handle: HeifImageHandle): void;
      heif_js_decode_image2(
        handle: HeifImageHandle,
        colorspace: Enum,
        chroma: Enum,
      ): DecodedImage | (HeifError & { image?: undefined });
      heif_image_release(image: HeifImage): void;
    }
  }
  /** Makes a new instance, with its own WebAssembly heap. */
  function libheif(): libheif.Libheif;
  export = libheif;
}

// The one WebAssembly API heic.ts uses; TypeScript declares WebAssembly only in its DOM and
// web-worker libraries, which this Node project does not load.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
}
