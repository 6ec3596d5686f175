// Minimal types for the parts of s3rver (which ships no types) that the local service uses.

declare module "s3rver" {
  import type { EventEmitter } from "node:events";
  import type { Server } from "node:http";
  import type { AddressInfo } from "node:net";
  import type FilesystemStore from "s3rver/lib/stores/filesystem";

  interface S3rverOptions {
    address?: string;
    port?: number;
    directory?: string;
    silent?: boolean;
    vhostBuckets?: boolean;
    resetOnClose?: boolean;
    configureBuckets?: { name: string; configs?: string[] }[];
  }

  class S3rver extends EventEmitter {
    constructor(options: S3rverOptions);
    store: FilesystemStore;
    context: { store: FilesystemStore };
    httpServer?: Server;
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  }
  export = S3rver;
}

declare module "s3rver/lib/stores/filesystem" {
  import type { Readable } from "node:stream";
  import type S3Object from "s3rver/lib/models/object";

  interface StoredObject {
    bucket: string;
    key: string;
    content: Readable | Buffer | null;
    metadata: Record<string, string>;
  }

  class FilesystemStore {
    /** A file or folder name back to the part of the key it stores (escaped on Windows). */
    static decodeKeyPath(keyPath: string): string;
    constructor(rootDirectory: string);
    rootDirectory: string;
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
    getMetadata(bucket: string, key: string): Promise<Record<string, string | number>>;
    putMetadata(
      bucket: string,
      key: string,
      metadata: Record<string, string>,
      md5?: string,
    ): Promise<void>;
    getObject(bucket: string, key: string, options?: unknown): Promise<unknown>;
    putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
    copyObject(
      srcBucket: string,
      srcKey: string,
      destBucket: string,
      destKey: string,
      replacementMetadata?: Record<string, string>,
    ): Promise<Record<string, string | number>>;
    deleteObject(bucket: string, key: string): Promise<void>;
    listObjects(
      bucket: string,
      options: { prefix?: string; delimiter?: string; startAfter?: string; maxKeys?: number },
    ): Promise<{ objects: S3Object[]; commonPrefixes: string[]; isTruncated: boolean }>;
    putSubresource(
      bucket: string,
      key: string | undefined,
      resource: { type: string; toXML(space?: number): string },
    ): Promise<void>;
  }
  export = FilesystemStore;
}

declare module "s3rver/lib/models/object" {
  class S3Object {
    static ALLOWED_METADATA: string[];
    constructor(
      bucket: string,
      key: string,
      content: null,
      metadata: Record<string, string | number>,
    );
    readonly key: string;
  }
  export = S3Object;
}
