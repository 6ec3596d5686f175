import type { Dirent } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import FilesystemStore from "s3rver/lib/stores/filesystem";

/** The file that holds an object's bytes in s3rver's layout: `<bucket>/<key>._S3rver_object`. */
const OBJECT_SUFFIX = "._S3rver_object";

export interface ListOptions {
  readonly prefix?: string;
  readonly delimiter?: string;
  /** Only keys after this one (ListObjectsV2's StartAfter, or its continuation token's key). */
  readonly startAfter?: string;
  readonly maxKeys?: number;
}

export interface ListPage {
  /** Up to maxKeys keys, in S3's order. */
  readonly keys: string[];
  /** The prefixes up to the delimiter that group the other keys of this page's range. */
  readonly commonPrefixes: string[];
  /** More keys follow the last one; the next page starts after it. */
  readonly isTruncated: boolean;
}

/**
 * One page of a bucket in s3rver's folder layout, in S3's order: keys sorted by their UTF-8 bytes.
 *
 * s3rver's own listing walks folders in file-name order (`a/x` before `a`, because the folder
 * `a` sorts before the file `a._S3rver_object`) and compares keys as JavaScript strings (UTF-16):
 * a page that starts after a key then repeats some keys and skips others. It also `stat`s every
 * file of the bucket, synchronously, for every page. Here folders are read with their entry types,
 * a folder stands for the keys `<folder>/...` when sorted, and folders wholly before StartAfter or
 * outside the prefix are not read.
 *
 * The page ends with a key (s3rver's continuation token is the page's last key): common prefixes
 * do not count towards maxKeys, and those after a full page's last key are left to the next page.
 */
export async function listPage(bucketDir: string, options: ListOptions): Promise<ListPage> {
  const {
    prefix = "",
    delimiter = "",
    startAfter = "",
    maxKeys = Number.POSITIVE_INFINITY,
  } = options;
  const keys: string[] = [];
  const commonPrefixes: string[] = [];
  const pending: string[] = []; // common prefixes met once the page was full
  let lastCommon: string | undefined;
  for await (const key of keysInOrder(bucketDir, "", prefix, Buffer.from(startAfter))) {
    const cut = delimiter === "" ? -1 : key.indexOf(delimiter, prefix.length);
    if (cut !== -1) {
      // The keys of one common prefix are next to each other in S3's order.
      const common = key.slice(0, cut + delimiter.length);
      if (common !== lastCommon) (keys.length < maxKeys ? commonPrefixes : pending).push(common);
      lastCommon = common;
      continue;
    }
    if (keys.length >= maxKeys) return { keys, commonPrefixes, isTruncated: true };
    keys.push(key);
  }
  return { keys, commonPrefixes: [...commonPrefixes, ...pending], isTruncated: false };
}

interface Entry {
  /** The object's key, or for a folder the prefix `<folder>/` every key inside it starts with. */
  readonly key: string;
  readonly bytes: Buffer;
  readonly folder?: string;
}

/** Every key under `dir` that starts with `prefix` and comes after `startAfter`, in S3's order. */
async function* keysInOrder(
  dir: string,
  keyPrefix: string,
  prefix: string,
  startAfter: Buffer,
): AsyncGenerator<string> {
  for (const entry of await sortedEntries(dir, keyPrefix)) {
    if (entry.folder === undefined) {
      if (entry.key.startsWith(prefix) && Buffer.compare(entry.bytes, startAfter) > 0)
        yield entry.key;
      continue;
    }
    const overlapsPrefix = entry.key.startsWith(prefix) || prefix.startsWith(entry.key);
    // Every key inside sorts after the folder's prefix and before anything it is not a prefix of.
    const whollyBefore =
      Buffer.compare(entry.bytes, startAfter) < 0 &&
      !startAfter.subarray(0, entry.bytes.length).equals(entry.bytes);
    if (overlapsPrefix && !whollyBefore)
      yield* keysInOrder(entry.folder, entry.key, prefix, startAfter);
  }
}

async function sortedEntries(dir: string, keyPrefix: string): Promise<Entry[]> {
  let dirents: Dirent[];
  try {
    dirents = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    // A folder emptied and removed by a concurrent delete, or a bucket without objects yet.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const entries: Entry[] = [];
  for (const dirent of dirents) {
    const name = FilesystemStore.decodeKeyPath(dirent.name);
    let key: string | undefined;
    if (dirent.isDirectory()) key = `${keyPrefix}${name}/`;
    else if (name.endsWith(OBJECT_SUFFIX)) key = keyPrefix + name.slice(0, -OBJECT_SUFFIX.length);
    if (key === undefined) continue; // metadata, md5, tags, bucket configuration
    entries.push({
      key,
      bytes: Buffer.from(key),
      ...(dirent.isDirectory() ? { folder: path.join(dir, dirent.name) } : {}),
    });
  }
  return entries.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
}
