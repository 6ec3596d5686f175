/**
 * Peak memory of `thumbnailer backfill --direct` as the bucket grows (docs/performance.md):
 *   npm run build && node dist/bench/backfill-memory.js [COUNT...]    (default 1000 5000 20000)
 * For each count: a fresh local store with COUNT tiny JPEGs in `source`, nine in ten of them with
 * an up-to-date thumbnail already in `thumbnails` (so the run lists and checks every object and
 * makes one in ten), then the built CLI against it in a child process, whose own peak RSS
 * (probe.ts, preloaded) is reported. Measured, never enforced.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import { AtomicFilesystemStore } from "../cli/serve/atomic-store";
import { LOCAL_CREDENTIALS } from "../cli/serve/credentials";
import { startTemporaryS3Server } from "../cli/serve/s3-server";
import { forEachLimited } from "../handler/bounded";
import { readConfig } from "../handler/config";
import { renditionSpec } from "../handler/engine";
import { destinationKey } from "../handler/keys";
import { thumbnailMetadata } from "../handler/thumbnail-state";
import { errorText, ROOT } from "./stats";

const exec = promisify(execFile);

async function measure(count: number): Promise<string> {
  const server = await startTemporaryS3Server(["source", "thumbnails"]);
  try {
    // Written by the store itself, as a PUT would: thousands of HTTP round trips take minutes.
    const store = new AtomicFilesystemStore(server.storeDir, server.tmpDir);
    const create = { width: 64, height: 48, channels: 3, background: "#246" } as const;
    const image = await sharp({ create }).jpeg().toBuffer();
    // The CLI's defaults: one rendition, the handler's default thumbnail settings.
    const config = readConfig({ DEST_BUCKET: "thumbnails" });
    const keys = Array.from({ length: count }, (_, i) => `photos/${i}.jpg`);
    const metadata = { "content-type": "image/jpeg" };
    await forEachLimited(keys.entries(), 8, async ([index, key]) => {
      const { md5 } = await store.putObject({ bucket: "source", key, content: image, metadata });
      if (index % 10 === 0) return; // left to make
      for (const rendition of config.renditions) {
        const source = { bucket: "source", key, eTag: md5 };
        const made = thumbnailMetadata(source, renditionSpec(rendition));
        const amz = Object.entries(made).map(([k, v]) => [`x-amz-meta-${k}`, v]);
        await store.putObject({
          bucket: "thumbnails",
          key: destinationKey(key, config, rendition),
          content: image,
          metadata: { ...metadata, ...Object.fromEntries(amz) },
        });
      }
    });
    const args = ["--require", join(__dirname, "probe.js"), join(ROOT, "bin/thumbnailer.js")];
    args.push("backfill", "--direct", "--endpoint", server.endpoint);
    args.push("--source-bucket", "source", "--dest-bucket", "thumbnails");
    args.push("--checkpoint", join(server.dir, "checkpoint.json"));
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_REGION: "us-east-1",
    };
    const started = performance.now();
    const { stderr } = await exec(process.execPath, args, { env, maxBuffer: 64 << 20 });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const peak = /peak-rss-kb (\d+)/.exec(stderr);
    const summary = /backfill: \d+ seen.*/.exec(stderr);
    if (!peak || !summary) throw new Error(`no summary or peak RSS from the backfill:\n${stderr}`);
    const mib = (Number(peak[1]) / 1024).toFixed(0);
    return `${count} objects: peak RSS ${mib} MiB, ${seconds} s; ${summary[0]}`;
  } finally {
    await server.close();
  }
}

async function main(): Promise<void> {
  const counts = process.argv.slice(2).map(Number);
  for (const count of counts.length > 0 ? counts : [1000, 5000, 20000]) {
    if (!Number.isInteger(count) || count < 1) throw new Error(`not an object count: ${count}`);
    process.stdout.write(`${await measure(count)}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${errorText(error)}\n`);
  process.exitCode = 1;
});
