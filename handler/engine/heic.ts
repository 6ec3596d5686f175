/**
 * HEIC (HEVC-coded HEIF, the iPhone default). sharp's prebuilt libvips cannot decode HEVC, so
 * libheif compiled to WebAssembly (`libheif-js`) decodes it to interleaved RGB (RGBA when the
 * image has alpha) that sharp then resizes. The pixel limit is checked against the header
 * before any pixel is decoded.
 *
 * Memory is the cost to watch: the WebAssembly heap grows to the largest image decoded and
 * never shrinks. So the pixels are handed to sharp as a view into that heap (a 12 MP image is
 * 36 MB; copying it, as a generic decoder must, raised peak RSS by about 70 MB), only one
 * HEIC is decoded and held at a time, since a second decode would reuse or move the heap
 * under the first, and an instance whose heap a large image has grown is dropped afterwards.
 * Better still, the whole image is not decoded when less suffices: the embedded thumbnail item,
 * or a grid decoded tile by tile into a shrunk copy.
 */

import type { Libheif, Pointer } from "libheif-js/libheif-wasm/libheif-bundle.js";
import { PermanentInputError } from "../errors";
import { checkPixels } from "./options";

export interface HeicPixels {
  width: number;
  height: number;
  channels: 3 | 4;
  /** Interleaved 8-bit samples; valid until release() is called. */
  data: Uint8Array;
  /** Frees the pixels and lets the next HEIC decode; call once the pixels have been read. */
  release(): void;
  /** The primary image's size as displayed, which `width` x `height` may be a smaller copy of. */
  primaryWidth: number;
  primaryHeight: number;
  /** True when the primary's thumbnail item was decoded instead of the primary. */
  fromThumbnail: boolean;
}

export interface Size {
  width: number;
  height: number;
}

/** What decodeHeic is asked for: which image, the pixel limit, and how much of it is needed. */
export interface HeicRequest {
  /** Of the top-level images, as the container lists them (the primary's, as its header names it). */
  index: number;
  maxInputPixels: number;
  /**
   * The smallest size, given the image's size as displayed, that the caller can make its output
   * from. Unset: the primary image itself.
   */
  needed?: (width: number, height: number) => Size;
  /** false: never the thumbnail item, only the primary (shrunk tile by tile when a grid). */
  thumbnails?: boolean;
}

type Factory = () => Libheif;
// Loaded on first use: the module (2 MB of JavaScript and WebAssembly) costs ~150 ms to load,
// which non-HEIC work should not pay. Each call of the factory is a new instance with its own
// heap (~30-50 ms).
let factory: Promise<Factory> | undefined;
let instance: Libheif | undefined;
// Held, never read: while a compiled module of the same bytes is alive, V8 reuses its code for a
// new instance instead of compiling and optimising 1.4 MB of WebAssembly again (measured: eight
// 2 MP decodes, each on a fresh instance, 40-50% less CPU).
let _heldModule: WebAssembly.Module | undefined;
// Settles when the HEIC holding the heap is released.
let heapFree: Promise<void> = Promise.resolve();
/**
 * A WebAssembly heap never shrinks: a 12 MP photo leaves ~110 MB that would sit under every
 * later image's peak. So once a decode leaves it larger than this, the instance is dropped and
 * handed back with a full garbage collection; the next HEIC gets a fresh instance.
 */
const HEAP_KEPT_BYTES = 64 * 1024 * 1024;

/**
 * Decodes the top-level image at `request.index`, or, when `request.needed` is given, the
 * smallest representation of it that suffices: its thumbnail item when that is at least the size
 * needed in both dimensions, has the image's aspect ratio and the same orientation, else the
 * image itself (never a thumbnail enlarged), which, when it is a grid of tiles at least four
 * times the size needed, is decoded tile by tile into a shrunk copy. Throws PermanentInputError:
 * TOO_MANY_PIXELS (for the image's own size) before decoding, CORRUPT_INPUT if it cannot decode.
 * The caller must call release() on success.
 */
export async function decodeHeic(input: Uint8Array, request: HeicRequest): Promise<HeicPixels> {
  // With the extension: in the image's bundle this stays an ES import(), which needs the file.
  factory ??= import("libheif-js/libheif-wasm/libheif-bundle.js").then((module) => module.default);
  const create = await factory;
  const previous = heapFree;
  let unlock = () => {};
  heapFree = new Promise((resolve) => {
    unlock = resolve;
  });
  await previous;
  instance ??= create();
  const heif = instance;
  _heldModule ??= new WebAssembly.Module(heif.wasmBinary);
  const done = () => {
    if (heif.HEAPU8.byteLength > HEAP_KEPT_BYTES) {
      instance = undefined;
      // Once the caller's pipeline, which still holds a view of the heap, has let go of it.
      setImmediate(collectGarbage);
    }
    unlock();
  };
  try {
    const { image, ...pixels } = decodeImage(heif, input, request);
    const release = () => {
      if (image !== 0) heif._heif_image_release(image);
      done();
    };
    return { ...pixels, release };
  } catch (error) {
    done();
    throw error;
  }
}

