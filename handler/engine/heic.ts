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
 */

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { HeifImage, Libheif } from "libheif-js/libheif-wasm/libheif-bundle.js";
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
 * Decodes the top-level image at `index` (the primary image, as the container's header names
 * it). Throws PermanentInputError: TOO_MANY_PIXELS before decoding, CORRUPT_INPUT if it cannot
 * decode. The caller must call release() on success.
 */
export async function decodeHeic(
  input: Uint8Array,
  index: number,
  maxInputPixels: number,
): Promise<HeicPixels> {
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
    const { image, ...pixels } = decodeImage(heif, input, index, maxInputPixels);
    const release = () => {
      heif.heif_image_release(image);
      done();
    };
    return { ...pixels, release };
  } catch (error) {
    done();
    throw error;
  }
}

function decodeImage(
  heif: Libheif,
  input: Uint8Array,
  index: number,
  maxInputPixels: number,
): Omit<HeicPixels, "release"> & { image: HeifImage } {
  const context = heif.heif_context_alloc();
  try {
    const read = heif.heif_context_read_from_memory(context, input);
    if (read.code !== heif.heif_error_code.heif_error_Ok) throw corrupt(read.message);
    const ids: number[] = heif.heif_js_context_get_list_of_top_level_image_IDs(context);
    const id = ids[index] ?? ids[0];
    if (id === undefined) throw corrupt("it contains no image");
    const handle = heif.heif_js_context_get_image_handle(context, id);
    if (handle.code !== undefined) throw corrupt(handle.message ?? "no image handle");
    try {
      const width = heif.heif_image_handle_get_width(handle);
      const height = heif.heif_image_handle_get_height(handle);
      checkPixels(width, height, maxInputPixels);
      const channels = heif.heif_image_handle_has_alpha_channel(handle) ? 4 : 3;
      const decoded = heif.heif_js_decode_image2(
        handle,
        heif.heif_colorspace.heif_colorspace_RGB,
        channels === 4
          ? heif.heif_chroma.heif_chroma_interleaved_RGBA
          : heif.heif_chroma.heif_chroma_interleaved_RGB,
      );
      if (decoded.code !== undefined) throw corrupt(decoded.message);
      const plane = decoded.channels.find(
        (channel) => channel.id === heif.heif_channel.heif_channel_interleaved,
      );
      if (!plane) {
        heif.heif_image_release(decoded.image);
        throw corrupt("no interleaved pixels");
      }
      return {
        width: plane.width,
        height: plane.height,
        channels,
        data: unpadded(plane.data, plane.width * channels, plane.stride, plane.height),
        image: decoded.image,
      };
    } finally {
      heif.heif_image_handle_release(handle);
    }
  } finally {
    heif.heif_context_free(context);
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
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
}

function corrupt(reason: string): PermanentInputError {
  return new PermanentInputError("CORRUPT_INPUT", `HEIC input could not be decoded: ${reason}`);
}
