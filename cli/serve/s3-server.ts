import { mkdir, mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import S3rver from "s3rver";
import { AtomicFilesystemStore } from "./atomic-store";
import type { S3rverEvent } from "./aws-event";

export interface S3ServerOptions {
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  /** s3rver's object store (one folder per bucket). */
  readonly storeDir: string;
  /** Where files are written before being renamed into the store (same filesystem). */
  readonly tmpDir: string;
  /** Created if missing. */
  readonly buckets: readonly string[];
  readonly onEvent: (event: S3rverEvent) => void;
}

export interface S3Server {
  readonly endpoint: string;
  readonly port: number;
  /** Stops accepting requests and ends open connections. */
  close(): Promise<void>;
}

/**
 * s3rver, an S3-protocol server, on our crash-safe store (see atomic-store.ts). Requests must be
 * signed with the S3RVER/S3RVER credentials; buckets are addressed by path.
 */
export async function startS3Server(options: S3ServerOptions): Promise<S3Server> {
  await mkdir(options.storeDir, { recursive: true });
  // Leftovers of writes a crash interrupted; never visible as objects, safe to drop.
  await rm(options.tmpDir, { recursive: true, force: true });
  await mkdir(options.tmpDir, { recursive: true });

  const server = new S3rver({
    address: options.host,
    port: options.port,
    directory: options.storeDir,
    silent: true,
    vhostBuckets: false,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  server.store = server.context.store = new AtomicFilesystemStore(options.storeDir, options.tmpDir);
  server.on("event", options.onEvent);

  // s3rver's run() does not report a listen error (it is thrown later as an unhandled event):
  // check first that the port is free, so a busy port is a clear start-up error.
  if (options.port !== 0) await assertPortFree(options.host, options.port);
  const address = await server.run();
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    endpoint: `http://${host}:${address.port}`,
    port: address.port,
    async close() {
      const closing = server.close();
      server.httpServer?.closeAllConnections();
      await closing;
    },
  };
}

export interface TemporaryS3Server extends S3Server {
  /** The temporary folder, removed by close(); storeDir and tmpDir are inside it. */
  readonly dir: string;
  readonly storeDir: string;
  readonly tmpDir: string;
}

/** The server on a free port of 127.0.0.1, in a fresh temporary folder: tests and benchmarks. */
export async function startTemporaryS3Server(
  buckets: readonly string[],
): Promise<TemporaryS3Server> {
  const dir = await mkdtemp(path.join(tmpdir(), "thumbnailer-s3rver-"));
  const storeDir = path.join(dir, "s3");
  const tmpDir = path.join(dir, "tmp");
  const server = await startS3Server({
    host: "127.0.0.1",
    port: 0,
    storeDir,
    tmpDir,
    buckets,
    onEvent: () => undefined,
  });
  return {
    endpoint: server.endpoint,
    port: server.port,
    dir,
    storeDir,
    tmpDir,
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
