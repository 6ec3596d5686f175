/**
 * @jest-environment jsdom
 *
 * The gallery page's script (cli/serve/gallery/assets/gallery.js) in a DOM without a browser
 * (jsdom, through jest-environment-jsdom), fed a listing and live changes by a fake gallery
 * server: what the page makes of the data it is given. gallery-browser.system.test.ts runs the
 * same page in Chromium against the real service.
 */

import { readFileSync } from "node:fs";
import path from "node:path";

const ASSETS = path.join(__dirname, "..", "cli", "serve", "gallery", "assets");
const XSS_KEY = "<img src=x onerror=alert(1)>.jpg";
const XSS_REASON = '<img src=y onerror="alert(2)"> is <b>not</b> an image';

interface Thumbnail {
  rendition: string;
  bucket: string;
  key: string;
  bytes: number;
  format: string;
}

interface Card {
  key: string;
  bytes: number;
  lastModified: string;
  eTag: string;
  state: "made" | "failed" | "pending";
  failure?: { code: string; reason: string; retry?: string };
  thumbnails: Thumbnail[];
}

function made(key: string, minute: number, formats: string[] = ["jpeg"]): Card {
  return {
    key,
    bytes: 2048,
    lastModified: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(),
    eTag: `etag-${minute}`,
    state: "made",
    thumbnails: formats.map((format, index) => ({
      rendition: `r${index}`,
      bucket: "thumbnails",
      key: `${key}.r${index}`,
      bytes: 1000 - index,
      format,
    })),
  };
}

function failed(key: string, minute: number, reason: string, retry?: string): Card {
  return {
    ...made(key, minute, []),
    state: "failed",
    failure: { code: "UNSUPPORTED_FORMAT", reason, ...(retry === undefined ? {} : { retry }) },
  };
}

/** The page's EventSource: the test sends the changes the server would stream. */
class FakeEventSource {
  static last: FakeEventSource | undefined;
  private readonly listeners = new Map<string, ((event: { data: string }) => void)[]>();

  constructor(readonly url: string) {
    FakeEventSource.last = this;
  }

