import sharp from "sharp";
import { configureSharp, makeRenditions, parseRenditions } from "../handler/engine";
import { pixelsOf } from "./support/images";

beforeAll(configureSharp);

interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 3;
}

const SUBJECT: [number, number, number][] = [
  [230, 40, 40],
  [250, 200, 160],
];

/** Flat grey `width` x `height` with a saturated 120x120 subject (a checkerboard of 32 px squares) centred at `x`. */
function subjectAt(x: number, width = 1600, height = 900): RawImage {
  const data = Buffer.alloc(width * height * 3, 200);
  const top = Math.round(height / 2 - 60);
  for (let y = top; y < top + 120; y++) {
    for (let i = x - 60; i < x + 60; i++) {
      data.set(SUBJECT[((i >> 5) + (y >> 5)) % 2] ?? [0, 0, 0], (y * width + i) * 3);
    }
  }
  return { data, width, height, channels: 3 };
}

async function subjectPixels(image: Buffer): Promise<number> {
  const pixels = await pixelsOf(image);
  let count = 0;
  for (let y = 0; y < pixels.height; y++) {
    for (let x = 0; x < pixels.width; x++) {
      const [r, g] = pixels.at(x, y);
      if (r > 180 && g < 90) count++;
    }
  }
  return count;
}

const jpeg = ({ data, width, height, channels }: RawImage) =>
  sharp(data, { raw: { width, height, channels } }).jpeg({ quality: 90 }).toBuffer();

describe("attention crops of renditions made from the shared copy", () => {
  it.each([
    ["left", 160],
    ["right", 1440],
  ])("keeps a subject at the %s in the square; centre cuts it out", async (_, x) => {
    const input = await jpeg(subjectAt(x));
    const list = parseRenditions(
      JSON.stringify([
        { name: "small", width: 256, height: 256 },
        { name: "square", width: 200, height: 200, fit: "cover", position: "attention" },
        { name: "centre", width: 200, height: 200, fit: "cover" },
      ]),
      "RENDITIONS",
    );

    const { outputs } = await makeRenditions(input, list);

    expect(outputs.map((o) => [o.rendition.name, o.width, o.height])).toEqual([
      ["small", 256, 144],
      ["square", 200, 200],
      ["centre", 200, 200],
    ]);
    // The subject is 120x120 of 1600x900 shrunk to 356x200 (about 27x27), half of it red.
    const [square, centre] = await Promise.all(outputs.slice(1).map((o) => subjectPixels(o.data)));
    expect(square).toBeGreaterThan(250);
    expect(centre).toBe(0);
  });
});
