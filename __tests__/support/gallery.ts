/** The local service with its gallery page, in-process on free ports, and raw HTTP to it. */

import http, { type IncomingHttpHeaders } from "node:http";
import { type Gallery, startGallery } from "../../cli/serve/gallery/server";
import type { ServiceOptions } from "../../cli/serve/service";
import { startTestService, type TestService } from "./local-service";

export interface TestGallery extends TestService {
  readonly gallery: Gallery;
}

export async function startTestGallery(
  overrides: Partial<ServiceOptions> = {},
): Promise<TestGallery> {
  const local = await startTestService(overrides);
  const gallery = await startGallery({
    service: local.service,
    host: "127.0.0.1",
    port: 0,
    log: { log: () => undefined },
  });
  return {
    ...local,
    gallery,
    async close() {
      await gallery.close();
      await local.close();
    },
  };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One HTTP request with exactly the headers given (fetch would not let a test forge Host). */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: options.method ?? "GET", headers: options.headers ?? {} },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
          }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(options.body);
  });
}
