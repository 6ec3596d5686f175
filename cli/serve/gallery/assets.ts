import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/** The page's files: a fixed list, read once, so no request names a file. */
const FILES = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/gallery.js": { file: "gallery.js", type: "text/javascript; charset=utf-8" },
  "/gallery.css": { file: "gallery.css", type: "text/css; charset=utf-8" },
} as const;

export interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

/**
 * Reads the page's files from cli/serve/gallery/assets/ in the project (plain HTML, CSS and
 * JavaScript with no build step, so the compiled service in dist/ reads the same folder).
 */
export function loadAssets(): ReadonlyMap<string, Asset> {
  const folder = path.join(projectDir(__dirname), "cli", "serve", "gallery", "assets");
  return new Map(
    Object.entries(FILES).map(([route, { file, type }]) => [
      route,
      { type, body: readFileSync(path.join(folder, file)) },
    ]),
  );
}

/** The nearest folder above `from` with a package.json: the project. */
function projectDir(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
