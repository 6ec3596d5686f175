import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { type Container, detectContainer } from "../../../handler/engine/detect";
import { describeError } from "../../../handler/errors";
import type { Logger } from "../../../handler/log";
import { createS3Client } from "../../../handler/s3-client";
import { isNotFound } from "../../../handler/s3-errors";
import { LOCAL_CREDENTIALS, type Service } from "../service";
import { type Asset, loadAssets } from "./assets";
import { Catalogue, type Change, type Cursor } from "./catalogue";
import { COMMON_HEADERS, IMAGE_POLICY, PAGE_POLICY, refuse } from "./guard";

export interface GalleryOptions {
  readonly service: Service;
  /** Loopback only: the page can upload and delete. */
  readonly host: "127.0.0.1";
  /** 0: any free port. */
  readonly port: number;
  readonly log: Logger;
}

export interface Gallery {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Objects per page of the listing, at most. */
const MAX_PAGE = 100;

/**
 * The Content-Type an image is served with, by its content (never by the type its uploader
 * claimed): only formats every browser shows in an <img>. HEIC, TIFF and anything else are not
 * served, so no upload can be opened here as a page.
 */
const SHOWN_TYPES: Partial<Record<Container, string>> = {
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
};

/**
 * The gallery page: the source bucket's objects with their thumbnails and state, live over
 * Server-Sent Events. Uploads and deletes go to the local S3 server like any S3 client's, so
 * the pipeline handles them through its real event path.
 */
export async function startGallery(options: GalleryOptions): Promise<Gallery> {
  const { service, log } = options;
  const { config } = service;
  const sourceBucket = config.sourceBucket ?? "";
  const assets = loadAssets();
  const s3 = createS3Client({
    region: config.region,
    endpoint: service.endpoint,
    credentials: LOCAL_CREDENTIALS,
  });
  const catalogue = await Catalogue.open(service, s3, log);
  const streams = new Set<ServerResponse>();
  let port = options.port;

  const routes: Record<string, Partial<Record<string, Route>>> = {
    "/api/config": {
      GET: async (_request, response) =>
        sendJson(response, 200, {
          sourceBucket,
          sourcePrefix: config.sourcePrefix,
          maxInputBytes: config.limits.maxInputBytes,
        }),
    },
    "/api/objects": {
      GET: async (_request, response, query) => {
        const cursor = parseCursor(query.get("after"));
        const limit = Number(query.get("limit") ?? "48");
        if (cursor === null || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
          return sendJson(response, 400, {
            error: `expected ?limit=1..${MAX_PAGE} and an "after" cursor from a previous page`,
          });
        }
        const page = await catalogue.page(cursor, limit);
        sendJson(response, 200, {
          objects: page.cards,
          total: catalogue.size,
          next: page.next === undefined ? null : formatCursor(page.next),
        });
      },
      PUT: async (request, response, query) => {
        const key = sourceKey(query);
        if (key === undefined) return badKey(response);
        const length = Number(request.headers["content-length"]);
        if (request.headers["content-length"] === undefined || !Number.isSafeInteger(length)) {
          return sendJson(response, 411, { error: "the upload needs a Content-Length" });
        }
        if (length > config.limits.maxInputBytes) {
          return sendJson(response, 413, {
            error: `${length} bytes is over the input limit of ${config.limits.maxInputBytes} bytes (MAX_INPUT_BYTES)`,
          });
        }
        const type = request.headers["content-type"] ?? "";
        await s3.send(
          new PutObjectCommand({
            Bucket: sourceBucket,
            Key: key,
            Body: request,
            ContentLength: length,
            ContentType: /^[\w.+-]+\/[\w.+-]+$/.test(type) ? type : "application/octet-stream",
          }),
        );
        sendJson(response, 201, { key });
      },
      DELETE: async (_request, response, query) => {
        const key = sourceKey(query);
        if (key === undefined) return badKey(response);
        await s3.send(new DeleteObjectCommand({ Bucket: sourceBucket, Key: key }));
        sendJson(response, 200, { key });
      },
    },
    "/api/file": {
      GET: async (_request, response, query) => {
        const bucket = query.get("bucket");
        const key = query.get("key");
        const allowed =
          key !== null &&
          ((bucket === sourceBucket && key.startsWith(config.sourcePrefix)) ||
            (bucket === config.destBucket && key.startsWith(config.destPrefix)));
        if (!allowed) {
          return sendJson(response, 400, {
            error: `expected ?bucket=${sourceBucket}|${config.destBucket}&key=KEY`,
          });
        }
        await sendImage(response, s3, bucket, key);
      },
    },
    "/api/events": {
      GET: async (request, response) => {
        response.writeHead(200, {
          ...COMMON_HEADERS,
          "Content-Type": "text/event-stream; charset=utf-8",
        });
        response.write("retry: 1000\n\n");
        streams.add(response);
        const unsubscribe = catalogue.subscribe((change) =>
          sendChange(response, change, catalogue.size),
        );
        request.on("close", () => {
          unsubscribe();
          streams.delete(response);
        });
      },
    },
  };

  const server = http.createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const { code, reason } = describeError(error);
      log.log("warn", { msg: "gallery: request failed", url: request.url, code, reason });
      if (!response.headersSent) sendJson(response, 502, { error: `${code}: ${reason}` });
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const refusal = refuse(request, port);
    if (refusal !== undefined) {
      request.resume();
      return sendJson(response, refusal.status, { error: refusal.reason });
    }
    const url = new URL(request.url ?? "/", "http://gallery.invalid");
    const method = request.method ?? "GET";
    const asset = assets.get(url.pathname);
    if (asset !== undefined && (method === "GET" || method === "HEAD")) {
      return sendAsset(response, asset, method === "HEAD");
    }
    const route = routes[url.pathname];
    const handler = route?.[method];
    if (handler === undefined) {
      request.resume();
      return sendJson(response, route === undefined ? 404 : 405, {
        error: route === undefined ? "not found" : `${method} is not allowed here`,
      });
    }
    await handler(request, response, url.searchParams);
  }

