/**
 * Listing the local service's store page by page (integration: real s3rver on our store, the AWS
 * SDK's ListObjectsV2 and its paginator): a bucket of several pages lists every object exactly
 * once, in S3's order (UTF-8 bytes), whatever the page size, prefix, delimiter or keys.
 */

import {
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  type ListObjectsV2CommandOutput,
  paginateListObjectsV2,
} from "@aws-sdk/client-s3";
import { AtomicFilesystemStore } from "../cli/serve/atomic-store";
import { forEachLimited } from "../handler/bounded";
import { put } from "./support/local-s3";
import { startTestS3, type TestS3 } from "./support/s3rver";

/** Keys whose S3 order differs from the store's folder order or from JavaScript's string order. */
const AWKWARD = [
  "a",
  "a b",
  "a+1.jpg",
  "a-c",
  "a.txt",
  "a/x",
  "a/y/z.jpg",
  "folder/",
  "folder/inside.jpg",
  "line\nbreak.jpg",
  "photos.jpg",
  "photos/2024/x.jpg",
  "photos/a.jpg",
  "photos/été 100%.jpg",
  "z",
  "é.jpg",
  "写真.jpg",
  "～.jpg", // U+FF5E: after 😀 in JavaScript's order, before it in UTF-8
  "😀.jpg",
];

const byUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function listPages(
  local: TestS3,
  input: ListObjectsV2CommandInput,
  pageSize?: number,
): Promise<{ keys: string[]; prefixes: string[]; pages: number }> {
  const keys: string[] = [];
  const prefixes: string[] = [];
  let pages = 0;
  const paginator = paginateListObjectsV2(
    { client: local.s3, ...(pageSize === undefined ? {} : { pageSize }) },
    input,
  );
  for await (const page of paginator as AsyncIterable<ListObjectsV2CommandOutput>) {
    pages++;
    keys.push(...(page.Contents ?? []).map((object) => object.Key ?? ""));
    prefixes.push(...(page.CommonPrefixes ?? []).map((prefix) => prefix.Prefix ?? ""));
  }
  return { keys, prefixes, pages };
}

describe("local store listing (integration: real s3rver)", () => {
  let local: TestS3;

  beforeAll(async () => {
    local = await startTestS3(["many", "awkward"]);
    await forEachLimited(AWKWARD, 4, (key) =>
      put(local.s3, "awkward", key, Buffer.from(key)).then(() => undefined),
    );
  });

  afterAll(async () => {
    await local.close();
  });

  it("lists all 1,001 objects of a bucket in two pages of ListObjectsV2, each key once", async () => {
    // Arrange: one object more than the default page holds (1,000), written by the server's store
    // itself (as a PUT writes them, without 1,001 HTTP round trips), 8 at a time. More pages
    // prove nothing more: page sizes 1, 2 and 5 are paged through below.
    const keys = Array.from({ length: 1001 }, (_, i) => `photos/${String(i).padStart(4, "0")}.jpg`);
    const store = new AtomicFilesystemStore(local.storeDir, local.tmpDir);
    await forEachLimited(keys, 8, async (key) => {
      await store.putObject({ bucket: "many", key, content: Buffer.from(key), metadata: {} });
    });

    // Act: the SDK's paginator, default page size (1,000)
    const listed = await listPages(local, { Bucket: "many" });

    // Assert
    expect(listed.pages).toBe(2);
    expect(listed.keys).toEqual(keys);
  });

  it.each([1, 2, 5, 1000])(
    "pages through awkward keys in S3's order, %i at a time",
    async (size) => {
      const listed = await listPages(local, { Bucket: "awkward" }, size);

      expect(listed.keys).toEqual([...AWKWARD].sort(byUtf8));
      expect(listed.pages).toBe(Math.ceil(AWKWARD.length / size));
    },
  );

  it("honours Prefix and StartAfter with awkward keys", async () => {
    const listed = await listPages(local, { Bucket: "awkward", Prefix: "a", StartAfter: "a-c" }, 2);

    expect(listed.keys).toEqual(["a.txt", "a/x", "a/y/z.jpg"]);
  });

  it("groups keys under a delimiter into common prefixes, each reported once across pages", async () => {
    const listed = await listPages(local, { Bucket: "awkward", Delimiter: "/" }, 2);

    expect(listed.keys).toEqual(AWKWARD.filter((key) => !key.includes("/")).sort(byUtf8));
    expect(listed.prefixes).toEqual(["a/", "folder/", "photos/"]);
  });

  it("refuses a continuation token it did not hand out with InvalidArgument (400), as S3 does", async () => {
    const listing = local.s3.send(
      new ListObjectsV2Command({
        Bucket: "awkward",
        ContinuationToken: "bm90IGEgdG9rZW4gb2Ygb3Vycw==",
      }),
    );

    await expect(listing).rejects.toMatchObject({
      name: "InvalidArgument",
      $metadata: { httpStatusCode: 400 },
    });
  });

  it("lists the objects of one folder under a prefix and delimiter", async () => {
    const listed = await listPages(
      local,
      { Bucket: "awkward", Prefix: "photos/", Delimiter: "/" },
      1,
    );

    expect(listed.keys).toEqual(["photos/a.jpg", "photos/été 100%.jpg"]);
    expect(listed.prefixes).toEqual(["photos/2024/"]);
  });
});