type Decoded = Omit<HeicPixels, "release"> & { image: Pointer };

/** libheif's C API through the heap: calls that report a heif_error, and lists of IDs. */
class Heap {
  /** A heif_error (12 bytes), then one pointer-sized result. */
  private readonly scratch: Pointer;
  private readonly allocated: Pointer[] = [];

  constructor(readonly heif: Libheif) {
    this.scratch = this.alloc(16);
  }

  alloc(bytes: number): Pointer {
    const pointer = this.heif._malloc(bytes);
    if (pointer === 0) throw corrupt("out of memory");
    this.allocated.push(pointer);
    return pointer;
  }

  /** Runs a call that writes a heif_error and one pointer; returns the pointer, or throws. */
  call(run: (error: Pointer, result: Pointer) => void): Pointer {
    const result = this.scratch + 12;
    run(this.scratch, result);
    const words = this.heif.HEAPU32;
    if (words[this.scratch >> 2] !== 0) throw corrupt(this.text(words[(this.scratch >> 2) + 2]));
    return words[result >> 2] ?? 0;
  }

  /** Up to `count` 32-bit IDs that `list` writes. */
  ids(count: number, list: (ids: Pointer, count: number) => number): number[] {
    if (count <= 0) return [];
    const ids = this.alloc(4 * count);
    const written = list(ids, count);
    return [...this.heif.HEAPU32.subarray(ids >> 2, (ids >> 2) + written)];
  }

  free(): void {
    for (const pointer of this.allocated) this.heif._free(pointer);
  }

  private text(pointer: number | undefined): string {
    if (!pointer) return "unknown error";
    const bytes = this.heif.HEAPU8;
    const end = bytes.indexOf(0, pointer);
    return Buffer.from(bytes.subarray(pointer, end < 0 ? pointer : end)).toString("utf8");
  }
}

function decodeImage(heif: Libheif, input: Uint8Array, request: HeicRequest): Decoded {
  const heap = new Heap(heif);
  const context = heif._heif_context_alloc();
  try {
    const data = heap.alloc(input.byteLength);
    heif.HEAPU8.set(input, data);
    heap.call((error) =>
      heif._heif_context_read_from_memory_without_copy(error, context, data, input.byteLength, 0),
    );
    const ids = heap.ids(heif._heif_context_get_number_of_top_level_images(context), (out, n) =>
      heif._heif_context_get_list_of_top_level_image_IDs(context, out, n),
    );
    const id = ids[request.index] ?? ids[0];
    if (id === undefined) throw corrupt("it contains no image");
    const primary = heap.call((error, out) =>
      heif._heif_context_get_image_handle(error, context, id, out),
    );
    try {
      const width = heif._heif_image_handle_get_width(primary);
      const height = heif._heif_image_handle_get_height(primary);
      checkPixels(width, height, request.maxInputPixels);
      const wanted = request.needed?.(width, height);
      const thumbnail =
        wanted && request.thumbnails !== false
          ? smallestThumbnail(heap, context, primary, wanted)
          : undefined;
      try {
        const pixels =
          (thumbnail === undefined && wanted && decodeShrunk(heap, primary, wanted)) ||
          decodeHandle(heap, thumbnail ?? primary);
        return {
          ...pixels,
          primaryWidth: width,
          primaryHeight: height,
          fromThumbnail: thumbnail !== undefined,
        };
      } finally {
        if (thumbnail !== undefined) heif._heif_image_handle_release(thumbnail);
      }
    } finally {
      heif._heif_image_handle_release(primary);
    }
  } finally {
    // The decoded image holds its own pixels: the context and the input can go.
    heif._heif_context_free(context);
    heap.free();
  }
}

/**
 * The handle of the smallest thumbnail item of `primary` that is at least `wanted` in both
 * dimensions (as displayed), is a scaled copy (aspect ratio within a pixel: some files carry
 * unrelated or broken thumbnails) and has the same rotation and mirroring. Undefined when none
 * is, or when `wanted` is the primary's whole size: a thumbnail is never enlarged.
 */
