/**
 * The `attention` crop of a rendition made from the shared copy, found in JavaScript on the
 * copy's raw pixels. It follows libvips' smartcrop "attention" strategy (which sharp runs for
 * `position: "attention"`): on a 32x32 proxy of the image, score each pixel by its edges (a
 * Laplacian of luminance), skin tones and saturation (LAB a*), ignore dark pixels, blur the
 * score by a Gaussian as wide as a tenth of the crop, and centre the crop on the maximum.
 *
 * Why not libvips' own: its smartcrop costs ~5 ms of operation set-up and thread hand-offs per
 * call whatever the image's size (7 ms on a 267x200 copy, the bench's product list), more than
 * the rest of the rendition. Here the proxy is one pass over the copy's bytes and a Lanczos
 * reduce, and the scoring runs on 1,024 pixels: 0.6-1.1 ms of CPU on the product list's copy,
 * with the crop within 2 px of libvips' on 142 of the bench corpus' 144 cases
 * (docs/decisions.md, step 23).
 */

/** Raw interleaved 8-bit sRGB pixels (3 channels, or 4 with alpha last). */
export interface RawPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** The side of the square proxy the score is computed on: the crop's placement precision. */
const PROXY = 32;
/** smartcrop.js' skin colour, as libvips uses it: a direction in XYZ. */
const SKIN = [0.78, 0.57, 0.44] as const;
/** Luminance (Y of 0-100) at or under which a pixel scores nothing but its edges. */
const DARK = 5;

/** sRGB's transfer function undone, per 8-bit value. */
const LINEAR = Float64Array.from({ length: 256 }, (_, v) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});

/**
 * The left and top of a `cropWidth` x `cropHeight` window of `image` (each at most the image's)
 * that keeps its most interesting part, as libvips' attention strategy would place it. Pixels
 * with alpha are scored as flattened onto `background` (sRGB 0-255), as the rendition will be.
 */
export function attentionCrop(
  image: RawPixels,
  cropWidth: number,
  cropHeight: number,
  background: readonly [number, number, number],
): { left: number; top: number } {
  const { width, height } = image;
  const score = scores(proxy(image, background));
  const sigma = Math.max(
    Math.hypot((cropWidth * PROXY) / width, (cropHeight * PROXY) / height) / 10,
    1,
  );
  const { x, y } = maximum(gaussianBlur(score, sigma));
  // The maximum's proxy pixel mapped back by its left/top edge, as libvips does.
  return {
    left: Math.trunc(clamp((x * width) / PROXY - cropWidth / 2, width - cropWidth)),
    top: Math.trunc(clamp((y * height) / PROXY - cropHeight / 2, height - cropHeight)),
  };
}

/** `value` within 0 and `max`. */
function clamp(value: number, max: number): number {
  return Math.min(Math.max(value, 0), max);
}

/**
 * The image shrunk to PROXY x PROXY as libvips' resize does it (a box shrink by the integer
 * factor that leaves 2-3x, then a Lanczos-3 reduce), RGB only, flattened onto the background:
 * 3 values per pixel, whole numbers from 0 to 255. The placement follows the proxy closely, so a cheaper filter
 * (a plain box) moves crops on pictures without one clear subject.
 */
function proxy(image: RawPixels, background: readonly [number, number, number]): Float64Array {
  const shrunk = boxShrink(image, background);
  // The reduce's ratio is of the unrounded shrunk size, as libvips' is.
  const across = reduce(shrunk.pixels, shrunk.width, shrunk.height, true, image.width / shrunk.x);
  return reduce(across, PROXY, shrunk.height, false, image.height / shrunk.y);
}

/** Averages `x` by `y` blocks, flattening alpha onto the background: 3 floats per pixel. */
function boxShrink(
  { data, width, height, channels }: RawPixels,
  background: readonly [number, number, number],
) {
  const x = Math.max(1, Math.floor(width / PROXY / 2));
  const y = Math.max(1, Math.floor(height / PROXY / 2));
  const [outWidth, outHeight] = [Math.ceil(width / x), Math.ceil(height / y)];
  const pixels = new Float64Array(outWidth * outHeight * 3);
  const alpha = channels === 4;
  const [red, green, blue] = background;
  for (let row = 0; row < outHeight * y; row++) {
    // Past the last row or column the edge repeats, as libvips extends an image's edges.
    const source = clamp(row, height - 1) * width;
    const base = Math.floor(row / y) * outWidth;
    for (let cell = 0; cell < outWidth; cell++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let column = cell * x; column < (cell + 1) * x; column++) {
        const offset = (source + clamp(column, width - 1)) * channels;
        // Flattened: opaque pixels as they are, transparent ones the background.
        const opacity = alpha ? (data[offset + 3] ?? 0) / 255 : 1;
        const under = 1 - opacity;
        r += (data[offset] ?? 0) * opacity + red * under;
        g += (data[offset + 1] ?? 0) * opacity + green * under;
        b += (data[offset + 2] ?? 0) * opacity + blue * under;
      }
      const target = (base + cell) * 3;
      pixels[target] = (pixels[target] ?? 0) + r;
      pixels[target + 1] = (pixels[target + 1] ?? 0) + g;
      pixels[target + 2] = (pixels[target + 2] ?? 0) + b;
    }
  }
  // Rounded to 8 bits, as libvips' shrink is.
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.round((pixels[i] ?? 0) / (x * y));
  return { pixels, width: outWidth, height: outHeight, x, y };
}

/**
 * Lanczos-3 resampling of one axis of a width x height plane (3 floats per pixel) to PROXY,
 * `exact` being the axis' size before rounding.
 */
