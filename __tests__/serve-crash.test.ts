/**
 * The local service killed mid-burst (integration): the real `thumbnailer serve` process is
 * SIGKILLed while uploads stream in, its store is damaged the way a killed s3rver leaves it, and
 * a restart must end with every acknowledged upload thumbnailed. Prints the measured figures.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { buildDist, CLI } from "./support/build-dist";
import { goodImages } from "./support/local-fixtures";
import { get, localClient, put, waitFor } from "./support/local-s3";

interface Running {
  readonly child: ChildProcess;
  readonly endpoint: string;
  output(): string;
  exited: Promise<number | null>;
}

/** `thumbnailer serve --port 0 --ui-port 0 --data DIR`, resolved once its banner names the endpoint. */
async function startServe(dataDir: string): Promise<Running> {
  const args = [CLI, "serve", "--port", "0", "--ui-port", "0", "--data", dataDir];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const endpoint = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /endpoint\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", () => reject(new Error(`serve exited before its banner:\n${output}`)));
    setTimeout(() => reject(new Error(`no banner after 30 s:\n${output}`)), 30_000).unref();
  });
  return { child, endpoint, output: () => output, exited };
}

describe("local service crash safety (integration: real CLI process, SIGKILL)", () => {
  let dataDir: string;
  const clients: S3Client[] = [];

  beforeAll(async () => {
    buildDist();
    dataDir = await mkdtemp(path.join(tmpdir(), "thumbnailer-crash-"));
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("ends with every acknowledged upload thumbnailed after a SIGKILL during a burst", async () => {
    const images = await goodImages();
    const first = await startServe(dataDir);
    expect(first.output()).toMatch(/^ {2}gallery {7}http:\/\/127\.0\.0\.1:\d+\/ /m);
    const s3 = localClient(first.endpoint);
    clients.push(s3);
    const acknowledged = new Map<string, string>(); // key -> ETag
    let failedUploads = 0;

    // Act: 6 uploaders stream 80 uploads; the service is killed once 30 are acknowledged.
    let next = 0;
    const uploader = async (): Promise<void> => {
      while (next < 80) {
        const index = next++;
        const key = `burst/${index}.${images[index % images.length]?.name}`;
        try {
          acknowledged.set(
            key,
            await put(s3, "source", key, images[index % images.length]?.data ?? Buffer.alloc(0)),
          );
        } catch {
          failedUploads += 1; // the server died under this request
        }
        if (acknowledged.size === 30) first.child.kill("SIGKILL");
      }
    };
    await Promise.all(Array.from({ length: 6 }, uploader));
    await first.exited;
    // Damage the store as a kill during s3rver's in-place metadata write does: empty files.
    const [damaged] = acknowledged.keys();
    await writeFile(path.join(dataDir, "s3", "source", `${damaged}._S3rver_metadata.json`), "");
    const thumbnailsAtKill = (
      await readdir(path.join(dataDir, "s3", "thumbnails", "burst"))
    ).filter((name) => name.endsWith("._S3rver_object")).length;
    const killedAt = performance.now();

    const second = await startServe(dataDir);
    const s3Again = localClient(second.endpoint);
    clients.push(s3Again);
    const current = async (key: string, eTag: string): Promise<boolean> =>
      (await get(s3Again, "thumbnails", key))?.metadata["source-etag"] === eTag;
    await waitFor(
      "a current thumbnail for every acknowledged upload",
      async () => {
        for (const [key, eTag] of acknowledged) if (!(await current(key, eTag))) return undefined;
        return true;
      },
      90_000,
    );
    const recoveredMs = Math.round(performance.now() - killedAt);

    // Assert: the damaged entry was repaired, and SIGTERM stops the service cleanly.
    expect(second.output()).toContain("removed a damaged s3rver file");
    expect(acknowledged.size).toBeGreaterThanOrEqual(30);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    console.log(
      `crash: ${acknowledged.size} uploads acknowledged (${failedUploads} cut by the SIGKILL), ` +
        `${thumbnailsAtKill} thumbnails at the kill, all ${acknowledged.size} current ` +
        `${recoveredMs} ms after restart (incl. start-up), ` +
        `1 damaged metadata file repaired`,
    );
  }, 180_000);
});
