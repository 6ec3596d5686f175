/** The cold-start target's reference: plain sharp and an S3 client as a first handler has them
 * (unbundled; no configuration checks, logging or error handling), loaded like the real one. */
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { S3Event } from "aws-lambda";
import { decodeEventKey } from "../handler/keys";
import { plainThumbnail } from "./plain-sharp";

const s3 = new S3Client({
  region: process.env.AWS_REGION,
  endpoint: process.env.AWS_ENDPOINT_URL_S3,
  forcePathStyle: true,
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
});

export async function handler(event: S3Event): Promise<{ outcome: string }[]> {
  return Promise.all(
    event.Records.map(async (record) => {
      const Key = decodeEventKey(record.s3.object.key);
      const object = await s3.send(new GetObjectCommand({ Bucket: record.s3.bucket.name, Key }));
      const body = await object.Body?.transformToByteArray();
      const data = await plainThumbnail(body ?? new Uint8Array());
      await s3.send(new PutObjectCommand({ Bucket: process.env.DEST_BUCKET, Key, Body: data }));
      return { outcome: "created" };
    }),
  );
}