  const sourceKey = (query: URLSearchParams): string | undefined => {
    const key = query.get("key");
    return key !== null && key !== "" && key.startsWith(config.sourcePrefix) ? key : undefined;
  };
  const badKey = (response: ServerResponse): void =>
    sendJson(response, 400, {
      error: `expected ?key=KEY, a key under the source prefix "${config.sourcePrefix}"`,
    });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://${options.host}:${port}/`,
    port,
    async close() {
      catalogue.close();
      for (const stream of streams) stream.end();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      s3.destroy();
    },
  };
}

type Route = (
  request: IncomingMessage,
  response: ServerResponse,
  query: URLSearchParams,
) => Promise<void>;

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, {
    ...COMMON_HEADERS,
    "Content-Type": "application/json; charset=utf-8",
  });
  response.end(JSON.stringify(body));
}

function sendAsset(response: ServerResponse, asset: Asset, headOnly: boolean): void {
  response.writeHead(200, {
    ...COMMON_HEADERS,
    "Content-Type": asset.type,
    "Content-Length": asset.body.length,
    "Content-Security-Policy": PAGE_POLICY,
  });
  response.end(headOnly ? undefined : asset.body);
}

/** One change as an SSE message, with the number of objects after it. */
function sendChange(response: ServerResponse, change: Change, total: number): void {
  const data = change.kind === "object" ? { card: change.card, total } : { key: change.key, total };
  response.write(`event: ${change.kind}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** Sends an object of the S3 server as an image, if it is one a browser shows. */
async function sendImage(
  response: ServerResponse,
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<void> {
  let bytes: Uint8Array;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    bytes = await (
      object.Body as { transformToByteArray(): Promise<Uint8Array> }
    ).transformToByteArray();
  } catch (error) {
    if (isNotFound(error)) return sendJson(response, 404, { error: "no such object" });
    throw error;
  }
  const container = detectContainer(bytes);
  const type = container === undefined ? undefined : SHOWN_TYPES[container];
  if (type === undefined) {
    return sendJson(response, 415, {
      error: `not shown: its content is ${container ?? "not an image"}, which browsers do not all display`,
    });
  }
  response.writeHead(200, {
    ...COMMON_HEADERS,
    "Content-Type": type,
    "Content-Length": bytes.byteLength,
    "Content-Security-Policy": IMAGE_POLICY,
  });
  response.end(bytes);
}

function formatCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.time, cursor.key])).toString("base64url");
}

/** undefined: from the start; null: not a cursor. */
function parseCursor(text: string | null): Cursor | undefined | null {
  if (text === null || text === "") return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
    if (
      Array.isArray(value) &&
      typeof value[0] === "number" &&
      typeof value[1] === "string" &&
      value.length === 2
    ) {
      return { time: value[0], key: value[1] };
    }
  } catch {
    // not JSON: not a cursor
  }
  return null;
}
