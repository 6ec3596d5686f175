/**
 * The corpus: a folder of the user's images (`--dir`), or photo-like images across sizes and
 * formats generated once and cached: gradients, soft shapes, mid-frequency texture and grain from
 * a seeded PRNG, so they compress like photographs (flat colour would flatter every codec) and
 * are byte-identical from run to run on the same sharp version.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, rename, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import sharp, { type Metadata } from "sharp";
import { groupBy, log } from "./stats";

const run = promisify(execFile);

export type CorpusImage = Awaited<ReturnType<typeof describe>>;
export type Corpus = { source: string; images: CorpusImage[]; notes: string[] };

/** Bump when the generator changes so stale caches are rebuilt. */
const GENERATOR_VERSION = 3;
/** An iPhone's 12 MP photo, 4032x3024 (renderBase's 4:3 at this size). */
const IPHONE_12MP = 12.19;

/** Extension and megapixel sizes per class. PNG, WebP, HEIC and GIF stop lower, as real ones
 * rarely go larger (and a 24 MP photo PNG is over the engine's 50 MB input limit). */
const GENERATED = {
  jpeg: ["jpg", [0.3, 2, 5, 12, 24]],
  "jpeg-progressive": ["jpg", [0.3, 2, 5, 12, 24]],
  png: ["png", [0.3, 2, 5, 12]],
  "png-alpha": ["png", [0.3, 2, 5, 12]],
  webp: ["webp", [0.3, 2, 5, 12]],
  heic: ["heic", [0.3, 2, IPHONE_12MP]],
  gif: ["gif", [0.3, 2]],
} satisfies Record<string, [string, number[]]>;
type Generated = keyof typeof GENERATED;
export type FormatClass = Generated | "other";
/** The order the engine runs the classes in: small to large, HEIC (WebAssembly memory) last. */
export const CLASS_ORDER = "jpeg jpeg-progressive webp png png-alpha gif other heic".split(" ");
const QUICK_SIZES = [0.3, 2, 12, IPHONE_12MP];

export async function generatedCorpus(options: { cacheDir: string; quick: boolean }) {
  const dir = resolve(options.cacheDir, `corpus-v${GENERATOR_VERSION}`);
  await mkdir(dir, { recursive: true });
  const heifEnc = await run("heif-enc", ["-h"]).then(
    () => true,
    (error: NodeJS.ErrnoException) => error.code !== "ENOENT", // older ones exit 1 after the help
  );
  const wanted = (Object.entries(GENERATED) as [Generated, [string, number[]]][]).flatMap(
    ([cls, [, sizes]]) =>
      (cls === "heic" && !heifEnc ? [] : sizes)
        .filter((mp) => !options.quick || QUICK_SIZES.includes(mp))
        .flatMap((mp) =>
          (options.quick ? ["a"] : ["a", "b"]).map((variant) => ({ cls, mp, variant })),
        ),
  );
  const images: CorpusImage[] = [];
  // One base picture per (size, variant) for every format: classes differ only in their codec.
  for (const group of groupBy(wanted, ({ mp, variant }) => `${mp}-${variant}`).values()) {
    let base: RawImage | undefined;
    for (const { cls, mp, variant } of group) {
      const path = join(dir, `${cls}-${mp}mp-${variant}.${GENERATED[cls][0]}`);
      if (!existsSync(path)) {
        if (!base) log(`  generating ${mp} MP picture ${variant}...`);
        base ??= await renderBase(mp, variant);
        await encode(base, cls, variant, path);
      }
      images.push(await describe(path, dir, cls));
    }
  }
  const notes = heifEnc
    ? []
    : ["heif-enc not found (Debian: libheif-examples): HEIC class skipped"];
  return { source: `generated (${relative(process.cwd(), dir) || dir})`, images, notes };
}

/** Every image in a folder (recursively, dot-files aside), classified by its format. */

export async function folderCorpus(folder: string): Promise<Corpus> {
  const root = resolve(folder);
  const images: CorpusImage[] = [];
  const notes: string[] = [];
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)));
  for (const name of files.filter((file) => !/(^|[\\/])\./.test(file)).sort()) {
    try {
      images.push(await describe(join(root, name), root));
    } catch {
      notes.push(`skipped ${name}: not an image sharp can read`);
    }
  }
  if (images.length === 0) throw new Error(`no readable images in ${root}`);
  return { source: root, images, notes };
}

type RawImage = { data: Buffer; width: number; height: number };

async function renderBase(mp: number, variant: string): Promise<RawImage> {
  // 4:3, even dimensions; variant "b" is portrait.
  const long = Math.round(Math.sqrt((mp * 1e6 * 4) / 3) / 2) * 2;
  const short = Math.round((long * 3) / 4 / 2) * 2;
  const [width, height] = variant === "b" ? [short, long] : [long, short];
  const random = mulberry32(hash(`${mp}-${variant}`));
  // Shapes and gradients at quarter resolution, upscaled: soft edges like a real lens.
  const sw = Math.max(16, Math.round(width / 4));
  const sh = Math.max(16, Math.round(height / 4));
  const small = await sharp(Buffer.from(svgScene(sw, sh, random)))
    .removeAlpha()
    .raw()
    .toBuffer();
  addNoise(small, 3, random, 24); // mid-frequency texture (foliage, fabric)
  const data = await sharp(small, { raw: { width: sw, height: sh, channels: 3 } })
    .resize(width, height, { fit: "fill", kernel: "cubic" })
    .raw()
    .toBuffer();
  addNoise(data, 3, random, 7); // sensor grain
  return { data, width, height };
}