function smallestThumbnail(
  heap: Heap,
  context: Pointer,
  primary: Pointer,
  wanted: Size,
): Pointer | undefined {
  const { heif } = heap;
  const width = heif._heif_image_handle_get_width(primary);
  const height = heif._heif_image_handle_get_height(primary);
  if (wanted.width >= width || wanted.height >= height) return undefined;
  const orientation = transformations(heap, context, primary);
  const ids = heap.ids(heif._heif_image_handle_get_number_of_thumbnails(primary), (out, n) =>
    heif._heif_image_handle_get_list_of_thumbnail_IDs(primary, out, n),
  );
  let best: { handle: Pointer; pixels: number } | undefined;
  for (const id of ids) {
    let handle: Pointer;
    try {
      handle = heap.call((error, out) =>
        heif._heif_image_handle_get_thumbnail(error, primary, id, out),
      );
    } catch {
      continue; // A broken thumbnail item is no reason to refuse the image.
    }
    const w = heif._heif_image_handle_get_width(handle);
    const h = heif._heif_image_handle_get_height(handle);
    const fits =
      w >= wanted.width &&
      h >= wanted.height &&
      Math.abs((w * height) / width - h) <= 1 &&
      Math.abs((h * width) / height - w) <= 1 &&
      transformations(heap, context, handle) === orientation &&
      (best === undefined || w * h < best.pixels);
    if (fits) {
      if (best) heif._heif_image_handle_release(best.handle);
      best = { handle, pixels: w * h };
    } else {
      heif._heif_image_handle_release(handle);
    }
  }
  return best?.handle;
}

/** The item's rotation and mirroring (irot, imir), in the order applied, as text to compare. */
function transformations(heap: Heap, context: Pointer, handle: Pointer): string {
  const { heif } = heap;
  const item = heif._heif_image_handle_get_item_id(handle);
  const MAX = 8;
  const properties = heap.ids(MAX, (out, n) =>
    heif._heif_item_get_transformation_properties(context, item, out, n),
  );
  return properties
    .map((property) => {
      const rotation = heif._heif_item_get_property_transform_rotation_ccw(context, item, property);
      const mirror = heif._heif_item_get_property_transform_mirror(context, item, property);
      return rotation >= 0 ? `rotate ${rotation}` : mirror >= 0 ? `mirror ${mirror}` : "";
    })
    .filter(Boolean)
    .join(", ");
}

/** Decodes to interleaved 8-bit RGB, or RGBA when the image has alpha, transformations applied. */
function decodeHandle(
  heap: Heap,
  handle: Pointer,
): Omit<Decoded, "primaryWidth" | "primaryHeight" | "fromThumbnail"> {
  const { heif } = heap;
  const channels = heif._heif_image_handle_has_alpha_channel(handle) ? 4 : 3;
  const chroma =
    channels === 4
      ? heif.heif_chroma.heif_chroma_interleaved_RGBA
      : heif.heif_chroma.heif_chroma_interleaved_RGB;
  const image = heap.call((error, out) =>
    heif._heif_decode_image(
      error,
      handle,
      out,
      heif.heif_colorspace.heif_colorspace_RGB.value,
      chroma.value,
      0,
    ),
  );
  const channel = heif.heif_channel.heif_channel_interleaved.value;
  const strideAt = heap.alloc(4);
  const plane = heif._heif_image_get_plane_readonly2(image, channel, strideAt);
  if (plane === 0) {
    heif._heif_image_release(image);
    throw corrupt("no interleaved pixels");
  }
  const width = heif._heif_image_get_width(image, channel);
  const height = heif._heif_image_get_height(image, channel);
  const stride = heif.HEAPU32[strideAt >> 2] ?? 0;
  const data = heif.HEAPU8.subarray(plane, plane + stride * height);
  return { width, height, channels, data: unpadded(data, width * channels, stride, height), image };
}

/**
 * A grid image (an iPhone's 12 MP photo is 48 tiles of 512x512) decoded tile by tile into a copy
 * shrunk by a whole factor that keeps it at least twice `wanted` in both dimensions, each pixel
 * the mean of its factor x factor block (as JPEG shrink-on-load and libvips' shrink do),
 * so that memory holds one tile and the small copy, not the whole image. Tiles come turned and
 * mirrored as the image is. Undefined when the image is no grid or cannot be shrunk by 2.
 */
