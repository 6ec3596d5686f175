// Types for the parts of libheif-js 1.x that heic.ts uses: libheif's C API as the module exports
// it (functions named `_heif_…` taking and returning addresses in the WebAssembly heap), and
// the enum tables of its Embind layer. The package ships no types for this entry point:
// https://github.com/catdad-experiments/libheif-js
//
// Conventions of the C exports (wasm32): pointers and size_t are 32-bit numbers; a function
// returning `struct heif_error` by value takes the address to write it to (12 bytes: code,
// subcode, message pointer) as its first argument.
declare module "libheif-js/libheif-wasm/libheif-bundle.js" {
  namespace libheif {
    /** An enum member of the Embind tables. */
    export type Enum = { readonly value: number };
    /** An address in the WebAssembly heap. */
    export type Pointer = number;

    export interface Libheif {
      /** The whole WebAssembly heap, as bytes and as 32-bit words; replaced when it grows. */
      HEAPU8: Uint8Array;
      HEAPU32: Uint32Array;
      /** The module's WebAssembly bytes. */
      wasmBinary: Uint8Array;
      heif_colorspace: { heif_colorspace_RGB: Enum };
      heif_chroma: { heif_chroma_interleaved_RGB: Enum; heif_chroma_interleaved_RGBA: Enum };
      heif_channel: { heif_channel_interleaved: Enum };

      _malloc(bytes: number): Pointer;
      _free(pointer: Pointer): void;
      _heif_context_alloc(): Pointer;
      _heif_context_free(context: Pointer): void;
      /** The bytes at `data` must outlive the context. */
      _heif_context_read_from_memory_without_copy(
        error: Pointer,
        context: Pointer,
        data: Pointer,
        size: number,
        options: 0,
      ): void;
      _heif_context_get_number_of_top_level_images(context: Pointer): number;
      /** Writes up to `count` item IDs (32-bit) to `ids`; returns how many. */
      _heif_context_get_list_of_top_level_image_IDs(
        context: Pointer,
        ids: Pointer,
        count: number,
      ): number;
      /** Writes the handle's address to `handle`. */
      _heif_context_get_image_handle(
        error: Pointer,
        context: Pointer,
        id: number,
        handle: Pointer,
      ): void;
      /** Width and height with the image's transformations (irot, imir, clap) applied. */
      _heif_image_handle_get_width(handle: Pointer): number;
      _heif_image_handle_get_height(handle: Pointer): number;
      _heif_image_handle_has_alpha_channel(handle: Pointer): number;
      _heif_image_handle_get_item_id(handle: Pointer): number;
      _heif_image_handle_release(handle: Pointer): void;
      _heif_image_handle_get_number_of_thumbnails(handle: Pointer): number;
      _heif_image_handle_get_list_of_thumbnail_IDs(
        handle: Pointer,
        ids: Pointer,
        count: number,
      ): number;
      _heif_image_handle_get_thumbnail(
        error: Pointer,
        handle: Pointer,
        id: number,
        thumbnail: Pointer,
      ): void;
      /** Writes up to `count` property IDs of the item's irot, imir and clap, in order. */
      _heif_item_get_transformation_properties(
        context: Pointer,
        id: number,
        properties: Pointer,
        count: number,
      ): number;
      /** Degrees counter-clockwise, or -1 when the property is no irot. */
      _heif_item_get_property_transform_rotation_ccw(
        context: Pointer,
        id: number,
        property: number,
      ): number;
      /** The mirror axis, or -1 when the property is no imir. */
      _heif_item_get_property_transform_mirror(
        context: Pointer,
        id: number,
        property: number,
      ): number;
      /** Decodes with the transformations applied (options 0: the defaults); writes the image's address to `image`. */
      _heif_decode_image(
        error: Pointer,
        handle: Pointer,
        image: Pointer,
        colorspace: number,
        chroma: number,
        options: 0,
      ): void;
      /**
       * Writes a heif_image_tiling: version, columns, rows, tile width and height, image width
       * and height, top and left offset (32-bit each), in the coordinates of the turned and
       * mirrored image when `transformed` is 1.
       */
      _heif_image_handle_get_image_tiling(
        error: Pointer,
        handle: Pointer,
        transformed: 0 | 1,
        tiling: Pointer,
      ): void;
      /** Decodes the tile at `column`, `row` (in the transformed image, options 0: the defaults). */
      _heif_image_handle_decode_image_tile(
        error: Pointer,
        handle: Pointer,
        image: Pointer,
        colorspace: number,
        chroma: number,
        options: 0,
        column: number,
        row: number,
      ): void;
      _heif_image_get_width(image: Pointer, channel: number): number;
      _heif_image_get_height(image: Pointer, channel: number): number;
      /** The plane's address; writes its bytes per row (which may include padding) to `stride`. */
      _heif_image_get_plane_readonly2(image: Pointer, channel: number, stride: Pointer): Pointer;
      _heif_image_release(image: Pointer): void;
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
