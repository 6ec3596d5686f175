/**
 * Builds HEIF files structured as an iPhone writes them, from single images that Debian's
 * heif-enc (libheif 1.15) encodes: it writes neither grids nor rotations, nor a thumbnail other
 * than a scaled copy of the image. This takes the coded image (HEVC bitstream and decoder
 * configuration) out of heif-enc's files and writes a new container: a primary image, coded
 * whole or as a grid of tiles, with a colour profile, an optional rotation (irot) and mirror
 * (imir), thumbnail items of any content and an Exif item. Only what those files hold is read; the layout
 * written is ISO/IEC 23008-12 (HEIF) with ISO/IEC 14496-12 boxes.
 */

/** One coded HEVC image from a heif-enc file. */
export interface CodedImage {
  width: number;
  height: number;
  /** The hvcC box (decoder configuration), whole. */
  hvcC: Buffer;
  /** The colr box (ICC or nclx profile), whole, when the file has one. */
  colr?: Buffer;
  /** The item's data: length-prefixed NAL units. */
  data: Buffer;
}

export interface HeifLayout {
  /** The primary image: one coded image, or tiles (row by row, all the same size). */
  primary: CodedImage | { columns: number; rows: number; tiles: CodedImage[] };
  /** The primary's size when it is a grid (the tiles may overrun it: they are cropped). */
  width?: number;
  height?: number;
  /** The primary's colour profile; also given to each thumbnail, as an iPhone does. */
  colr?: Buffer;
  /** Counter-clockwise quarter turns (irot) of the primary, and of thumbnails unless stated. */
  rotation?: 0 | 1 | 2 | 3;
  /** Mirror axis (imir: 0 vertical axis, 1 horizontal) applied after the rotation. */
  mirror?: 0 | 1;
  thumbnails?: { image: CodedImage; rotation?: 0 | 1 | 2 | 3 }[];
  /** An Exif item describing the primary (cdsc), as a JPEG's APP1 holds it: "Exif\0\0" and TIFF. */
  exif?: Buffer;
}

interface Box {
  type: string;
  /** Payload, after the size and type. */
  body: Buffer;
}

function children(buffer: Buffer): Box[] {
  const boxes: Box[] = [];
  for (let at = 0; at + 8 <= buffer.length; ) {
    const size = buffer.readUInt32BE(at);
    if (size < 8) throw new Error(`unsupported box size ${size}`);
    boxes.push({
      type: buffer.toString("latin1", at + 4, at + 8),
      body: buffer.subarray(at + 8, at + size),
    });
    at += size;
  }
  return boxes;
}

function child(boxes: Box[], type: string): Box {
  const found = boxes.find((box) => box.type === type);
  if (!found) throw new Error(`no ${type} box`);
  return found;
}

const whole = (box: Box): Buffer => makeBox(box.type, box.body);

/** The primary image of a file heif-enc wrote (no thumbnail, no alpha): its coded data and properties. */
export function codedImage(heif: Buffer): CodedImage {
  const file = children(heif);
  // meta is a full box: 4 bytes of version and flags before its children.
  const meta = children(child(file, "meta").body.subarray(4));
  const id = child(meta, "pitm").body.readUInt16BE(4);
  const iprp = children(child(meta, "iprp").body);
  const properties = children(child(iprp, "ipco").body);
  const associated = associations(child(iprp, "ipma").body).get(id) ?? [];
  const mine = associated.map((index) => properties[index - 1]).filter((box) => box !== undefined);
  const ispe = child(mine, "ispe").body;
  const colr = mine.find((box) => box.type === "colr");
  return {
    width: ispe.readUInt32BE(4),
    height: ispe.readUInt32BE(8),
    hvcC: whole(child(mine, "hvcC")),
    ...(colr && { colr: whole(colr) }),
    data: itemData(heif, child(meta, "iloc").body, id),
  };
}

