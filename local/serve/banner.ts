import path from "node:path";
import { LOCAL_CREDENTIALS } from "./service";

export interface BannerFacts {
  readonly endpoint: string;
  readonly sourceBucket: string;
  readonly destBucket: string;
  readonly destPrefix: string;
  readonly spec: string;
  readonly dataDir: string;
  readonly failureRecord: string;
  /** The gallery page, unless turned off. */
  readonly galleryUrl: string | undefined;
}

/** What a person needs to use the service, printed once at start-up. */
export function banner(facts: BannerFacts): string {
  const { accessKeyId, secretAccessKey } = LOCAL_CREDENTIALS;
  const aws = `AWS_ACCESS_KEY_ID=${accessKeyId} AWS_SECRET_ACCESS_KEY=${secretAccessKey} aws --endpoint-url ${facts.endpoint}`;
  const destination = `s3://${facts.destBucket}/${facts.destPrefix}`;
  const files = path.join(facts.dataDir, "s3", facts.destBucket, facts.destPrefix);
  return `
thumbnailer: local S3 service ready (s3rver, the Lambda handler's code, no AWS account needed)

${facts.galleryUrl === undefined ? "" : `  gallery       ${facts.galleryUrl}   (open it, drop photos on it)\n`}  endpoint      ${facts.endpoint}   (path-style buckets, any region)
  credentials   access key ${accessKeyId}, secret key ${secretAccessKey}
  uploads       s3://${facts.sourceBucket}/
  thumbnails    ${destination}   (same key; ${facts.spec})
  data folder   ${facts.dataDir}   (kept across restarts)
  failures      ${facts.failureRecord}

Upload a photo (AWS CLI v2):
  ${aws} s3 cp photo.jpg s3://${facts.sourceBucket}/
Fetch its thumbnail:
  ${aws} s3 cp ${destination}photo.jpg photo-thumbnail.jpg
(The thumbnail is also a file: ${path.join(files, "photo.jpg")}._S3rver_object)

One log line per processed object follows. Ctrl+C stops.
`;
}
