/**
 * The gallery page in a real browser, integration: headless Chromium (Debian's) driven by
 * playwright-core, against the real local service (s3rver, handler, engine) and gallery server.
 * Uploads go through the page's file input, so the thumbnails come from the real event path.
 */

import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Page } from "playwright-core";
import { awsCli } from "./support/aws-cli";
import { launchChromium, type TestBrowser } from "./support/browser";
import { PROJECT_DIR } from "./support/build-dist";
import { startTestGallery, type TestGallery } from "./support/gallery";
import { goodImages } from "./support/local-fixtures";
import { exists, put, waitFor } from "./support/local-s3";

/** Test artefacts (gitignored): look at them after a run. */
const ARTEFACTS = path.join(PROJECT_DIR, "test-artefacts");
const XSS_KEY = "<img src=x onerror=alert(1)>.jpg";
const LIMIT = 300_000;

/** The parts of an HTMLImageElement the tests read (this project compiles without the DOM lib). */
interface ImageFacts {
  readonly complete: boolean;
  readonly naturalWidth: number;
  readonly naturalHeight: number;
}

describe("gallery page (integration: real Chromium, real service)", () => {
  let local: TestGallery;
  let browser: TestBrowser;
  let page: Page;
  /** Every dialog the page opened (confirm for delete; an alert would be injected script). */
  const dialogs: { type: string; message: string }[] = [];
  const consoleErrors: string[] = [];
  let photos: { name: string; mimeType: string; buffer: Buffer }[];

  beforeAll(async () => {
    local = await startTestGallery({ handlerEnv: { MAX_INPUT_BYTES: String(LIMIT) } });
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on("dialog", (dialog) => {
      dialogs.push({ type: dialog.type(), message: dialog.message() });
      void (dialog.type() === "confirm" ? dialog.accept() : dialog.dismiss());
    });
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    const [landscape, portrait] = await goodImages();
    photos = [
      { name: "landscape.jpg", mimeType: "image/jpeg", buffer: landscape?.data ?? Buffer.alloc(0) },
      { name: "portrait.png", mimeType: "image/png", buffer: portrait?.data ?? Buffer.alloc(0) },
    ];
    await page.goto(local.gallery.url);
    await page.locator("#summary").filter({ hasText: "object(s)" }).waitFor();
    // Gone if the page ever reloads.
    await page.evaluate("window.loadedOnce = true");
  });

  afterAll(async () => {
    await browser?.close();
    await local?.close();
  });

  const card = (key: string) =>
    page.locator(".card").filter({ has: page.getByRole("heading", { name: key, exact: true }) });
  const notReloaded = () => page.evaluate("window.loadedOnce === true");

  /** The name of the (largest) rendition, as the service labels it. */
  const renditionName = async (): Promise<string> => {
    const response = await fetch(`${local.gallery.url}api/objects?limit=100`);
    const { objects } = (await response.json()) as {
      objects: { thumbnails: { rendition: string }[] }[];
    };
    const name = objects.flatMap((object) => object.thumbnails)[0]?.rendition;
    expect(name).toMatch(/^[a-z0-9-]+$/);
    return name ?? "";
  };

  /** Waits until the card's thumbnail image has been decoded by the browser. */
  const shownThumbnail = async (key: string) => {
    const image = card(key).locator(".thumbnails img");
    await image.waitFor();
    await page.waitForFunction(
      (element: ImageFacts) => element.complete && element.naturalWidth > 0,
      await image.elementHandle(),
    );
    return image;
  };

  it("shows two photos' thumbnails and a bad file's code and reason, without a reload", async () => {
    await page
      .locator("#picker")
      .setInputFiles([
        ...photos,
        { name: "notes.jpg", mimeType: "image/jpeg", buffer: Buffer.from("not a photo\n") },
      ]);

    const landscape = await shownThumbnail("landscape.jpg");
    const portrait = await shownThumbnail("portrait.png");
    expect(
      await landscape.evaluate((img: ImageFacts) => [img.naturalWidth, img.naturalHeight]),
    ).toEqual([256, 192]);
    expect(
      await portrait.evaluate((img: ImageFacts) => [img.naturalWidth, img.naturalHeight]),
    ).toEqual([128, 256]);
    await expect(card("landscape.jpg").locator(".state").textContent()).resolves.toBe("made");
    await expect(card("landscape.jpg").locator(".caption").textContent()).resolves.toMatch(
      new RegExp(`^${await renditionName()} · [\\d.]+ (B|KB) · jpeg$`),
    );
    const failed = card("notes.jpg").locator(".state");
    await failed.filter({ hasText: "failed" }).waitFor();
    expect(await failed.textContent()).toMatch(
      /^failed: UNSUPPORTED_FORMAT — Input is not a supported image/,
    );
    expect(await notReloaded()).toBe(true);
  });

  it("refuses a file over MAX_INPUT_BYTES in the page, with the reason, before uploading", async () => {
    const puts: string[] = [];
    page.on("request", (request) => {
      if (request.method() === "PUT") puts.push(request.url());
    });

    await page
      .locator("#picker")
      .setInputFiles([
        { name: "huge.jpg", mimeType: "image/jpeg", buffer: Buffer.alloc(LIMIT + 1) },
      ]);

    const refusal = page.locator("#uploads li").filter({ hasText: "huge.jpg" });
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain("over the input limit");
    expect(await refusal.textContent()).toContain("MAX_INPUT_BYTES");
    expect(puts).toEqual([]);
    expect(await exists(local.s3, "source", "huge.jpg")).toBe(false);
  });

  it("shows the largest rendition and the source side by side when a thumbnail is clicked", async () => {
    await (await shownThumbnail("landscape.jpg")).click();

    const viewer = page.locator("#viewer");
    await viewer.waitFor({ state: "visible" });
    const images = page.locator("#viewer img");
    for (const image of await images.elementHandles()) {
      await page.waitForFunction((img: ImageFacts) => img.complete && img.naturalWidth > 0, image);
    }
    const sizes = await images.evaluateAll((all: ImageFacts[]) =>
      all.map((img) => [img.naturalWidth, img.naturalHeight]),
    );
    expect(sizes).toEqual([
      [256, 192],
      [640, 480],
    ]);
    await page.getByRole("button", { name: "Close" }).click();
    await viewer.waitFor({ state: "hidden" });
  });

  it("deletes an object from the page: its card goes away and its thumbnail is removed", async () => {
    await card("portrait.png").getByRole("button", { name: "Delete portrait.png" }).click();

    await card("portrait.png").waitFor({ state: "detached" });
    expect(dialogs).toContainEqual({
      type: "confirm",
      message: "Delete portrait.png and its thumbnails?",
    });
    await waitFor("the thumbnail's removal", async () =>
      (await exists(local.s3, "thumbnails", "portrait.png")) ? undefined : true,
    );
    expect(await exists(local.s3, "source", "portrait.png")).toBe(false);
    expect(await notReloaded()).toBe(true);
  });

  it("shows an object uploaded with the AWS CLI, live", async () => {
    const file = path.join(local.dataDir, "cli.jpg");
    await writeFile(file, photos[0]?.buffer ?? "");

    await awsCli(local.service.endpoint, ["s3", "cp", file, "s3://source/from the cli.jpg"]);

    await shownThumbnail("from the cli.jpg");
    expect(await notReloaded()).toBe(true);
  });

  it("shows a key made of HTML as text and runs nothing", async () => {
    await page
      .locator("#picker")
      .setInputFiles([
        { name: XSS_KEY, mimeType: "image/jpeg", buffer: photos[0]?.buffer ?? Buffer.alloc(0) },
      ]);

    await shownThumbnail(XSS_KEY);
    expect(await card(XSS_KEY).locator(".key").textContent()).toBe(XSS_KEY);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(dialogs.filter((dialog) => dialog.type === "alert")).toEqual([]);
    const alt = await card(XSS_KEY).locator(".thumbnails img").getAttribute("alt");
    expect(alt).toBe(`${await renditionName()} of ${XSS_KEY}`);
  });

  it("uploads photos dropped on the page", async () => {
    const bytes = JSON.stringify([...(photos[0]?.buffer ?? [])]);
    // A drop as the browser delivers it: a DataTransfer holding a File (built in the page).
    const dataTransfer = await page.evaluateHandle(`(() => {
      const transfer = new DataTransfer();
      const file = new File([new Uint8Array(${bytes})], "dropped.jpg", { type: "image/jpeg" });
      transfer.items.add(file);
      return transfer;
    })()`);

    await page.dispatchEvent("#objects", "dragover", { dataTransfer });
    await page.dispatchEvent("#objects", "drop", { dataTransfer });

    await shownThumbnail("dropped.jpg");
  });

  it("uploads with the keyboard only", async () => {
    await page.locator("body").click({ position: { x: 1, y: 1 } });
    let focused = "";
    for (let presses = 0; presses < 20 && focused !== "picker"; presses += 1) {
      await page.keyboard.press("Tab");
      focused = String(await page.evaluate("document.activeElement?.id ?? ''"));
    }
    expect(focused).toBe("picker");
    const [chooser] = await Promise.all([
      page.waitForEvent("filechooser"),
      page.keyboard.press("Space"),
    ]);

    expect(chooser.isMultiple()).toBe(true);
    await chooser.setFiles([{ ...photos[1], name: "keyboard.png" } as (typeof photos)[number]]);

    await shownThumbnail("keyboard.png");
  });

  it("gives every image a text alternative, and breaks no policy", async () => {
    const alts = await page
      .locator("#objects img")
      .evaluateAll((images) => images.map((image) => image.getAttribute("alt") ?? ""));

    expect(alts.length).toBeGreaterThanOrEqual(4);
    expect(alts.filter((alt) => alt.trim() === "")).toEqual([]);
    expect(consoleErrors.filter((text) => /Content Security Policy|Refused/i.test(text))).toEqual(
      [],
    );
  });

  it("keeps the cards in the service's order, newest first, as they arrive live", async () => {
    const response = await fetch(`${local.gallery.url}api/objects?limit=100`);
    const listed = ((await response.json()) as { objects: { key: string }[] }).objects;

    const shown = await page.locator(".card .key").allTextContents();

    expect(shown).toEqual(listed.map((object) => object.key));
    expect(shown.length).toBeGreaterThanOrEqual(5);
  });

  it("counts the whole bucket and shows only the failed objects when asked", async () => {
    const response = await fetch(`${local.gallery.url}api/objects?limit=100`);
    const { objects } = (await response.json()) as { objects: { key: string; state: string }[] };
    const failedKeys = objects.filter((o) => o.state === "failed").map((o) => o.key);
    const made = objects.filter((o) => o.state === "made").length;

    await page.locator("#filter").selectOption("failed");
    await page.locator("#summary").filter({ hasText: "showing 1 failed" }).waitFor();
    const shown = await page.locator(".card .key").allTextContents();
    const summary = await page.locator("#summary").textContent();
    await page.locator("#filter").selectOption("");
    await page
      .locator("#summary")
      .filter({ hasText: `showing ${objects.length}` })
      .waitFor();

    expect(failedKeys).toEqual(["notes.jpg"]);
    expect(shown).toEqual(failedKeys);
    expect(summary).toBe(
      `${objects.length} object(s) in the source bucket: ${made} made, 1 failed, 0 pending; showing 1 failed`,
    );
    expect(await notReloaded()).toBe(true);
  });

  it("saves a screenshot of the populated page", async () => {
    await mkdir(ARTEFACTS, { recursive: true });
    const file = path.join(ARTEFACTS, "gallery.png");

    await page.screenshot({ path: file, fullPage: true });

    expect(await card("landscape.jpg").isVisible()).toBe(true);
  });
});

