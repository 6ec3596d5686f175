import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * Writes `data` to `target` so that `target` is either absent, its old content, or all of the
 * new content, even if the process dies mid-write: a hidden temporary file in the same folder,
 * then a rename (atomic on POSIX filesystems).
 */
export async function writeFileAtomic(target: string, data: Uint8Array): Promise<void> {
  const dir = path.dirname(target);
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
  inFlight.add(tmp);
  try {
    await writeFile(tmp, data);
    await rename(tmp, target);
  } finally {
    await rm(tmp, { force: true });
    inFlight.delete(tmp);
  }
}

const inFlight = new Set<string>();

/** Removes the temporary files of writes in progress (for an interrupted process's last act). */
export function removeTemporaryFiles(): void {
  for (const tmp of inFlight) rmSync(tmp, { force: true });
}