/** ipma: each item's property indices (1-based). */
function associations(ipma: Buffer): Map<number, number[]> {
  const version = ipma.readUInt8(0);
  const wide = (ipma.readUInt32BE(0) & 1) === 1;
  const map = new Map<number, number[]>();
  let at = 8;
  for (let entry = ipma.readUInt32BE(4); entry > 0; entry--) {
    const item = version < 1 ? ipma.readUInt16BE(at) : ipma.readUInt32BE(at);
    at += version < 1 ? 2 : 4;
    const count = ipma.readUInt8(at++);
    const indices: number[] = [];
    for (let i = 0; i < count; i++) {
      indices.push(wide ? ipma.readUInt16BE(at) & 0x7fff : ipma.readUInt8(at) & 0x7f);
      at += wide ? 2 : 1;
    }
    map.set(item, indices);
  }
  return map;
}

/** iloc: the bytes of one item stored in the file (construction method 0). */
function itemData(file: Buffer, iloc: Buffer, id: number): Buffer {
  const version = iloc.readUInt8(0);
  const read = (at: number, size: number) =>
    size === 0 ? 0 : size === 4 ? iloc.readUInt32BE(at) : Number(iloc.readBigUInt64BE(at));
  const offsetSize = iloc.readUInt8(4) >> 4;
  const lengthSize = iloc.readUInt8(4) & 15;
  const baseSize = iloc.readUInt8(5) >> 4;
  const indexSize = version > 0 ? iloc.readUInt8(5) & 15 : 0;
  let at = 6;
  const count = version < 2 ? iloc.readUInt16BE(at) : iloc.readUInt32BE(at);
  at += version < 2 ? 2 : 4;
  for (let item = 0; item < count; item++) {
    const itemId = version < 2 ? iloc.readUInt16BE(at) : iloc.readUInt32BE(at);
    at += version < 2 ? 2 : 4;
    if (version > 0) at += 2; // construction method
    at += 2; // data reference index
    const base = read(at, baseSize);
    at += baseSize;
    const extents: Buffer[] = [];
    for (let extent = iloc.readUInt16BE(at), next = at + 2; extent > 0; extent--) {
      next += indexSize;
      const offset = read(next, offsetSize);
      const length = read(next + offsetSize, lengthSize);
      next += offsetSize + lengthSize;
      extents.push(file.subarray(base + offset, base + offset + length));
      at = next;
    }
    if (itemId === id) return Buffer.concat(extents);
  }
  throw new Error(`no iloc entry for item ${id}`);
}

export function makeBox(type: string, ...body: Buffer[]): Buffer {
  const size = Buffer.alloc(4);
  size.writeUInt32BE(8 + body.reduce((sum, part) => sum + part.length, 0));
  return Buffer.concat([size, Buffer.from(type, "latin1"), ...body]);
}

function fullBox(type: string, version: number, flags: number, ...body: Buffer[]): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE((version << 24) | flags);
  return makeBox(type, head, ...body);
}

function u16(...values: number[]): Buffer {
  const buffer = Buffer.alloc(2 * values.length);
  for (const [i, value] of values.entries()) buffer.writeUInt16BE(value, 2 * i);
  return buffer;
}

function u32(...values: number[]): Buffer {
  const buffer = Buffer.alloc(4 * values.length);
  for (const [i, value] of values.entries()) buffer.writeUInt32BE(value, 4 * i);
  return buffer;
}

const ispe = (width: number, height: number) => fullBox("ispe", 0, 0, u32(width, height));
const irot = (turns: number) => makeBox("irot", Buffer.from([turns]));
const imir = (axis: number) => makeBox("imir", Buffer.from([axis]));

interface Item {
  type: string;
  hidden: boolean;
  /** Whole property boxes, each marked essential or not. */
  properties: { box: Buffer; essential: boolean }[];
  data: Buffer;
}

