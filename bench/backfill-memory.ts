/**
 * Peak memory of `thumbnailer backfill --direct` as the bucket grows (docs/performance.md):
 *
 *   npm run build && node dist/bench/backfill-memory.js [COUNT...]    (default 1000 5000 20000)
 *
 * For each count: a fresh local store (s3rver on the service's store, a temporary folder) with
 * COUNT tiny JPEGs in `source`, nine in ten of them with an up-to-date thumbnail already in
 * `thumbnails` (so the run lists and checks every object and makes one in ten), then the built
 * CLI against it in a child process, whose own peak RSS is reported. Measured, never enforced.
 */

import { spawn } from "node:child_process";
import path from "node:path";
import sharp from "sharp";
import { AtomicFilesystemStore } from "../cli/serve/atomic-store";
import { startTemporaryS3Server } from "../cli/serve/s3-server";
import { LOCAL_CREDENTIALS } from "../cli/serve/service";
import { forEachLimited } from "../handler/bounded";
import { readConfig } from "../handler/config";
import { renditionSpec } from "../handler/engine";
import { destinationKey } from "../handler/keys";
import { thumbnailMetadata } from "../handler/thumbnail-state";

const CLI = path.join(__dirname, "..", "..", "bin", "thumbnailer.js");
const PROBE = path.join(__dirname, "peak-rss-probe.js");

async function measure(count: number): Promise<string> {
  const server = await startTemporaryS3Server(["source", "thumbnails"]);
  try {
    // Written by the store itself, as a PUT would: thousands of HTTP round trips take minutes.
    const store = new AtomicFilesystemStore(server.storeDir, server.tmpDir);
    const image = await sharp({
      create: { width: 64, height: 48, channels: 3, background: "#246" },
    })
      .jpeg()
      .toBuffer();
    // The CLI's defaults: one rendition, the handler's default thumbnail settings.
    const config = readConfig({ DEST_BUCKET: "thumbnails" });
    const keys = Array.from(
      { length: count },
      (_, i) => `photos/${String(i).padStart(7, "0")}.jpg`,
    );
    await forEachLimited(keys.entries(), 8, async ([index, key]) => {
      const type = { "content-type": "image/jpeg" };
      const { md5 } = await store.putObject({
        bucket: "source",
        key,
        content: image,
        metadata: type,
      });
      if (index % 10 === 0) return; // left to make
      for (const rendition of config.renditions) {
        const made = thumbnailMetadata(
          { bucket: "source", key, eTag: md5 },
          renditionSpec(rendition),
        );
        await store.putObject({
          bucket: "thumbnails",
          key: destinationKey(key, config, rendition),
          content: image,
          metadata: {
            ...type,
            ...Object.fromEntries(Object.entries(made).map(([k, v]) => [`x-amz-meta-${k}`, v])),
          },
        });
      }
    });

    const started = performance.now();
    const checkpoint = path.join(server.dir, "checkpoint.json");
    const { summary, peakKb } = await runBackfill(server.endpoint, checkpoint);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    return `${count} objects: peak RSS ${(peakKb / 1024).toFixed(0)} MiB, ${seconds} s; ${summary}`;
  } finally {
    await server.close();
  }
}

/** Runs the CLI in a child process (with the peak-RSS probe preloaded); its summary and peak. */
function runBackfill(
  endpoint: string,
  checkpoint: string,
): Promise<{ summary: string; peakKb: number }> {
  const args = ["--require", PROBE, CLI, "backfill", "--direct", "--endpoint", endpoint];
  args.push("--source-bucket", "source", "--dest-bucket", "thumbnails", "--checkpoint", checkpoint);
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_REGION: "us-east-1",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    stderr = stderr.slice(-4096); // the summary and the probe's line are the last ones
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      const peak = /peak-rss-kb (\d+)/.exec(stderr);
      const summary = /backfill: \d+ seen.*/.exec(stderr);
      if (code !== 0 || peak === null || summary === null) {
        reject(new Error(`backfill exited ${code}:\n${stderr}`));
      } else resolve({ summary: summary[0], peakKb: Number(peak[1]) });
    });
  });
}

async function main(): Promise<void> {
  const counts = process.argv.slice(2).map(Number);
  for (const count of counts.length > 0 ? counts : [1000, 5000, 20000]) {
    if (!Number.isInteger(count) || count < 1) throw new Error(`not an object count: ${count}`);
    process.stdout.write(`${await measure(count)}\n`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
