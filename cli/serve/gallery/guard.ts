import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";

/**
 * The page may run only its own files: scripts, styles, images and requests from this origin,
 * nothing inline, no frames, no forms posted elsewhere.
 */
export const PAGE_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Images are bytes someone uploaded: opened on their own, they run nothing. */
export const IMAGE_POLICY = "default-src 'none'; sandbox";

/** Sent with every response. */
export const COMMON_HEADERS: OutgoingHttpHeaders = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Resource-Policy": "same-origin",
  "X-Frame-Options": "DENY",
  "Cache-Control": "no-store",
};

/** Why a request is refused, or undefined when it may go on. */
export interface Refusal {
  readonly status: number;
  readonly reason: string;
}

/**
 * The gallery listens on loopback, but the browser that visits it visits other sites too:
 * - a page elsewhere whose DNS name is made to point at 127.0.0.1 (DNS rebinding) sends its
 *   own name as Host: only this server's loopback address and port are accepted;
 * - a page elsewhere can send requests here (a form, fetch with no-cors): anything that
 *   changes data must come from this origin, as the browser states in Origin or Sec-Fetch-Site.
 */
export function refuse(request: IncomingMessage, port: number): Refusal | undefined {
  const host = request.headers.host ?? "";
  if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
    return {
      status: 421,
      reason: `Host "${host}" is not this server (http://127.0.0.1:${port}/)`,
    };
  }
  if (request.method === "GET" || request.method === "HEAD") return undefined;
  const origin = request.headers.origin;
  const site = request.headers["sec-fetch-site"];
  const sameOrigin = origin !== undefined ? origin === `http://${host}` : site === "same-origin";
  if (!sameOrigin) {
    return {
      status: 403,
      reason: `${request.method} is accepted only from the gallery page itself (Origin http://${host})`,
    };
  }
  return undefined;
}