function svgScene(width: number, height: number, random: () => number): string {
  const byte = () => Math.floor(random() * 256);
  const colour = () => `rgb(${byte()},${byte()},${byte()})`;
  const stop = (offset: number) => `<stop offset="${offset}" stop-color="${colour()}"/>`;
  const f = (n: number) => n.toFixed(1);
  const x2 = random().toFixed(2);
  const defs = [
    `<linearGradient id="sky" x1="0" y1="0" x2="${x2}" y2="1">${stop(0)}${stop(0.6)}${stop(1)}` +
      "</linearGradient>",
  ];
  const shapes: string[] = [];
  const count = 24 + Math.floor(random() * 16);
  for (let i = 0; i < count; i++) {
    const x = random() * width;
    const y = random() * height;
    const r = (0.03 + random() * 0.25) * Math.min(width, height);
    const opacity = (0.35 + random() * 0.6).toFixed(2);
    defs.push(`<radialGradient id="g${i}">${stop(0)}${stop(1)}</radialGradient>`);
    const paint = `fill="${random() < 0.6 ? `url(#g${i})` : colour()}" fill-opacity="${opacity}"`;
    const kind = random();
    if (kind < 0.4) {
      const ry = f(r * (0.4 + random()));
      shapes.push(`<ellipse cx="${f(x)}" cy="${f(y)}" rx="${f(r)}" ry="${ry}" ${paint}/>`);
    } else if (kind < 0.7) {
      const rotate = `rotate(${(random() * 90).toFixed(1)} ${f(x)} ${f(y)})`;
      const box = `x="${f(x - r)}" y="${f(y - r / 2)}" width="${f(2 * r)}" height="${f(r)}"`;
      shapes.push(`<rect ${box} transform="${rotate}" ${paint}/>`);
    } else {
      const points = Array.from({ length: 3 + Math.floor(random() * 4) }, () => {
        const a = random() * Math.PI * 2;
        const d = r * (0.5 + random());
        return `${f(x + Math.cos(a) * d)},${f(y + Math.sin(a) * d)}`;
      });
      shapes.push(`<polygon points="${points.join(" ")}" ${paint}/>`);
    }
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<defs>${defs.join("")}</defs><rect width="100%" height="100%" fill="url(#sky)"/>` +
    `${shapes.join("")}</svg>`
  );
}

/** Adds luminance noise (triangular distribution, +-amplitude) in place. */
function addNoise(data: Buffer, channels: number, random: () => number, amplitude: number): void {
  const pixels = new Uint8ClampedArray(data.buffer, data.byteOffset, data.length); // 0..255
  for (let i = 0; i < pixels.length; i += channels) {
    const n = (random() + random() - 1) * amplitude;
    for (let c = 0; c < channels; c++) pixels[i + c] = (pixels[i + c] ?? 0) + n;
  }
}

async function encode(base: RawImage, cls: Generated, variant: string, path: string) {
  const { data, width, height } = base;
  const tmp = `${path}.tmp`;
  let image = sharp(data, { raw: { width, height, channels: 3 } });
  // Camera-like JPEG: q92, 4:2:0. The portrait variant is stored the way phones do it:
  // landscape pixels plus EXIF Orientation 6 (HEIC: irot 3 too), so the engine must rotate.
  const turned = variant === "b" && (cls.startsWith("jpeg") || cls === "heic");
  if (turned) image = image.rotate(-90).withMetadata({ orientation: 6 });
  if (cls === "png-alpha") {
    // A soft-edged cut-out, like a product shot with a transparent background.
    const [cx, cy, rx, ry] = [width / 2, height / 2, width * 0.42, height * 0.42];
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<ellipse cx="${cx}" cy="${cy}" rx="${rx}" ry="${ry}" fill="#fff"/></svg>`;
    const mask = await sharp(Buffer.from(svg))
      .extractChannel(3)
      .blur(Math.max(1, Math.min(width, height) / 200))
      .raw()
      .toBuffer();
    image = image.joinChannel(mask, { raw: { width, height, channels: 1 } });
  }
  if (cls === "heic") {
    // As an iPhone writes it (the tests' builder: it loads only sharp and heif-enc): 512x512
    // tiles, Display P3, EXIF, thumbnail items of 320x240 and in a 512 box.
    const { IPHONE, iphoneHeic } = await import("../__tests__/support/heic-fixtures");
    const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
    const layout = { ...IPHONE, quality: 80, exif: true, rotation: turned ? 3 : 0 } as const;
    await writeFile(tmp, await iphoneHeic(data, info.width, info.height, layout));
  } else if (cls === "webp") await image.webp({ quality: 85 }).toFile(tmp);
  else if (cls === "gif") await image.gif().toFile(tmp);
  else if (cls.startsWith("png")) await image.png({ compressionLevel: 6 }).toFile(tmp);
  else await image.jpeg({ quality: 92, progressive: cls !== "jpeg", mozjpeg: false }).toFile(tmp);
  await rename(tmp, path);
}

/** By sharp's reading of the header (which it can do for HEIC too, without an HEVC decoder). */
function classOf({ format, isProgressive, hasAlpha }: Metadata): FormatClass {
  if (format === "jpeg") return isProgressive ? "jpeg-progressive" : "jpeg";
  if (format === "png") return hasAlpha ? "png-alpha" : "png";
  if (format === "heif") return "heic";
  return format === "webp" || format === "gif" ? format : "other";
}

async function describe(path: string, root: string, cls?: FormatClass) {
  const meta = await sharp(path).metadata();
  const megapixels = ((meta.width ?? 0) * (meta.pageHeight ?? meta.height ?? 0)) / 1e6;
  return { path, name: relative(root, path), cls: cls ?? classOf(meta), megapixels };
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Small seeded PRNG (public domain mulberry32): same seed, same corpus. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
