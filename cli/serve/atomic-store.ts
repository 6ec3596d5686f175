import { AsyncLocalStorage } from "node:async_hooks";
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import S3Object from "s3rver/lib/models/object";
import FilesystemStore from "s3rver/lib/stores/filesystem";
import { mapBounded } from "../../handler/bounded";
import { type ListOptions, listPage } from "./store-listing";

type Metadata = Record<string, string>;

/** Metadata files read at a time while listing. */
const METADATA_READS = 16;

/**
 * s3rver's filesystem store, changed so that no reader and no crash ever sees a half-written file.
 *
 * s3rver writes an object's bytes, its `.md5` and its `metadata.json` in place; a process killed
 * mid-write leaves a truncated object or an empty metadata file that breaks every later listing of
 * the bucket. Here every file is written to `tmpDir` (same filesystem) and renamed into place.
 * The object's bytes are renamed first, then its md5 and metadata: a crash in between leaves the
 * new bytes with the old (or no) metadata, which the reconciler sees as a stale thumbnail and redoes.
 * While the service runs, a per-key lock makes those renames one step for readers: a reader
 * never sees new bytes with old metadata (or none).
 * A missing md5 is recomputed on read but, unlike s3rver, never persisted by a reader (a reader
 * racing a writer would otherwise store the old object's md5 for the new bytes).
 * Like S3, writing or deleting an object drops its tags.
 * Listing follows S3's order, a page at a time (store-listing.ts).
 */
export class AtomicFilesystemStore extends FilesystemStore {
  private readonly locks = new Map<string, Promise<void>>();
  /** The keys the current async context holds, so nested calls (getObject -> getMetadata) pass. */
  private readonly held = new AsyncLocalStorage<ReadonlySet<string>>();
  private tmpReady: Promise<unknown> | undefined;

  constructor(
    rootDirectory: string,
    private readonly tmpDir: string,
  ) {
    super(rootDirectory);
  }

  override getMetadata(bucket: string, key: string): Promise<Record<string, string | number>> {
    return this.locked(bucket, key, () => this.readMetadata(bucket, key));
  }

  override getObject(bucket: string, key: string, options?: unknown): Promise<unknown> {
    // Resolves once the file is open: the stream then reads those bytes whatever renames follow.
    return this.locked(bucket, key, () => super.getObject(bucket, key, options));
  }

  /** A page of keys in S3's order (see store-listing.ts), with each object's metadata. */
  override async listObjects(
    bucket: string,
    options: ListOptions,
  ): Promise<{ objects: S3Object[]; commonPrefixes: string[]; isTruncated: boolean }> {
    const page = await listPage(path.join(this.rootDirectory, bucket), options);
    // A page is up to 1,000 keys: a few metadata reads at a time, not 1,000 files open at once.
    const metadata = await mapBounded(page.keys, METADATA_READS, (key) =>
      this.getMetadata(bucket, key).catch((error: unknown) => ignoreMissing(error, undefined)),
    );
    const objects: S3Object[] = [];
    for (const [index, key] of page.keys.entries()) {
      const found = metadata[index];
      if (found !== undefined) objects.push(new S3Object(bucket, key, null, found)); // else deleted since
    }
    return { objects, commonPrefixes: page.commonPrefixes, isTruncated: page.isTruncated };
  }

  override deleteObject(bucket: string, key: string): Promise<void> {
    return this.locked(bucket, key, async () => {
      await rm(this.getResourcePath(bucket, key, "tagging.xml"), { force: true });
      await super.deleteObject(bucket, key);
    });
  }

  private async readMetadata(
    bucket: string,
    key: string,
  ): Promise<Record<string, string | number>> {
    const objectPath = this.getResourcePath(bucket, key, "object");
    const metadataPath = this.getResourcePath(bucket, key, "metadata.json");
    const stats = await stat(objectPath); // throws ENOENT when the object does not exist
    const [stored, md5] = await Promise.all([
      readFile(metadataPath, "utf8").then(
        (text) => JSON.parse(text) as Metadata,
        (error: unknown) => ignoreMissing(error, undefined),
      ),
      readFile(`${objectPath}.md5`, "utf8").catch((error: unknown) =>
        ignoreMissing(error, undefined).then(() => md5Of(objectPath)),
      ),
    ]);
    return {
      ...stored,
      etag: JSON.stringify(md5),
      "last-modified": stats.mtime.toUTCString(),
      "content-length": stats.size,
    };
  }

