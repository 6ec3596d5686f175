/**
 * A product page's renditions, the example of issue 12's "done when" and docs/local.md: a
 * list-view JPEG, a subject-keeping WebP square and an animated WebP preview. Written as a
 * user writes it (the RENDITIONS / --renditions JSON), so `JSON.stringify` gives the setting.
 * The benchmark measures 3 renditions against 1 with it; the tests make it.
 */
export const PRODUCT_RENDITIONS = [
  { name: "small", width: 256, height: 256, fit: "inside", format: "jpeg" },
  { name: "square", width: 200, height: 200, fit: "cover", position: "attention", format: "webp" },
  { name: "anim", width: 128, height: 128, fit: "inside", format: "webp", animated: true },
] as const;
