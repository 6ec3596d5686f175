import type { IncomingMessage, ServerResponse } from "node:http";
import type { S3Client } from "@aws-sdk/client-s3";
import type { HandlerConfig } from "../../../handler/config";
import type { Catalogue } from "./catalogue";
import { COMMON_HEADERS } from "./guard";

/** What every route works with. */
export interface GalleryContext {
  readonly config: HandlerConfig;
  /** The local service always names its source bucket (the Lambda may accept any). */
  readonly sourceBucket: string;
  /** A client of the local S3 server, as any S3 client's uploads and deletes. */
  readonly s3: S3Client;
  readonly catalogue: Catalogue;
}

export type Route = (
  request: IncomingMessage,
  response: ServerResponse,
  query: URLSearchParams,
) => Promise<void>;

/** Routes by path, then by method. */
export type Routes = Record<string, Partial<Record<string, Route>>>;

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, {
    ...COMMON_HEADERS,
    "Content-Type": "application/json; charset=utf-8",
  });
  response.end(JSON.stringify(body));
}