  override async putMetadata(
    bucket: string,
    key: string,
    metadata: Metadata,
    md5?: string,
  ): Promise<void> {
    const json: Metadata = {};
    for (const [name, value] of Object.entries(metadata)) {
      if (S3Object.ALLOWED_METADATA.includes(name) || name.startsWith("x-amz-meta-")) {
        json[name] = value;
      }
    }
    // Independent files, both written after the object's bytes: in parallel.
    await Promise.all([
      md5 && this.writeAtomically(this.getResourcePath(bucket, key, "object.md5"), md5),
      this.writeAtomically(
        this.getResourcePath(bucket, key, "metadata.json"),
        JSON.stringify(json, null, 2),
      ),
    ]);
  }

  override async putObject(object: {
    bucket: string;
    key: string;
    content: Readable | Buffer | null;
    metadata: Metadata;
  }): Promise<{ size: number; md5: string }> {
    const objectPath = this.getResourcePath(object.bucket, object.key, "object");
    const hash = createHash("md5");
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    const content = Buffer.isBuffer(object.content)
      ? Readable.from([object.content])
      : (object.content ?? Readable.from([]));
    const tmp = await this.tmpFile();
    let renamed = false;
    try {
      await pipeline(content, counter, createWriteStream(tmp));
      const md5 = hash.digest("hex");
      await mkdir(path.dirname(objectPath), { recursive: true });
      await this.locked(object.bucket, object.key, async () => {
        await this.dropDerivedFiles(object.bucket, object.key);
        await rename(tmp, objectPath);
        renamed = true;
        await this.putMetadata(object.bucket, object.key, object.metadata, md5);
      });
      return { size, md5 };
    } finally {
      if (!renamed) await rm(tmp, { force: true });
    }
  }

  override async copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata?: Metadata,
  ): Promise<Record<string, string | number>> {
    const srcPath = this.getResourcePath(srcBucket, srcKey, "object");
    const destPath = this.getResourcePath(destBucket, destKey, "object");
    const tmp = await this.tmpFile();
    try {
      const { source, metadata } = await this.locked(srcBucket, srcKey, async () => {
        if (srcPath !== destPath) await copyFile(srcPath, tmp);
        const stored = await readFile(
          this.getResourcePath(srcBucket, srcKey, "metadata.json"),
          "utf8",
        ).then(
          (text) => JSON.parse(text) as Metadata,
          (error: unknown) => ignoreMissing(error, {}),
        );
        return {
          source: await this.readMetadata(srcBucket, srcKey),
          metadata: replacementMetadata ?? stored,
        };
      });
      await mkdir(path.dirname(destPath), { recursive: true });
      return await this.locked(destBucket, destKey, async () => {
        if (srcPath !== destPath) {
          await this.dropDerivedFiles(destBucket, destKey);
          await rename(tmp, destPath);
        }
        await this.putMetadata(destBucket, destKey, metadata, JSON.parse(String(source.etag)));
        return this.readMetadata(destBucket, destKey);
      });
    } finally {
      await rm(tmp, { force: true });
    }
  }

  override async putSubresource(
    bucket: string,
    key: string | undefined,
    resource: { type: string; toXML(space?: number): string },
  ): Promise<void> {
    await this.writeAtomically(
      this.getResourcePath(bucket, key, `${resource.type}.xml`),
      resource.toXML(2),
    );
  }

  /** The md5 and the tags describe the previous bytes: remove them before new bytes land. */
  private async dropDerivedFiles(bucket: string, key: string): Promise<void> {
    await Promise.all([
      rm(this.getResourcePath(bucket, key, "object.md5"), { force: true }),
      rm(this.getResourcePath(bucket, key, "tagging.xml"), { force: true }),
    ]);
  }

  /** Runs `fn` holding the key's lock: one reader or writer of a key at a time. */
  private async locked<T>(bucket: string, key: string, fn: () => Promise<T>): Promise<T> {
    const id = `${bucket}/${key}`;
    const held = this.held.getStore();
    if (held?.has(id)) return fn();
    const previous = this.locks.get(id) ?? Promise.resolve();
    let release = (): void => undefined;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.locks.set(id, tail);
    await previous;
    try {
      return await this.held.run(new Set([...(held ?? []), id]), fn);
    } finally {
      release();
      if (this.locks.get(id) === tail) this.locks.delete(id);
    }
  }

  private async writeAtomically(target: string, data: string): Promise<void> {
    const tmp = await this.tmpFile();
    try {
      await writeFile(tmp, data);
      await rename(tmp, target);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  /** A fresh name in tmpDir (made once per store: every file system call adds latency). */
  private async tmpFile(): Promise<string> {
    this.tmpReady ??= mkdir(this.tmpDir, { recursive: true });
    await this.tmpReady;
    return path.join(this.tmpDir, randomUUID());
  }
}

async function ignoreMissing<T>(error: unknown, fallback: T): Promise<T> {
  if ((error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") return fallback;
  throw error;
}

async function md5Of(file: string): Promise<string> {
  const hash = createHash("md5");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
