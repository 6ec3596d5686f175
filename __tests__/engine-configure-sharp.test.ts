/**
 * configureSharp: importing the engine leaves sharp's process-wide settings alone; the entry
 * point's configureSharp() turns libvips' cache off and allows only the accepted loaders, and
 * makeThumbnail refuses to run before it. sharp's settings live in its native module, which
 * jest's module registry cannot reset, so each case runs in a fresh Node process on dist/.
 */

import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { buildDist, PROJECT_DIR } from "./support/build-dist";

const ENGINE = path.join(PROJECT_DIR, "dist", "handler", "engine", "index.js");
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>';

interface Settings {
  concurrency: number;
  simd: boolean;
  cache: { memory: number; files: number; items: number };
  /** Whether sharp still decodes SVG (libvips' SVG loader is one the engine blocks). */
  svg: boolean;
}

/** Runs `steps` (JavaScript; `engine` is in scope after "import") in a fresh process. */
async function settingsAfter(steps: string): Promise<{ fresh: Settings; after: Settings }> {
  const script = `
    const sharp = require("sharp");
    const settings = async () => {
      const { memory, files, items } = sharp.cache();
      const svg = await sharp(Buffer.from(${JSON.stringify(SVG)})).png().toBuffer().then(() => true, () => false);
      return {
        concurrency: sharp.concurrency(),
        simd: sharp.simd(),
        cache: { memory: memory.max, files: files.max, items: items.max },
        svg,
      };
    };
    (async () => {
      const fresh = await settings();
      let engine;
      ${steps}
      process.stdout.write(JSON.stringify({ fresh, after: await settings() }));
    })();`;
  const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], {
    cwd: PROJECT_DIR,
    timeout: 60_000,
  });
  return JSON.parse(stdout);
}

describe("configureSharp", () => {
  beforeAll(() => {
    buildDist();
  }, 120_000);

  it("importing the engine changes none of sharp's process-wide settings", async () => {
    const { fresh, after } = await settingsAfter(`engine = require(${JSON.stringify(ENGINE)});`);

    expect(fresh.svg).toBe(true); // the probe can see a blocked loader
    expect(fresh.cache.items).toBeGreaterThan(0);
    expect(after).toEqual(fresh);
  });

  it("turns the cache off and blocks loaders outside the accepted formats, leaving threads and SIMD at sharp's defaults", async () => {
    const { fresh, after } = await settingsAfter(
      `engine = require(${JSON.stringify(ENGINE)}); engine.configureSharp();`,
    );

    expect(after).toEqual({
      concurrency: fresh.concurrency,
      simd: fresh.simd,
      cache: { memory: 0, files: 0, items: 0 },
      svg: false,
    });
  });

  it("makeThumbnail refuses to run before configureSharp", async () => {
    const { after } = await settingsAfter(`
      engine = require(${JSON.stringify(ENGINE)});
      const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: "red" } }).png().toBuffer();
      const error = await engine.makeThumbnail(png).then(() => undefined, (e) => e);
      if (!/configureSharp\\(\\) must be called/.test(String(error?.message))) throw new Error("ran: " + error);
    `);

    expect(after.svg).toBe(true);
  });
});
