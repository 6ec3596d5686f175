import { opendir } from "node:fs/promises";
import path from "node:path";

/**
 * Yields the regular files under `dir`, depth first, one directory handle open at a time, so a
 * folder of a million files is never listed into memory at once. Symbolic links are not followed
 * (no loops); names starting with "." are skipped unless `includeHidden` is set.
 */
export async function* walkFiles(
  dir: string,
  options: { includeHidden?: boolean } = {},
): AsyncGenerator<string> {
  for await (const entry of await opendir(dir)) {
    if (!options.includeHidden && entry.name.startsWith(".")) continue;
    const entryPath = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walkFiles(entryPath, options);
    else if (entry.isFile()) yield entryPath;
  }
}
