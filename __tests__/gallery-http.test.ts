/**
 * The gallery page's HTTP side, integration: the real local service (s3rver, handler, engine)
 * and the gallery server on free ports, spoken to with raw HTTP requests a hostile page or a
 * rebinding DNS name could send.
 */

import http from "node:http";
import { GetObjectTaggingCommand, PutObjectTaggingCommand } from "@aws-sdk/client-s3";
import sharp from "sharp";
import { startGallery } from "../cli/serve/gallery/server";
import { rawRequest, startTestGallery, type TestGallery } from "./support/gallery";
import { heicFixture } from "./support/heic-fixtures";
import { goodImages } from "./support/local-fixtures";
import { exists, put, waitFor } from "./support/local-s3";
import { startTcpProxy, type TcpProxy } from "./support/tcp-proxy";

describe("gallery server (integration: real service, raw HTTP)", () => {
  let local: TestGallery;
  let origin: string;

  beforeAll(async () => {
    local = await startTestGallery({ handlerEnv: { MAX_INPUT_BYTES: "100000" } });
    origin = `http://127.0.0.1:${local.gallery.port}`;
  });

  afterAll(async () => {
    await local.close();
  });

  const upload = (key: string, body: Buffer, headers: Record<string, string>) =>
    rawRequest(`${origin}/api/objects?key=${encodeURIComponent(key)}`, {
      method: "PUT",
      headers: { "Content-Type": "image/jpeg", ...headers },
      body,
    });

  it("listens on the loopback address only", () => {
    expect(local.gallery.url).toBe(`${origin}/`);
  });

  it("refuses a request whose Host is not this server (DNS rebinding)", async () => {
    for (const host of [`evil.example:${local.gallery.port}`, "127.0.0.1", "127.0.0.1:1"]) {
      const response = await rawRequest(`${origin}/api/objects`, { headers: { Host: host } });
      expect(response.status).toBe(421);
      expect(JSON.parse(response.body.toString()).error).toContain("is not this server");
    }
    const ok = await rawRequest(`${origin}/api/objects`);
    expect(ok.status).toBe(200);
  });

  it("refuses uploads and deletes that do not come from the page's own origin", async () => {
    const [image] = await goodImages();
    const data = image?.data ?? Buffer.alloc(0);
    await put(local.s3, "source", "kept.jpg", data);

    const refused = [
      await upload("cross.jpg", data, { Origin: "http://evil.example" }),
      await upload("cross.jpg", data, { Origin: `http://localhost:${local.gallery.port + 1}` }),
      await upload("cross.jpg", data, { "Sec-Fetch-Site": "cross-site" }),
      await upload("cross.jpg", data, {}),
      await rawRequest(`${origin}/api/objects?key=kept.jpg`, {
        method: "DELETE",
        headers: { Origin: "http://evil.example", "Sec-Fetch-Site": "cross-site" },
      }),
    ];

    expect(refused.map((response) => response.status)).toEqual([403, 403, 403, 403, 403]);
    expect(await exists(local.s3, "source", "cross.jpg")).toBe(false);
    expect(await exists(local.s3, "source", "kept.jpg")).toBe(true);
  });

  it("takes a same-origin upload into the source bucket, where the pipeline thumbnails it", async () => {
    const [image] = await goodImages();

    const response = await upload("same.jpg", image?.data ?? Buffer.alloc(0), { Origin: origin });

    expect(response.status).toBe(201);
    await waitFor("thumbnail of same.jpg", async () =>
      (await exists(local.s3, "thumbnails", "same.jpg")) ? true : undefined,
    );
  });

  it("refuses an upload over MAX_INPUT_BYTES before storing it", async () => {
    const response = await upload("big.jpg", Buffer.alloc(100_001), { Origin: origin });

    expect(response.status).toBe(413);
    expect(JSON.parse(response.body.toString()).error).toContain("MAX_INPUT_BYTES");
    expect(await exists(local.s3, "source", "big.jpg")).toBe(false);
  });

  it("serves everything with its Content-Type, nosniff, and a policy allowing only its own scripts", async () => {
    const expected: Record<string, string> = {
      "/": "text/html; charset=utf-8",
      "/gallery.js": "text/javascript; charset=utf-8",
      "/gallery.css": "text/css; charset=utf-8",
      "/api/objects": "application/json; charset=utf-8",
      "/api/config": "application/json; charset=utf-8",
      "/nowhere": "application/json; charset=utf-8",
    };
    for (const [route, type] of Object.entries(expected)) {
      const response = await rawRequest(`${origin}${route}`);
      expect([route, response.headers["content-type"]]).toEqual([route, type]);
      expect(response.headers["x-content-type-options"]).toBe("nosniff");
    }
    const page = await rawRequest(`${origin}/`);
    const policy = String(page.headers["content-security-policy"]);
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain("unsafe-inline");
    // No inline script or handler in the page itself: everything is in gallery.js.
    expect(page.body.toString()).not.toMatch(/<script>|<script(?![^>]*\bsrc=)|\son\w+=/i);
  });

  it("serves stored images as images in a sandbox, and other uploads not at all", async () => {
    const [image] = await goodImages();
    await put(local.s3, "source", "photo.jpg", image?.data ?? Buffer.alloc(0));
    await local.s3.send(
      new (await import("@aws-sdk/client-s3")).PutObjectCommand({
        Bucket: "source",
        Key: "page.html",
        Body: "<script>alert(1)</script>",
        ContentType: "text/html",
      }),
    );

    const photo = await rawRequest(`${origin}/api/file?bucket=source&key=photo.jpg`);
    const html = await rawRequest(`${origin}/api/file?bucket=source&key=page.html`);

    expect(photo.status).toBe(200);
    expect(photo.headers["content-type"]).toBe("image/jpeg");
    expect(photo.headers["content-security-policy"]).toContain("sandbox");
    expect(photo.body.equals(image?.data ?? Buffer.alloc(0))).toBe(true);
    expect(html.status).toBe(415);
    expect(html.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(html.body.toString()).not.toContain("<script>");
  });

  it("serves AVIF as image/avif, and HEIC (which browsers do not show) not at all", async () => {
    const [image] = await goodImages();
    const avif = await sharp(image?.data).avif().toBuffer();
    await put(local.s3, "source", "photo.avif", avif);
    await put(local.s3, "source", "photo.heic", await heicFixture("marked-16x16"));

    const shown = await rawRequest(`${origin}/api/file?bucket=source&key=photo.avif`);
    const heic = await rawRequest(`${origin}/api/file?bucket=source&key=photo.heic`);

    expect(shown.status).toBe(200);
    expect(shown.headers["content-type"]).toBe("image/avif");
    expect(shown.headers["content-security-policy"]).toContain("sandbox");
    expect(shown.body.equals(avif)).toBe(true);
    expect(heic.status).toBe(415);
    expect(JSON.parse(heic.body.toString()).error).toContain("HEIC");
  });

  it("has no route from a request to the file system", async () => {
    for (const route of [
      "/../package.json",
      "/%2e%2e/package.json",
      "/assets/gallery.js",
      "/index.html",
      "/api/file?bucket=..&key=package.json",
      "/api/file?bucket=source&key=../../failures.jsonl",
    ]) {
      const response = await rawRequest(`${origin}${route}`);
      expect([route, response.status]).toEqual([route, expect.any(Number)]);
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.body.toString()).not.toContain('"name": "thumbnailer"');
    }
  });

  it("pages through the objects newest first, each exactly once", async () => {
    const keys = ["page/a.jpg", "page/b.jpg", "page/c.jpg", "page/d.jpg", "page/e.jpg"];
    const [image] = await goodImages();
    for (const key of keys) await put(local.s3, "source", key, image?.data ?? Buffer.alloc(0));
    await local.service.idle();

    const seen: { key: string; lastModified: string }[] = [];
    let after = "";
    for (let pages = 0; pages < 50; pages += 1) {
      const response = await rawRequest(`${origin}/api/objects?limit=2&after=${after}`);
      const page = JSON.parse(response.body.toString());
      expect(page.objects.length).toBeLessThanOrEqual(2);
      seen.push(...page.objects);
      if (page.next === null) break;
      after = encodeURIComponent(page.next);
    }

    const listed = seen.map((card) => card.key);
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed).toEqual(expect.arrayContaining(keys));
    const times = seen.map((card) => Date.parse(card.lastModified));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it("counts the states of the whole bucket on every page, and lists only failed ones when asked", async () => {
    await put(local.s3, "source", "broken-1.jpg", Buffer.from("not a photo"));
    await put(local.s3, "source", "broken-2.jpg", Buffer.from("not one either"));
    await local.service.idle();
    type Listing = {
      objects: { key: string; state: string }[];
      total: number;
      counts: Record<string, number>;
    };
    const list = async (query: string): Promise<Listing> =>
      JSON.parse((await rawRequest(`${origin}/api/objects?${query}`)).body.toString());
    const all = await waitFor("every object checked, none pending", async () => {
      const listing = await list("limit=100");
      const pending = listing.objects.some((card) => card.state === "pending");
      return pending || listing.counts.unchecked !== 0 ? undefined : listing;
    });
    const tally = (state: string) => all.objects.filter((card) => card.state === state).length;

    const first = await list("limit=1");
    const failed = await list("limit=100&state=failed");
    const bogus = await rawRequest(`${origin}/api/objects?state=lost`);

    expect(first.objects).toHaveLength(1);
    expect(first.total).toBe(all.objects.length);
    expect(first.counts).toEqual({
      made: tally("made"),
      failed: tally("failed"),
      pending: 0,
      unchecked: 0,
    });
    expect(first.counts.failed).toBeGreaterThanOrEqual(2);
    expect(failed.objects.map((card) => card.key).sort()).toEqual(
      all.objects
        .filter((card) => card.state === "failed")
        .map((card) => card.key)
        .sort(),
    );
    expect(failed.objects.map((card) => card.key)).toEqual(
      expect.arrayContaining(["broken-1.jpg", "broken-2.jpg"]),
    );
    expect(bogus.status).toBe(400);
  });

  it("checks every object listed at start-up, so a new gallery's counts are complete", async () => {
    const listing = async (url: string) =>
      JSON.parse((await rawRequest(`${url}api/objects?limit=1`)).body.toString()) as {
        counts: Record<string, number>;
      };
    const before = await listing(local.gallery.url);
    const second = await startGallery({
      service: local.service,
      host: "127.0.0.1",
      port: 0,
      log: { log: () => undefined },
    });
    try {
      const counts = await waitFor("the new gallery's counts", async () => {
        const { counts } = await listing(second.url);
        return counts.unchecked === 0 ? counts : undefined;
      });

      expect(before.counts.made).toBeGreaterThan(5);
      expect(counts).toEqual(before.counts);
    } finally {
      await second.close();
    }
  });

  it("says on a failed object's card how to retry it; a failure under other settings is pending", async () => {
    type Failed = { key: string; state: string; failure?: { code: string; retry?: string } };
    const keys = [
      "retry/too-big.jpg",
      "retry/not-an-image.jpg",
      "retry/old.jpg",
      "retry/moved.jpg",
    ];
    await put(local.s3, "source", "retry/too-big.jpg", Buffer.alloc(100_001, 1));
    for (const key of keys.slice(1)) await put(local.s3, "source", key, Buffer.from("not a photo"));
    await local.service.idle();
    const tags = async (key: string) =>
      (await local.s3.send(new GetObjectTaggingCommand({ Bucket: "source", Key: key }))).TagSet ??
      [];
    // Written by an older version: no settings tag. Failed under other settings: another one.
    const old = (await tags("retry/old.jpg")).filter((t) => t.Key !== "thumbnailer-error-settings");
    const moved = (await tags("retry/moved.jpg")).map((t) =>
      t.Key === "thumbnailer-error-settings" ? { ...t, Value: "0123456789abcdef" } : t,
    );
    for (const [key, TagSet] of [
      ["retry/old.jpg", old],
      ["retry/moved.jpg", moved],
    ] as const) {
      await local.s3.send(
        new PutObjectTaggingCommand({ Bucket: "source", Key: key, Tagging: { TagSet } }),
      );
    }

    const list = async (state: string) =>
      (
        JSON.parse(
          (await rawRequest(`${origin}/api/objects?limit=100&state=${state}`)).body.toString(),
        ) as { objects: Failed[] }
      ).objects;
    const listed = [...(await list("failed")), ...(await list("pending"))];
    const card = (key: string) => listed.find((c) => c.key === key);

    expect(old).toHaveLength(2);
    expect(card("retry/too-big.jpg")?.failure).toMatchObject({
      code: "INPUT_TOO_LARGE",
      retry: expect.stringMatching(/restart serve with a higher --max-input-bytes/),
    });
    expect(card("retry/not-an-image.jpg")?.failure).toMatchObject({
      code: "UNSUPPORTED_FORMAT",
      retry: expect.stringMatching(/^Upload a fixed file under this key/),
    });
    expect(card("retry/old.jpg")?.failure?.retry).toMatch(
      /no settings .* thumbnailer backfill --direct --force/,
    );
    expect(card("retry/moved.jpg")?.state).toBe("pending");
  });
});

describe("gallery server's live state (integration: real service, S3 made unreachable)", () => {
  let local: TestGallery;
  let proxy: TcpProxy;
  let origin: string;

  beforeAll(async () => {
    // The handler reaches S3 through a proxy the test can cut; the gallery talks to S3 directly.
    let s3rverPort = 0;
    proxy = await startTcpProxy(() => ({ host: "127.0.0.1", port: s3rverPort }));
    local = await startTestGallery({
      handlerEndpoint: `http://127.0.0.1:${proxy.port}`,
      // Retries keep the event in the service for minutes while S3 is unreachable.
      retryDelaysMs: Array.from({ length: 100 }, () => 1000),
    });
    s3rverPort = local.service.port;
    origin = `http://127.0.0.1:${local.gallery.port}`;
  });

  afterAll(async () => {
    await local.close();
    await proxy.close();
  });

  it("streams the object as pending while the pipeline works on it, then made", async () => {
    const states: string[] = [];
    const events = http.get(`${origin}/api/events`, (response) => {
      expect(response.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
      let buffer = "";
      response.on("data", (chunk: Buffer) => {
        buffer += chunk.toString();
        for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^data: (.*)$/m.exec(message)?.[1];
          if (message.startsWith("event: object") && data !== undefined) {
            const { card } = JSON.parse(data) as { card: { key: string; state: string } };
            if (card.key === "slow.jpg") states.push(card.state);
          }
        }
      });
    });
    let paused = false;
    try {
      await proxy.pause();
      paused = true;
      const [image] = await goodImages();

      const response = await rawRequest(`${origin}/api/objects?key=slow.jpg`, {
        method: "PUT",
        headers: { Origin: origin, "Content-Type": "image/jpeg" },
        body: image?.data ?? Buffer.alloc(0),
      });

      expect(response.status).toBe(201);
      await waitFor("the pending state", async () =>
        states.includes("pending") ? true : undefined,
      );
      const listed = JSON.parse((await rawRequest(`${origin}/api/objects`)).body.toString());
      expect(listed.objects).toContainEqual(
        expect.objectContaining({ key: "slow.jpg", state: "pending", thumbnails: [] }),
      );
      await proxy.resume();
      paused = false;
      await waitFor("the made state", async () => (states.includes("made") ? true : undefined));
      expect(states.at(-1)).toBe("made");
      expect(states.indexOf("pending")).toBeLessThan(states.indexOf("made"));
    } finally {
      events.destroy();
      if (paused) await proxy.resume();
    }
  });
});
