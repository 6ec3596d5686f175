/**
 * The HEIC test images, committed under __tests__/fixtures/heic/ so that `npm test` needs no
 * HEVC encoder. Each row says how its file was made: a PNG from ./images.ts, encoded with Debian's
 * heif-enc and the flags given. __tests__/heic-fixtures.system.test.ts (npm run test:system)
 * checks every file against a fresh encode, and rewrites them with UPDATE_HEIC_FIXTURES=1.
 */

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { BLUE, GREEN, halfTransparentPng, markedImage, noisy, RED, solid } from "./images";

export const HEIC_FIXTURE_DIR = join(__dirname, "..", "fixtures", "heic");

export const HEIC_FIXTURES = {
  "marked-16x16": { png: () => markedImage(16, 16).png().toBuffer(), flags: [] },
  "marked-64x48": { png: () => markedImage(64, 48).png().toBuffer(), flags: [] },
  "marked-64x64": { png: () => markedImage(64, 64).png().toBuffer(), flags: [] },
  "marked-300x600": { png: () => markedImage(300, 600).png().toBuffer(), flags: [] },
  "marked-600x400-q90": { png: () => markedImage(600, 400).png().toBuffer(), flags: ["-q", "90"] },
  "marked-1200x900-q90": {
    png: () => markedImage(1200, 900).png().toBuffer(),
    flags: ["-q", "90"],
  },
  "noisy-128x128": { png: () => noisy(128, 128).png().toBuffer(), flags: [] },
  "red-300x200": { png: () => solid(300, 200, RED).png().toBuffer(), flags: [] },
  "red-300x200-p3-q95": {
    png: () => solid(300, 200, RED).withIccProfile("p3").png().toBuffer(),
    flags: ["-q", "95"],
  },
  "red-1200x900": { png: () => solid(1200, 900, RED).png().toBuffer(), flags: [] },
  "green-1200x900": { png: () => solid(1200, 900, GREEN).png().toBuffer(), flags: [] },
  "blue-1200x900": { png: () => solid(1200, 900, BLUE).png().toBuffer(), flags: [] },
  "green-4000x3000": { png: () => solid(4000, 3000, GREEN).png().toBuffer(), flags: [] },
  "green-half-transparent-200x100-10bit": {
    png: async () =>
      sharp(await halfTransparentPng(200, 100, GREEN))
        .toColourspace("rgb16")
        .png()
        .toBuffer(),
    flags: ["-q", "90", "-b", "10"],
  },
} as const satisfies Record<string, { png: () => Promise<Buffer>; flags: readonly string[] }>;

export type HeicFixture = keyof typeof HEIC_FIXTURES;

export function heicFixture(name: HeicFixture): Promise<Buffer> {
  return readFile(join(HEIC_FIXTURE_DIR, `${name}.heic`));
}
