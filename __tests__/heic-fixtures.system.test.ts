/**
 * The committed HEIC fixtures (support/heic-fixtures.ts) against a fresh encode of their recipe
 * with Debian's heif-enc: same size, codec, bit depth, alpha and ICC profile, and for the
 * iPhone-structured ones the same structure as Debian's heif-info lists it (items, grid,
 * thumbnails, profile). HEVC encoding is not byte-for-byte reproducible across versions, so the
 * headers are compared, not the bytes.
 * UPDATE_HEIC_FIXTURES=1 npm run test:system -- heic-fixtures rewrites the files.
 */

import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import {
  HEIC_FIXTURE_DIR,
  HEIC_FIXTURES,
  heicFixture,
  IPHONE_FIXTURES,
} from "./support/heic-fixtures";
import { heicFromPng } from "./support/images";

/** What heif-info (libheif's own reader) lists of a file: images, thumbnails, profiles. */
async function structure(heif: Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "heic-fixture-"));
  try {
    await writeFile(join(dir, "in.heic"), heif);
    const { stdout } = await promisify(execFile)("heif-info", [join(dir, "in.heic")]);
    return stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const header = async (heic: Buffer) => {
  const { width, height, format, compression, hasAlpha, bitsPerSample, icc } =
    await sharp(heic).metadata();
  return { width, height, format, compression, hasAlpha, bitsPerSample, icc: icc !== undefined };
};

describe("committed HEIC fixtures (system: heif-enc)", () => {
  it.each(Object.keys(HEIC_FIXTURES) as (keyof typeof HEIC_FIXTURES)[])(
    "%s matches its recipe",
    async (name) => {
      const recipe = HEIC_FIXTURES[name];
      const fresh = await heicFromPng(await recipe.png(), recipe.flags);
      if (process.env.UPDATE_HEIC_FIXTURES === "1") {
        await writeFile(join(HEIC_FIXTURE_DIR, `${name}.heic`), fresh);
      }

      expect(await header(await heicFixture(name))).toEqual(await header(fresh));
    },
    120_000,
  );
});

describe("committed iPhone-structured HEIC fixtures (system: heif-enc)", () => {
  it.each(Object.keys(IPHONE_FIXTURES) as (keyof typeof IPHONE_FIXTURES)[])(
    "%s matches its recipe",
    async (name) => {
      const fresh = await IPHONE_FIXTURES[name]();
      if (process.env.UPDATE_HEIC_FIXTURES === "1") {
        await writeFile(join(HEIC_FIXTURE_DIR, `${name}.heic`), fresh);
      }
      const committed = await heicFixture(name);

      expect(await header(committed)).toEqual(await header(fresh));
      expect(await structure(committed)).toEqual(await structure(fresh));
    },
    120_000,
  );
});