  addEventListener(type: string, listener: (event: { data: string }) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  send(type: string, data: unknown): void {
    for (const listener of this.listeners.get(type) ?? []) listener({ data: JSON.stringify(data) });
  }
}

/** The parts of the DOM the tests use (this project compiles without the DOM lib). */
interface Element {
  readonly tagName: string;
  readonly textContent: string | null;
  readonly children: { readonly length: number };
  getAttribute(name: string): string | null;
  querySelector(selector: string): Element | null;
  querySelectorAll(selector: string): ArrayLike<Element> & Iterable<Element>;
  click(): void;
  dispatchEvent(event: unknown): boolean;
}

interface Document {
  readonly documentElement: { innerHTML: string };
  getElementById(
    id: string,
  ): (Element & { showModal(): void; setAttribute(name: string, value: string): void }) | null;
  querySelectorAll(selector: string): ArrayLike<Element> & Iterable<Element>;
}

interface OpenPage {
  readonly document: Document;
  readonly events: FakeEventSource;
  /** The URLs the page fetched. */
  readonly requests: string[];
}

/**
 * index.html with gallery.js run in it; /api/config and /api/objects answered from `listing`.
 * Resolves once the first page is shown.
 */
async function openPage(listing: {
  objects: Card[];
  total?: number;
  counts?: Record<string, number>;
}): Promise<OpenPage> {
  const { document, window } = globalThis as unknown as { document: Document; window: object };
  document.documentElement.innerHTML = readFileSync(path.join(ASSETS, "index.html"), "utf8");
  // jsdom has no modal dialogs: the viewer opens as an open dialog.
  const viewer = document.getElementById("viewer");
  if (viewer !== null) viewer.showModal = () => viewer.setAttribute("open", "");
  const requests: string[] = [];
  const fetch = async (url: string) => {
    requests.push(url);
    const state = new URL(url, "http://x/").searchParams.get("state");
    const tally = (wanted: string) =>
      listing.objects.filter((card) => card.state === wanted).length;
    const body = url.startsWith("/api/config")
      ? { sourceBucket: "source", sourcePrefix: "", maxInputBytes: 1_000_000 }
      : {
          objects: listing.objects.filter((card) => state === null || card.state === state),
          total: listing.total ?? listing.objects.length,
          counts: listing.counts ?? {
            made: tally("made"),
            failed: tally("failed"),
            pending: tally("pending"),
            unchecked: 0,
          },
          next: null,
        };
    return { ok: true, status: 200, json: async () => JSON.parse(JSON.stringify(body)) };
  };
  class NoIntersectionObserver {
    observe(): void {}
  }
  const script = readFileSync(path.join(ASSETS, "gallery.js"), "utf8");
  new Function("window", "document", "fetch", "EventSource", "IntersectionObserver", script)(
    window,
    document,
    fetch,
    FakeEventSource,
    NoIntersectionObserver,
  );
  await until(() => document.getElementById("summary")?.textContent?.includes("object(s)"));
  const events = FakeEventSource.last;
  if (events === undefined) throw new Error("the page opened no event stream");
  return { document, events, requests };
}

/** Lets the page's promises run until `condition` holds (or fails after 200 turns). */
async function until(condition: () => boolean | undefined): Promise<void> {
  for (let turn = 0; turn < 200; turn += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  throw new Error(`never true: ${condition}`);
}

describe("gallery page script (jsdom, fake server)", () => {
  let page: OpenPage | undefined;

  afterEach(() => {
    page = undefined;
  });

  const cardOf = (key: string) =>
    [...(page?.document.querySelectorAll(".card") ?? [])].find(
      (node) => node.getAttribute("data-key") === key,
    );
  /** Tag names of every element inside the list of objects, in document order. */
  const tagsInList = () =>
    [...(page?.document.querySelectorAll("#objects *") ?? [])].map((node) => node.tagName);

  it("shows a key made of HTML as text, in the card and the viewer, and builds nothing from it", async () => {
    page = await openPage({ objects: [made(XSS_KEY, 1)] });

    const card = cardOf(XSS_KEY);
    const key = card?.querySelector(".key");
    expect(key?.textContent).toBe(XSS_KEY);
    expect(key?.children.length).toBe(0);
    // The template's elements and one thumbnail's: nothing else.
    expect(tagsInList()).toEqual([
      "LI",
      "H3",
      "P",
      "P",
      "UL",
      "LI",
      "BUTTON",
      "IMG",
      "P",
      "BUTTON",
    ]);
    expect(page.document.querySelectorAll('img[src="x"]').length).toBe(0);
    expect(card?.querySelector(".thumbnails img")?.getAttribute("alt")).toBe(`r0 of ${XSS_KEY}`);
    expect(card?.querySelector(".delete")?.getAttribute("aria-label")).toBe(`Delete ${XSS_KEY}`);

    card?.querySelector(".thumbnails button")?.click();

    const title = page.document.getElementById("viewer-title");
    expect(title?.textContent).toBe(XSS_KEY);
    expect(title?.children.length).toBe(0);
    expect(page.document.querySelectorAll('img[src="x"]').length).toBe(0);
  });

  it("shows a failure reason made of HTML as text", async () => {
    page = await openPage({ objects: [failed("<b>bold</b>.jpg", 1, XSS_REASON)] });

    const card = cardOf("<b>bold</b>.jpg");
    expect(card?.querySelector(".key")?.textContent).toBe("<b>bold</b>.jpg");
    expect(card?.querySelector(".state")?.textContent).toBe(
      `failed: UNSUPPORTED_FORMAT — ${XSS_REASON}`,
    );
    expect(tagsInList()).toEqual(["LI", "H3", "P", "P", "UL", "BUTTON"]);
    expect(page.document.querySelectorAll("b, img").length).toBe(2); // the viewer's two images
  });

  it("says under a failure how to retry it, as text", async () => {
    const retry = "Upload a fixed file under this key <b>now</b>.";
    page = await openPage({ objects: [failed("bad.jpg", 1, "not an image", retry)] });

    const card = cardOf("bad.jpg");
    expect(card?.querySelector(".state")?.textContent).toBe(
      "failed: UNSUPPORTED_FORMAT — not an image",
    );
    expect(card?.querySelector(".retry")?.textContent).toBe(retry);
    expect(page.document.querySelectorAll("#objects b").length).toBe(0);
  });

  it("shows a key and a reason that arrive live as text", async () => {
    page = await openPage({ objects: [made("first.jpg", 1)] });

    const counts = { made: 2, failed: 1, pending: 0, unchecked: 0 };
    page.events.send("object", { card: made(XSS_KEY, 2), total: 3, counts });
    page.events.send("object", { card: failed("<i>x</i>.png", 3, XSS_REASON), total: 3, counts });

    expect(
      [...page.document.querySelectorAll(".card .key")].map((node) => node.textContent),
    ).toEqual(["<i>x</i>.png", XSS_KEY, "first.jpg"]);
    expect(cardOf("<i>x</i>.png")?.querySelector(".state")?.textContent).toBe(
      `failed: UNSUPPORTED_FORMAT — ${XSS_REASON}`,
    );
    expect(
      page.document.querySelectorAll('#objects img[src="x"], #objects b, #objects i').length,
    ).toBe(0);
    expect(page.document.querySelectorAll("#objects img").length).toBe(2);
  });

  it("shows the name of a file chosen for upload made of HTML as text", async () => {
    page = await openPage({ objects: [] });
    const picker = page.document.getElementById("picker");
    const files = [
      { name: XSS_KEY, size: 2_000_000, type: "image/jpeg" },
      { name: "<b>small</b>.jpg", size: 10, type: "image/jpeg" },
    ];
    Object.defineProperty(picker, "files", { value: files });
    const { Event } = globalThis as unknown as { Event: new (type: string) => unknown };

    picker?.dispatchEvent(new Event("change"));
    await until(() => page?.requests.some((url) => url.includes("small")));

    const notes = [...page.document.querySelectorAll("#uploads li")];
    await until(() => notes.every((note) => !note.textContent?.includes("uploading")));
    expect(notes.map((note) => note.textContent)).toEqual([
      "<b>small</b>.jpg: uploaded",
      `${XSS_KEY}: refused: 1.9 MB is over the input limit of 976.6 KB (MAX_INPUT_BYTES); not uploaded`,
    ]);
    expect(notes.map((note) => note.children.length)).toEqual([0, 0]);
  });

  it("opens the largest rendition the browser shows: on an image error, the next largest", async () => {
    page = await openPage({ objects: [made("photo.jpg", 1, ["avif", "webp", "jpeg"])] });
    const image = page.document.getElementById("viewer-thumbnail");
    const caption = page.document.getElementById("viewer-thumbnail-caption");
    const { Event } = globalThis as unknown as { Event: new (type: string) => unknown };
    const shown = () =>
      new URL(String(image?.getAttribute("src")), "http://x/").searchParams.get("key");

    cardOf("photo.jpg")?.querySelector(".thumbnails button")?.click();
    const first = shown();
    image?.dispatchEvent(new Event("error"));
    const second = shown();
    image?.dispatchEvent(new Event("error"));
    const third = [shown(), caption?.textContent];
    image?.dispatchEvent(new Event("error"));

    expect([first, second, third]).toEqual([
      "photo.jpg.r0",
      "photo.jpg.r1",
      ["photo.jpg.r2", "r2 · 998 B · jpeg"],
    ]);
    expect(shown()).toBe("photo.jpg.r2");
    expect(caption?.textContent).toBe("r2 · 998 B · jpeg · not shown by this browser");
    expect(page.document.getElementById("viewer-title")?.textContent).toBe("photo.jpg");
  });

  it("counts the whole bucket in the summary, not the loaded page", async () => {
    page = await openPage({
      objects: [made("a.jpg", 2), failed("b.jpg", 1, "bad")],
      total: 48,
      counts: { made: 40, failed: 6, pending: 2, unchecked: 0 },
    });
    const summary = () => page?.document.getElementById("summary")?.textContent;

    const loaded = summary();
    page.events.send("object", {
      card: made("c.jpg", 3),
      total: 49,
      counts: { made: 40, failed: 6, pending: 2, unchecked: 1 },
    });

    expect(loaded).toBe(
      "48 object(s) in the source bucket: 40 made, 6 failed, 2 pending; showing 2",
    );
    expect(summary()).toBe(
      "49 object(s) in the source bucket: 40 made, 6 failed, 2 pending, 1 not checked yet; showing 3",
    );
  });

  it("shows only failed objects when asked, from the server and as they change live", async () => {
    page = await openPage({
      objects: [made("a.jpg", 4), failed("b.jpg", 3, "bad"), failed("c.jpg", 2, "bad")],
    });
    const filter = page.document.getElementById("filter") as unknown as Element & { value: string };
    const { Event } = globalThis as unknown as { Event: new (type: string) => unknown };
    const shown = () =>
      [...(page?.document.querySelectorAll(".card .key") ?? [])].map((node) => node.textContent);

    filter.value = "failed";
    filter.dispatchEvent(new Event("change"));
    await until(() => page?.requests.some((url) => url.includes("state=failed")));
    await until(() => shown().length === 2);
    const filtered = shown();
    page.events.send("object", { card: made("d.jpg", 5), total: 4, counts: {} });
    page.events.send("object", { card: made("b.jpg", 3), total: 4, counts: {} });

    expect(filtered).toEqual(["b.jpg", "c.jpg"]);
    expect(shown()).toEqual(["c.jpg"]);
    expect(page.document.getElementById("summary")?.textContent).toMatch(/; showing 1 failed$/);
  });
});
