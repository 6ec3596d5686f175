/**
 * Whether buckets are empty, for scripts/destroy.sh: Terraform cannot delete a bucket that holds
 * an object version or a delete marker (the source bucket is versioned, so deleted objects leave
 * both), and fails on it only after deleting everything else.
 *
 *   node dist/ops/empty-buckets.js REGION BUCKET...
 *
 * prints "s3://BUCKET holds [more than ]N object versions and M delete markers" for each bucket
 * that is not empty, and says on stderr which are empty or already gone. One page (up to 1,000
 * entries) per bucket: enough to tell empty from not. Exits 1 when a bucket cannot be listed.
 */
import { ListObjectVersionsCommand, S3Client } from "@aws-sdk/client-s3";
import { clientConfig, describeError, isAbsent } from "./aws";
import { messageOf, runNamed } from "./run-tool";

/** A bucket's contents, from one page; undefined when the bucket does not exist. */
export interface BucketContents {
  readonly versions: number;
  readonly deleteMarkers: number;
  /** More than one page: the counts are a lower bound. */
  readonly more: boolean;
}

export async function bucketContents(
  s3: S3Client,
  bucket: string,
): Promise<BucketContents | undefined> {
  try {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 1000 }));
    return {
      versions: page.Versions?.length ?? 0,
      deleteMarkers: page.DeleteMarkers?.length ?? 0,
      more: page.IsTruncated === true,
    };
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw new Error(`cannot tell whether s3://${bucket} is empty: ${describeError(error)}`);
  }
}

/** One line per bucket that holds anything; progress (empty, gone) goes to `say`. */
export async function heldBuckets(
  s3: S3Client,
  buckets: readonly string[],
  say: (line: string) => void,
): Promise<string[]> {
  const held: string[] = [];
  for (const bucket of buckets) {
    const contents = await bucketContents(s3, bucket);
    if (contents === undefined) {
      say(`s3://${bucket} does not exist (already deleted)`);
    } else if (contents.versions === 0 && contents.deleteMarkers === 0) {
      say(`s3://${bucket} is empty`);
    } else {
      const more = contents.more ? "more than " : "";
      held.push(
        `s3://${bucket} holds ${more}${contents.versions} object versions and ${contents.deleteMarkers} delete markers`,
      );
    }
  }
  return held;
}

async function main([region, ...buckets]: string[]): Promise<number> {
  if (region === undefined) {
    console.error("usage: empty-buckets.js REGION BUCKET...");
    return 2;
  }
  const s3 = new S3Client(clientConfig({ region }));
  const held = await heldBuckets(s3, buckets, (line) => console.error(`    ${line}`));
  for (const line of held) process.stdout.write(`${line}\n`);
  return 0;
}

if (require.main === module) runNamed("empty-buckets", main, messageOf);
