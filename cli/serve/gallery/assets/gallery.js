// The gallery page: plain JavaScript, no build step, no library. Every text that comes from
// data (keys, reasons) is set with textContent, never parsed as HTML.

const PAGE_SIZE = 48;

const $ = (id) => document.getElementById(id);
const list = $("objects");
const more = $("more");
const summary = $("summary");
const uploads = $("uploads");
const viewer = $("viewer");
const filter = $("filter");

/** Cards on the page by key, and where the next page starts (null: everything is loaded). */
const cards = new Map();
let next = null;
let total = 0;
/** The whole bucket's objects per state, from the server. */
let counts = { made: 0, failed: 0, pending: 0, unchecked: 0 };
let settings = { sourcePrefix: "", maxInputBytes: Number.POSITIVE_INFINITY };

function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function fileUrl(bucket, key, version) {
  const query = new URLSearchParams({ bucket, key, v: version });
  return `/api/file?${query}`;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Newest first, then by key: the order of the service's listing. */
function comesBefore(a, b) {
  const ta = Date.parse(a.lastModified);
  const tb = Date.parse(b.lastModified);
  return ta !== tb ? ta > tb : a.key < b.key;
}

function render(card) {
  const node = $("card").content.firstElementChild.cloneNode(true);
  node.dataset.state = card.state;
  node.dataset.key = card.key;
  node.querySelector(".key").textContent = card.key;
  node.querySelector(".facts").textContent =
    `${formatBytes(card.bytes)} · ${new Date(card.lastModified).toLocaleString()}`;
  const state = node.querySelector(".state");
  state.textContent =
    card.state === "failed" ? `failed: ${card.failure.code} — ${card.failure.reason}` : card.state;
  // How to retry a failure (the server says, from what the failure record names).
  if (card.state === "failed" && card.failure.retry) {
    state.after(element("p", "retry", card.failure.retry));
  }
  const thumbnails = node.querySelector(".thumbnails");
  for (const thumbnail of card.thumbnails) {
    const item = element("li");
    const open = element("button", "open");
    open.type = "button";
    open.title = "Show the largest rendition and the source";
    const image = element("img");
    image.src = fileUrl(thumbnail.bucket, thumbnail.key, card.eTag);
    image.alt = `${thumbnail.rendition} of ${card.key}`;
    image.loading = "lazy";
    open.append(image);
    open.addEventListener("click", () => showLargest(card));
    item.append(
      open,
      element(
        "p",
        "caption",
        `${thumbnail.rendition} · ${formatBytes(thumbnail.bytes)} · ${thumbnail.format}`,
      ),
    );
    thumbnails.append(item);
  }
  const remove = node.querySelector(".delete");
  remove.setAttribute("aria-label", `Delete ${card.key}`);
  remove.addEventListener("click", () => deleteObject(card.key, remove));
  return node;
}

function place(card) {
  // Not in the chosen state (any more): not shown.
  if (filter.value !== "" && card.state !== filter.value) return removeCard(card.key);
  const old = cards.get(card.key);
  if (old) {
    old.node.remove();
    cards.delete(card.key);
  }
  // The cards in page order (newest first).
  const shown = [...list.children].map((node) => cards.get(node.dataset.key));
  const last = shown.at(-1);
  // Beyond the loaded pages: the next page brings it.
  if (next !== null && last && !comesBefore(card, last.card)) return showSummary();
  const node = render(card);
  const after = shown.find((entry) => comesBefore(card, entry.card));
  list.insertBefore(node, after ? after.node : null);
  cards.set(card.key, { card, node });
  showSummary();
}

function removeCard(key) {
  const old = cards.get(key);
  if (old) {
    old.node.remove();
    cards.delete(key);
  }
  showSummary();
}

function showSummary() {
  const unchecked = counts.unchecked > 0 ? `, ${counts.unchecked} not checked yet` : "";
  summary.textContent =
    `${total} object(s) in the source bucket: ${counts.made} made, ${counts.failed} failed, ` +
    `${counts.pending} pending${unchecked}; showing ${cards.size}` +
    (filter.value === "" ? "" : ` ${filter.value}`);
  more.hidden = next === null;
}

/** The totals every listing and change carries. */
function takeTotals(message) {
  total = message.total;
  counts = message.counts;
}

async function loadPage() {
  more.disabled = true;
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (next) query.set("after", next);
  if (filter.value !== "") query.set("state", filter.value);
  const response = await fetch(`/api/objects?${query}`);
  const page = await response.json();
  for (const card of page.objects) {
    if (cards.has(card.key)) continue;
    const node = render(card);
    list.append(node);
    cards.set(card.key, { card, node });
  }
  next = page.next;
  takeTotals(page);
  more.disabled = false;
  showSummary();
}

async function reload() {
  cards.clear();
  list.replaceChildren();
  next = null;
  await loadPage();
}

/** The viewer's card and which of its renditions it shows (largest first). */
let viewing = null;

function showLargest(card) {
  if (card.thumbnails.length === 0) return;
  $("viewer-title").textContent = card.key;
  showRendition(card, 0);
  const source = $("viewer-source");
  source.src = fileUrl(settings.sourceBucket, card.key, card.eTag);
  source.alt = `the source ${card.key} (not shown if the browser cannot display its format)`;
  $("viewer-source-caption").textContent = `source · ${formatBytes(card.bytes)}`;
  viewer.showModal();
}

function showRendition(card, index) {
  const rendition = card.thumbnails[index];
  viewing = { card, index };
  const image = $("viewer-thumbnail");
  image.src = fileUrl(rendition.bucket, rendition.key, card.eTag);
  image.alt = `${rendition.rendition} of ${card.key}`;
  $("viewer-thumbnail-caption").textContent =
    `${rendition.rendition} · ${formatBytes(rendition.bytes)} · ${rendition.format}`;
}

/** The browser cannot show this rendition (its format, or it is gone): the next largest. */
function showNextRendition() {
  if (viewing === null) return;
  const { card, index } = viewing;
  if (index + 1 < card.thumbnails.length) return showRendition(card, index + 1);
  $("viewer-thumbnail-caption").textContent += " · not shown by this browser";
}

async function deleteObject(key, button) {
  if (!window.confirm(`Delete ${key} and its thumbnails?`)) return;
  button.disabled = true;
  const response = await fetch(`/api/objects?${new URLSearchParams({ key })}`, {
    method: "DELETE",
  });
  if (!response.ok) {
    button.disabled = false;
    note(key, `not deleted: ${(await response.json()).error}`, "error");
  }
}

function note(name, text, kind) {
  const item = element("li", kind, `${name}: ${text}`);
  uploads.prepend(item);
  return item;
}

async function upload(files) {
  for (const file of files) {
    if (file.size > settings.maxInputBytes) {
      note(
        file.name,
        `refused: ${formatBytes(file.size)} is over the input limit of ` +
          `${formatBytes(settings.maxInputBytes)} (MAX_INPUT_BYTES); not uploaded`,
        "error",
      );
      continue;
    }
    const item = note(file.name, "uploading…", "busy");
    const key = settings.sourcePrefix + file.name;
    try {
      const response = await fetch(`/api/objects?${new URLSearchParams({ key })}`, {
        method: "PUT",
        body: file,
        headers: { "Content-Type": file.type || "application/octet-stream" },
      });
      if (!response.ok) throw new Error((await response.json()).error);
      item.textContent = `${file.name}: uploaded`;
      item.className = "done";
    } catch (error) {
      item.textContent = `${file.name}: not uploaded: ${error.message}`;
      item.className = "error";
    }
  }
}

function listen() {
  const events = new EventSource("/api/events");
  let broken = false;
  events.addEventListener("object", (event) => {
    const change = JSON.parse(event.data);
    takeTotals(change);
    place(change.card);
  });
  events.addEventListener("removed", (event) => {
    const change = JSON.parse(event.data);
    takeTotals(change);
    removeCard(change.key);
  });
  events.addEventListener("counted", (event) => {
    takeTotals(JSON.parse(event.data));
    showSummary();
  });
  events.addEventListener("error", () => {
    broken = true;
  });
  // After a lost connection (the service restarted), changes may have been missed.
  events.addEventListener("open", () => {
    if (broken) reload();
    broken = false;
  });
}

async function start() {
  settings = await (await fetch("/api/config")).json();
  $("limit").textContent =
    `Files over ${formatBytes(settings.maxInputBytes)} (MAX_INPUT_BYTES) are refused. ` +
    `They go to s3://${settings.sourceBucket}/${settings.sourcePrefix}.`;
  $("picker").addEventListener("change", (event) => {
    upload([...event.target.files]);
    event.target.value = "";
  });
  document.addEventListener("dragover", (event) => {
    event.preventDefault();
    document.body.classList.add("dragging");
  });
  document.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    document.body.classList.remove("dragging");
    upload([...event.dataTransfer.files]);
  });
  more.addEventListener("click", loadPage);
  filter.addEventListener("change", reload);
  new IntersectionObserver((seen) => {
    if (seen.some((entry) => entry.isIntersecting) && next !== null && !more.disabled) loadPage();
  }).observe(more);
  $("viewer-thumbnail").addEventListener("error", showNextRendition);
  $("viewer-close").addEventListener("click", () => viewer.close());
  listen();
  await loadPage();
}

start();