function reduce(
  plane: Float64Array,
  width: number,
  height: number,
  horizontal: boolean,
  exact: number,
) {
  const size = horizontal ? width : height;
  const lines = horizontal ? height : width;
  const out = new Float64Array((horizontal ? PROXY * height : width * PROXY) * 3);
  // Steps (in floats) between neighbours along the axis, and between lines, in and out.
  const [step, lineStep] = horizontal ? [3, width * 3] : [width * 3, 3];
  const [outStep, outLineStep] = horizontal ? [3, PROXY * 3] : [width * 3, 3];
  const ratio = exact / PROXY;
  // Widened by the reduction; never narrower than the kernel itself (an enlargement).
  const scale = Math.max(1, ratio);
  const support = 3 * scale;
  for (let i = 0; i < PROXY; i++) {
    const centre = (i + 0.5) * ratio - 0.5;
    const first = Math.ceil(centre - support);
    const count = Math.floor(centre + support) - first + 1;
    const offsets = new Int32Array(count);
    const weights = new Float64Array(count);
    let total = 0;
    for (let t = 0; t < count; t++) {
      offsets[t] = clamp(first + t, size - 1) * step;
      weights[t] = lanczos3((first + t - centre) / scale);
      total += weights[t] ?? 0;
    }
    for (let line = 0; line < lines; line++) {
      const from = line * lineStep;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let t = 0; t < count; t++) {
        const at = from + (offsets[t] ?? 0);
        const weight = weights[t] ?? 0;
        r += (plane[at] ?? 0) * weight;
        g += (plane[at + 1] ?? 0) * weight;
        b += (plane[at + 2] ?? 0) * weight;
      }
      const target = line * outLineStep + i * outStep;
      // Rounded to 8 bits, as libvips' proxy is.
      out[target] = clamp(Math.round(r / total), 255);
      out[target + 1] = clamp(Math.round(g / total), 255);
      out[target + 2] = clamp(Math.round(b / total), 255);
    }
  }
  return out;
}

function lanczos3(x: number): number {
  if (x === 0) return 1;
  if (Math.abs(x) >= 3) return 0;
  const px = Math.PI * x;
  return (3 * Math.sin(px) * Math.sin(px / 3)) / (px * px);
}

/** Per proxy pixel: edges + skin + saturation, as libvips' attention scores them. */
function scores(rgb: Float64Array): Float64Array {
  const n = PROXY * PROXY;
  const luminance = new Float64Array(n);
  const colour = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // The proxy holds 8-bit values (reduce() rounds and clamps them), so they index the table.
    const r = LINEAR[rgb[i * 3] ?? 0] ?? 0;
    const g = LINEAR[rgb[i * 3 + 1] ?? 0] ?? 0;
    const b = LINEAR[rgb[i * 3 + 2] ?? 0] ?? 0;
    // XYZ (D65), Y from 0 to 100, as libvips' colourspace conversion gives it.
    const X = 100 * (0.4124564 * r + 0.3575761 * g + 0.1804375 * b);
    const Y = 100 * (0.2126729 * r + 0.7151522 * g + 0.072175 * b);
    const Z = 100 * (0.0193339 * r + 0.119192 * g + 0.9503041 * b);
    luminance[i] = Y;
    if (Y <= DARK) continue;
    const magnitude = Math.hypot(X, Y, Z);
    const skin =
      100 -
      100 * Math.hypot(X / magnitude - SKIN[0], Y / magnitude - SKIN[1], Z / magnitude - SKIN[2]);
    // LAB's a* (red against green): saturated reds, skin and foliage stand out.
    const saturation = 500 * (lab(X / 95.047) - lab(Y / 100));
    colour[i] = skin + saturation;
  }
  const score = new Float64Array(n);
  const at = (x: number, y: number) =>
    luminance[clamp(y, PROXY - 1) * PROXY + clamp(x, PROXY - 1)] ?? 0;
  for (let y = 0; y < PROXY; y++) {
    for (let x = 0; x < PROXY; x++) {
      const laplacian = 4 * at(x, y) - at(x - 1, y) - at(x + 1, y) - at(x, y - 1) - at(x, y + 1);
      score[y * PROXY + x] = Math.abs(5 * laplacian) + (colour[y * PROXY + x] ?? 0);
    }
  }
  return score;
}

function lab(t: number): number {
  return t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116;
}

/** A separable Gaussian blur of a PROXY x PROXY plane, edges extended. */
function gaussianBlur(plane: Float64Array, sigma: number): Float64Array {
  // libvips' default mask: out to the last point at 0.2 of the peak or more, in integers
  // (the peak is 20), which its blur uses unless asked for floats.
  const radius = Math.max(1, Math.floor(sigma * Math.sqrt(2 * Math.log(5))));
  const weights = Float64Array.from({ length: 2 * radius + 1 }, (_, i) =>
    Math.round(20 * Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma))),
  );
  const total = weights.reduce((a, b) => a + b, 0);
  const pass = (input: Float64Array, horizontal: boolean) => {
    const output = new Float64Array(input.length);
    for (let y = 0; y < PROXY; y++) {
      for (let x = 0; x < PROXY; x++) {
        let sum = 0;
        for (let k = -radius; k <= radius; k++) {
          const xx = horizontal ? clamp(x + k, PROXY - 1) : x;
          const yy = horizontal ? y : clamp(y + k, PROXY - 1);
          sum += (input[yy * PROXY + xx] ?? 0) * (weights[k + radius] ?? 0);
        }
        output[y * PROXY + x] = sum / total;
      }
    }
    return output;
  };
  return pass(pass(plane, true), false);
}

function maximum(plane: Float64Array): { x: number; y: number } {
  let best = 0;
  for (let i = 1; i < plane.length; i++) if ((plane[i] ?? 0) > (plane[best] ?? 0)) best = i;
  return { x: best % PROXY, y: Math.floor(best / PROXY) };
}