function decodeShrunk(heap: Heap, handle: Pointer, wanted: Size): Decoded | undefined {
  const { heif } = heap;
  const tiling = heap.alloc(80);
  heap.call((error) => heif._heif_image_handle_get_image_tiling(error, handle, 1, tiling));
  const fields = heif.HEAPU32.subarray(tiling >> 2, (tiling >> 2) + 9);
  const [, columns = 0, rows = 0, tileWidth = 0, tileHeight = 0, width = 0, height = 0] = fields;
  // Half the whole factor, as libvips' resize does: the resize that follows then reduces by at
  // least 2 with its Lanczos kernel, which a box filter alone would alias.
  const factor = Math.floor(Math.min(width / wanted.width, height / wanted.height) / 2);
  // A grid that overruns the image leaves its overrun before the first row or column once
  // turned or mirrored there; libheif reports that as offsets whose meaning (measured: 224 for
  // an overrun of 32 in tiles of 256) is not documented, so such a grid is decoded whole.
  const offset = fields[7] !== 0 || fields[8] !== 0;
  if (columns * rows < 2 || factor < 2 || offset) return undefined;
  const channels = heif._heif_image_handle_has_alpha_channel(handle) ? 4 : 3;
  const chroma =
    channels === 4
      ? heif.heif_chroma.heif_chroma_interleaved_RGBA
      : heif.heif_chroma.heif_chroma_interleaved_RGB;
  const out = { width: Math.ceil(width / factor), height: Math.ceil(height / factor) };
  const sums = new Uint32Array(out.width * out.height * channels);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      const tile = heap.call((error, image) =>
        heif._heif_image_handle_decode_image_tile(
          error,
          handle,
          image,
          heif.heif_colorspace.heif_colorspace_RGB.value,
          chroma.value,
          0,
          column,
          row,
        ),
      );
      try {
        const origin = { x: column * tileWidth, y: row * tileHeight };
        const shrunk = {
          width: out.width,
          channels,
          factor,
          imageWidth: width,
          imageHeight: height,
        };
        addTile(heap, tile, origin, shrunk, sums);
      } finally {
        heif._heif_image_release(tile);
      }
    }
  }
  const data = Buffer.allocUnsafe(sums.length);
  for (let y = 0; y < out.height; y++) {
    const rowsIn = Math.min(factor, height - y * factor);
    for (let x = 0; x < out.width; x++) {
      const count = rowsIn * Math.min(factor, width - x * factor);
      const at = (y * out.width + x) * channels;
      for (let c = 0; c < channels; c++) data[at + c] = Math.round((sums[at + c] ?? 0) / count);
    }
  }
  return {
    ...out,
    channels,
    data,
    image: 0,
    primaryWidth: width,
    primaryHeight: height,
    fromThumbnail: false,
  };
}

/** Adds a decoded tile's samples, placed at `origin` in the image, to their blocks' sums. */
function addTile(
  heap: Heap,
  tile: Pointer,
  origin: { x: number; y: number },
  shrunk: {
    width: number;
    channels: number;
    factor: number;
    imageWidth: number;
    imageHeight: number;
  },
  sums: Uint32Array,
): void {
  const { heif } = heap;
  const channel = heif.heif_channel.heif_channel_interleaved.value;
  const strideAt = heap.alloc(4);
  const plane = heif._heif_image_get_plane_readonly2(tile, channel, strideAt);
  if (plane === 0) throw corrupt("no interleaved pixels in a tile");
  const stride = heif.HEAPU32[strideAt >> 2] ?? 0;
  const bytes = heif.HEAPU8;
  const { channels, factor } = shrunk;
  const columns = Math.min(heif._heif_image_get_width(tile, channel), shrunk.imageWidth - origin.x);
  const rows = Math.min(heif._heif_image_get_height(tile, channel), shrunk.imageHeight - origin.y);
  for (let y = Math.max(0, -origin.y); y < rows; y++) {
    const blockRow = Math.floor((origin.y + y) / factor) * shrunk.width;
    const from = plane + y * stride;
    for (let x = Math.max(0, -origin.x); x < columns; x++) {
      const to = (blockRow + Math.floor((origin.x + x) / factor)) * channels;
      for (let c = 0; c < channels; c++) {
        sums[to + c] = (sums[to + c] ?? 0) + (bytes[from + x * channels + c] ?? 0);
      }
    }
  }
}

/** Rows padded to an alignment (small images) are copied out contiguous; others are a view. */
function unpadded(data: Uint8Array, rowBytes: number, stride: number, rows: number): Uint8Array {
  if (stride === rowBytes) return data.subarray(0, rowBytes * rows);
  const out = Buffer.allocUnsafe(rowBytes * rows);
  for (let row = 0; row < rows; row++) {
    out.set(data.subarray(row * stride, row * stride + rowBytes), row * rowBytes);
  }
  return out;
}

let gc: (() => void) | undefined;

/**
 * A full garbage collection, obtained the way jest's leak detector does (the flag exposes
 * `gc` to contexts created afterwards): V8 frees a dropped WebAssembly heap only then, and
 * nothing else in a thumbnail job triggers one.
 */
function collectGarbage(): void {
  if (!gc) {
    // Required here, not imported: a cold start that meets no HEIC need not load them.
    const { setFlagsFromString } = require("node:v8") as typeof import("node:v8");
    const { runInNewContext } = require("node:vm") as typeof import("node:vm");
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
}

function corrupt(reason: string): PermanentInputError {
  return new PermanentInputError("CORRUPT_INPUT", `HEIC input could not be decoded: ${reason}`);
}
