/**
 * What the HEIC thumbnail item costs in fidelity: each HEIC's default thumbnail made from its
 * thumbnail item when large enough (the default) and from the primary image (HEIC_THUMBNAILS
 * off), in this process; their mean absolute difference per channel, sizes and times.
 */
import { readFile } from "node:fs/promises";
import sharp, { type OutputInfo } from "sharp";
import type { CorpusImage } from "./corpus";
import { errorText, round } from "./stats";

export type HeicItemResult = Awaited<ReturnType<typeof compareHeicItems>>;

export async function compareHeicItems(images: readonly CorpusImage[]) {
  const engine = await import("../handler/engine/index");
  engine.configureSharp();
  const make = async (input: Buffer, heicThumbnails: boolean) => {
    const t0 = performance.now();
    const limits = { ...engine.DEFAULT_LIMITS, heicThumbnails };
    const made = await engine.makeRenditions(input, [engine.defaultRendition()], limits);
    const ms = round(performance.now() - t0);
    const out = await sharp(made.outputs[0]?.data).raw().toBuffer({ resolveWithObject: true });
    return { ...out, ms, size: `${out.info.width}x${out.info.height}` };
  };
  const both = async (input: Buffer) => [await make(input, true), await make(input, false)];
  const [rows, errors] = [[] as ReturnType<typeof row>[], [] as string[]];
  for (const image of images.filter((i) => i.cls === "heic")) {
    const input = await readFile(image.path);
    if (rows.length === 0) await make(input, true).catch(() => {}); // loads libheif: not timed
    const [item, primary] = await both(input).catch((error: unknown) => {
      errors.push(`HEIC thumbnail item against primary: ${image.name}: ${errorText(error)}`);
      return [];
    });
    if (item && primary) rows.push(row(image, item, primary));
  }
  return { rows, errors };
}

type Made = { data: Buffer; info: OutputInfo; ms: number; size: string };

function row(image: CorpusImage, item: Made, primary: Made) {
  const { width, height, channels } = item.info;
  const same = item.size === primary.size;
  const sums = Array.from({ length: channels }, () => (same ? 0 : Number.NaN));
  for (let i = 0; same && i < item.data.length; i++) {
    const c = i % channels;
    sums[c] = (sums[c] ?? 0) + Math.abs((item.data[i] ?? 0) - (primary.data[i] ?? 0));
  }
  return {
    image: image.name,
    megapixels: image.megapixels,
    size: item.size,
    primarySize: primary.size,
    orientation: width === height ? "square" : width > height ? "landscape" : "portrait",
    sameSize: same,
    /** Of 255, per channel (R, G, B); NaN when the sizes differ. */
    mad: sums.map((sum) => round(sum / (width * height), 2)),
    itemMs: item.ms,
    primaryMs: primary.ms,
  };
}