describe("gallery page with an AVIF rendition (integration: real Chromium, real service)", () => {
  let local: TestGallery;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    local = await startTestGallery({
      handlerEnv: {
        RENDITIONS: JSON.stringify([
          { name: "large", width: 320, height: 320, format: "avif" },
          { name: "small", width: 128, height: 128, format: "jpeg" },
        ]),
      },
    });
    browser = await launchChromium();
    page = await browser.context.newPage();
    await page.goto(local.gallery.url);
    await page.locator("#summary").filter({ hasText: "object(s)" }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await local?.close();
  });

  it("shows the AVIF rendition on the card and opens it, the largest, in the viewer", async () => {
    const [landscape] = await goodImages();
    await put(local.s3, "source", "avif.jpg", landscape?.data ?? Buffer.alloc(0));
    const images = page.locator(".card .thumbnails img");
    await images.nth(1).waitFor();

    for (const image of await images.elementHandles()) {
      await page.waitForFunction((img: ImageFacts) => img.complete && img.naturalWidth > 0, image);
    }
    await images.first().click();
    const viewed = page.locator("#viewer-thumbnail");
    await page.waitForFunction(
      (img: ImageFacts) => img.complete && img.naturalWidth > 0,
      await viewed.elementHandle(),
    );

    expect(await page.locator(".card .caption").allTextContents()).toEqual([
      expect.stringMatching(/^large · .* · avif$/),
      expect.stringMatching(/^small · .* · jpeg$/),
    ]);
    expect(
      await viewed.evaluate((img: ImageFacts) => [img.naturalWidth, img.naturalHeight]),
    ).toEqual([320, 240]);
    expect(await page.locator("#viewer-thumbnail-caption").textContent()).toMatch(
      /^large · .* · avif$/,
    );
  });
});
