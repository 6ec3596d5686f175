/**
 * The local service under load and with S3 unreachable (integration: real s3rver, real HTTP).
 * Prints the measured figures.
 */

import { goodImages } from "./support/local-fixtures";
import { get, listKeys, put, waitFor } from "./support/local-s3";
import { startTestService } from "./support/local-service";
import { startTcpProxy } from "./support/tcp-proxy";

describe("local service under load (integration)", () => {
  it("turns 200 concurrent uploads of mixed images into 200 thumbnails, spilling past a small queue", async () => {
    // 20 events fit in memory: the rest spill to reconciliation, which must still catch them all.
    const local = await startTestService({ queueCapacity: 20 });
    try {
      const images = await goodImages();
      const uploads = Array.from({ length: 200 }, (_, index) => {
        const image = images[index % images.length];
        return { key: `load/${index}-${image?.name}`, image };
      });
      const started = performance.now();

      await Promise.all(
        uploads.map(({ key, image }) =>
          put(local.s3, "source", key, image?.data ?? Buffer.alloc(0)),
        ),
      );
      const uploaded = performance.now();
      const keys = await waitFor(
        "200 thumbnails",
        async () => {
          const found = await listKeys(local.s3, "thumbnails");
          return found.length >= uploads.length ? found : undefined;
        },
        120_000,
      );
      const done = performance.now();

      expect(keys.sort()).toEqual(uploads.map(({ key }) => key).sort());
      const sample = await get(local.s3, "thumbnails", uploads[7]?.key ?? "");
      expect(sample?.contentType).toBe("image/jpeg");
      expect(await local.failures()).toEqual([]);
      expect(local.service.stats.spilled).toBeGreaterThan(0);
      console.log(
        `load: ${uploads.length} uploads in ${Math.round(uploaded - started)} ms, ` +
          `${keys.length} thumbnails after ${Math.round(done - started)} ms, ` +
          `${(await local.failures()).length} failures recorded, ${local.service.stats.spilled} spilled`,
      );
    } finally {
      await local.close();
    }
  }, 150_000);

  it("retries while S3 is unreachable and loses nothing once it is back", async () => {
    // The handler's S3 client talks to s3rver through a proxy that the test cuts for 3 s.
    let s3rverPort = 0;
    const proxy = await startTcpProxy(() => ({ host: "127.0.0.1", port: s3rverPort }));
    const local = await startTestService({
      handlerEndpoint: `http://127.0.0.1:${proxy.port}`,
      retryDelaysMs: [200, 400],
      reconcileRetryMs: 500,
    });
    s3rverPort = local.service.port;
    try {
      const images = await goodImages();
      const uploads = Array.from({ length: 20 }, (_, index) => ({
        key: `outage/${index}.jpg`,
        data: images[index % images.length]?.data ?? Buffer.alloc(0),
      }));
      const started = performance.now();

      await proxy.pause();
      await Promise.all(uploads.map(({ key, data }) => put(local.s3, "source", key, data)));
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await proxy.resume();
      const keys = await waitFor(
        "every thumbnail after the outage",
        async () => {
          const found = await listKeys(local.s3, "thumbnails");
          return found.length >= uploads.length ? found : undefined;
        },
        60_000,
      );

      expect(keys.sort()).toEqual(uploads.map(({ key }) => key).sort());
      const retries = local.logs.filter(
        (line) => line.msg === "invocation failed; retrying",
      ).length;
      const exhausted = (await local.failures()).filter((entry) => entry.kind === "invocation");
      expect(retries).toBeGreaterThan(0); // the outage was real: invocations failed and were retried
      expect(exhausted.every((entry) => entry.code === "S3_ERROR")).toBe(true);
      console.log(
        `outage: ${uploads.length} uploads during a 3000 ms outage, ${retries} retries, ` +
          `${exhausted.length} invocations recorded as failed then reconciled, ` +
          `${keys.length} thumbnails ${Math.round(performance.now() - started)} ms after the first upload`,
      );
    } finally {
      await local.close();
      await proxy.close();
    }
  }, 120_000);
});
