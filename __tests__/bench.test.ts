/**
 * `thumbnailer bench` runs end to end in --quick mode on a tiny folder of real images and
 * prints valid --json. Not a timed test: it checks the benchmark works and reports every part,
 * never how fast anything is. Integration: real sharp, real s3rver, real child processes.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";

const run = promisify(execFile);
const root = resolve(__dirname, "..");
const cli = join(root, "bin", "thumbnailer.js");

interface Report {
  corpus: { images: number; classes: Record<string, number> };
  notes: string[];
  engine: {
    runners: {
      name: string;
      settings: Record<string, string | number>;
      peakRssMb: number;
      groups: { group: string; images: number; imagesPerSec: number; p50Ms: number }[];
    }[];
  };
  coldStart: { variants: { name: string; readyP50Ms: number; firstP50Ms: number | null }[] };
  endToEnd: { uploads: number; latencyP50Ms: number; engineMs: number; throughput: number };
  targets: { name: string; met?: boolean }[];
}

describe("thumbnailer bench (integration: real sharp, s3rver, child processes)", () => {
  let dir: string;

  beforeAll(async () => {
    if (!existsSync(join(root, "dist", "local", "bench", "index.js"))) {
      throw new Error("dist/ is not built: run `npm run build` (npm test does it first)");
    }
    dir = await mkdtemp(join(tmpdir(), "bench-test-"));
    const picture = () =>
      sharp({ create: { width: 96, height: 64, channels: 4, background: "#3366cc80" } });
    await picture().flatten().jpeg().toFile(join(dir, "photo.jpg"));
    await picture().png().toFile(join(dir, "cut-out.png"));
    await picture().webp().toFile(join(dir, "photo.webp"));
    await writeFile(join(dir, "notes.txt"), "not an image");
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("prints its options with --help", async () => {
    const { stdout } = await run(process.execPath, [cli, "bench", "--help"]);

    expect(stdout).toContain("Usage: thumbnailer bench");
    expect(stdout).toMatch(/--quick/);
    expect(stdout).toMatch(/--compare/);
  });

  it("rejects an unknown part with a usage error", async () => {
    const failure = await run(process.execPath, [cli, "bench", "--only", "warp-drive"]).catch(
      (error: unknown) => error as { code: number; stderr: string },
    );

    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toContain("warp-drive");
  });

  it("measures engine, cold start and end to end on a folder and prints JSON", async () => {
    const { stdout } = await run(
      process.execPath,
      [cli, "bench", "--quick", "--json", "--dir", dir, "--processes", "1", "--uploads", "2"],
      { cwd: root, maxBuffer: 16 << 20, timeout: 50_000 },
    );
    const report = JSON.parse(stdout) as Report;

    expect(report.corpus).toMatchObject({
      images: 3,
      classes: { jpeg: 1, "png-alpha": 1, webp: 1 },
    });
    expect(report.notes.join("\n")).toContain("notes.txt");

    const engine = report.engine.runners.find((r) => r.name === "engine");
    expect(engine?.settings["sharp.concurrency"]).toBe(1);
    expect(engine?.peakRssMb).toBeGreaterThan(0);
    const jpeg = engine?.groups.find((g) => g.group === "jpeg <5MP");
    expect(jpeg).toMatchObject({ images: 1 });
    expect(jpeg?.imagesPerSec).toBeGreaterThan(0);
    expect(jpeg?.p50Ms).toBeGreaterThan(0);

    const handler = report.coldStart.variants.find((v) => v.name === "handler");
    expect(handler?.readyP50Ms).toBeGreaterThan(0);
    expect(handler?.firstP50Ms).toBeGreaterThan(handler?.readyP50Ms ?? 0);
    // The reference the target is stated against makes a real thumbnail too.
    const plain = report.coldStart.variants.find((v) => v.name === "plain sharp + S3 client");
    expect(plain?.firstP50Ms).toBeGreaterThan(plain?.readyP50Ms ?? 0);

    expect(report.endToEnd.uploads).toBe(2);
    expect(report.endToEnd.latencyP50Ms).toBeGreaterThan(0);
    expect(report.endToEnd.throughput).toBeGreaterThan(0);

    expect(report.targets.map((t) => t.name)).toHaveLength(4);
  });
});
