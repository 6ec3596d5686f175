/** A product page's renditions (issue 12, docs/local.md) as a user writes the RENDITIONS JSON:
 * the bench measures 3 renditions against 1 with it; the tests make it. */
export const PRODUCT_RENDITIONS = [
  { name: "small", width: 256, height: 256, fit: "inside", format: "jpeg" },
  { name: "square", width: 200, height: 200, fit: "cover", position: "attention", format: "webp" },
  { name: "anim", width: 128, height: 128, fit: "inside", format: "webp", animated: true },
] as const;