/** Writes a HEIF file (brand heic) of `layout`. */
export function heifFile(layout: HeifLayout): Buffer {
  const items: Item[] = [];
  const references: Buffer[] = [];
  const transforms = (rotation = 0) => [
    ...(rotation ? [{ box: irot(rotation), essential: true }] : []),
    ...(layout.mirror !== undefined ? [{ box: imir(layout.mirror), essential: true }] : []),
  ];
  const colr = layout.colr ? [{ box: layout.colr, essential: false }] : [];
  const coded = (image: CodedImage, hidden: boolean, more: Item["properties"]): Item => ({
    type: "hvc1",
    hidden,
    properties: [
      { box: image.hvcC, essential: true },
      { box: ispe(image.width, image.height), essential: false },
      ...more,
    ],
    data: image.data,
  });
  const { primary } = layout;
  if ("tiles" in primary) {
    const width = layout.width ?? 0;
    const height = layout.height ?? 0;
    // ImageGrid: version 0, flags 0 (16-bit sizes), rows - 1, columns - 1, output size.
    const grid = Buffer.concat([
      Buffer.from([0, 0, primary.rows - 1, primary.columns - 1]),
      u16(width, height),
    ]);
    items.push({
      type: "grid",
      hidden: false,
      properties: [
        { box: ispe(width, height), essential: false },
        ...colr,
        ...transforms(layout.rotation),
      ],
      data: grid,
    });
    for (const tile of primary.tiles) items.push(coded(tile, true, []));
    const tileIds = primary.tiles.map((_, i) => i + 2);
    references.push(makeBox("dimg", u16(1, tileIds.length, ...tileIds)));
  } else {
    items.push(coded(primary, false, [...colr, ...transforms(layout.rotation)]));
  }
  for (const thumbnail of layout.thumbnails ?? []) {
    items.push(
      coded(thumbnail.image, false, [
        ...colr,
        ...transforms(thumbnail.rotation ?? layout.rotation),
      ]),
    );
    references.push(makeBox("thmb", u16(items.length, 1, 1)));
  }
  if (layout.exif) {
    // The offset of the TIFF header past the "Exif\0\0" prefix, as an iPhone writes it.
    items.push({
      type: "Exif",
      hidden: true,
      properties: [],
      data: Buffer.concat([u32(6), layout.exif]),
    });
    references.push(makeBox("cdsc", u16(items.length, 1, 1)));
  }
  return container(items, references);
}

function container(items: Item[], references: Buffer[]): Buffer {
  const ftyp = makeBox(
    "ftyp",
    Buffer.from("heic", "latin1"),
    u32(0),
    Buffer.from("mif1heic", "latin1"),
  );
  // Property boxes, shared when identical (as ipco allows).
  const boxes: Buffer[] = [];
  const index = (box: Buffer) => {
    let found = boxes.findIndex((known) => known.equals(box));
    if (found < 0) found = boxes.push(box) - 1;
    return found + 1;
  };
  const ipmaEntries = items.flatMap((item, i) => {
    const indices = item.properties.map(
      ({ box, essential }) => (essential ? 0x80 : 0) | index(box),
    );
    return indices.length > 0
      ? Buffer.concat([u16(i + 1), Buffer.from([indices.length, ...indices])])
      : [];
  });
  const infe = items.map((item, i) =>
    fullBox("infe", 2, item.hidden ? 1 : 0, u16(i + 1, 0), Buffer.from(`${item.type}\0`, "latin1")),
  );
  const metaWith = (offsets: number[]) =>
    fullBox(
      "meta",
      0,
      0,
      fullBox("hdlr", 0, 0, u32(0), Buffer.from("pict", "latin1"), u32(0, 0, 0), Buffer.from([0])),
      fullBox("pitm", 0, 0, u16(1)),
      fullBox("iinf", 0, 0, u16(items.length), ...infe),
      ...(references.length > 0 ? [fullBox("iref", 0, 0, ...references)] : []),
      makeBox(
        "iprp",
        makeBox("ipco", ...boxes),
        fullBox("ipma", 0, 0, u32(ipmaEntries.length), ...ipmaEntries),
      ),
      // iloc version 0: 4-byte offsets and lengths, no base offset, one extent per item.
      fullBox(
        "iloc",
        0,
        0,
        Buffer.from([0x44, 0x00]),
        u16(items.length),
        ...items.map((item, i) =>
          Buffer.concat([u16(i + 1, 0, 1), u32(offsets[i] ?? 0, item.data.length)]),
        ),
      ),
    );
  // The offsets are absolute: measure the header once, then write it with them.
  const headerLength = ftyp.length + metaWith([]).length + 8;
  const offsets: number[] = [];
  let at = headerLength;
  for (const item of items) {
    offsets.push(at);
    at += item.data.length;
  }
  return Buffer.concat([
    ftyp,
    metaWith(offsets),
    makeBox("mdat", ...items.map((item) => item.data)),
  ]);
}
