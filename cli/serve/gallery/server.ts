import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../../../handler/log";
import { createS3Client } from "../../../handler/s3-client";
import { LOCAL_CREDENTIALS } from "../credentials";
import type { Service } from "../service";
import { loadAssets } from "./assets";
import { Catalogue } from "./catalogue";
import type { GalleryContext } from "./http";
import { createRouter } from "./router";
import { configRoute } from "./routes/config";
import { deleteRoute } from "./routes/deletes";
import { createEventStream } from "./routes/event-stream";
import { listingRoute } from "./routes/listing";
import { objectFileRoute } from "./routes/object-files";
import { uploadRoute } from "./routes/uploads";

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

/**
 * The gallery page: the source bucket's objects with their thumbnails and state, live over
 * Server-Sent Events. Uploads and deletes go to the local S3 server like any S3 client's, so
 * the pipeline handles them through its real event path. Each route is a file of routes/.
 */
export async function startGallery(options: GalleryOptions): Promise<Gallery> {
  const { service, log } = options;
  const assets = loadAssets();
  const s3 = createS3Client({
    region: service.config.region,
    endpoint: service.endpoint,
    credentials: LOCAL_CREDENTIALS,
  });
  const catalogue = await Catalogue.open(service, s3, log);
  const context: GalleryContext = {
    config: service.config,
    sourceBucket: service.config.sourceBucket ?? "",
    s3,
    catalogue,
  };
  const events = createEventStream(context);
  let port = options.port;
  const server = http.createServer(
    createRouter({
      assets,
      routes: {
        "/api/config": { GET: configRoute(context) },
        "/api/objects": {
          GET: listingRoute(context),
          PUT: uploadRoute(context),
          DELETE: deleteRoute(context),
        },
        "/api/file": { GET: objectFileRoute(context) },
        "/api/events": { GET: events.route },
      },
      port: () => port,
      log,
    }),
  );
  port = await listen(server, options.host, options.port);

  return {
    url: `http://${options.host}:${port}/`,
    port,
    async close() {
      catalogue.close();
      events.end();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      s3.destroy();
    },
  };
}

/** Resolves with the port listened on, or rejects with the listen error (EADDRINUSE...). */
async function listen(server: http.Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
