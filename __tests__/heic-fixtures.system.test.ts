/**
 * The committed HEIC fixtures (support/heic-fixtures.ts) against a fresh encode of their recipe
 * with Debian's heif-enc: same size, codec, bit depth, alpha and ICC profile. HEVC encoding is
 * not byte-for-byte reproducible across versions, so the headers are compared, not the bytes.
 * UPDATE_HEIC_FIXTURES=1 npm run test:system -- heic-fixtures rewrites the files.
 */

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import {
  HEIC_FIXTURE_DIR,
  HEIC_FIXTURES,
  type HeicFixture,
  heicFixture,
} from "./support/heic-fixtures";
import { heicFromPng } from "./support/images";

const header = async (heic: Buffer) => {
  const { width, height, format, compression, hasAlpha, bitsPerSample, icc } =
    await sharp(heic).metadata();
  return { width, height, format, compression, hasAlpha, bitsPerSample, icc: icc !== undefined };
};

describe("committed HEIC fixtures (system: heif-enc)", () => {
  it.each(Object.keys(HEIC_FIXTURES) as HeicFixture[])(
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
