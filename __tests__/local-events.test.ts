/** s3rver's in-process events turned into genuine S3 notification events (unit, no network). */

import { fromS3rver, type S3rverEvent } from "../cli/serve/aws-event";
import { createSequencer, encodeEventKey } from "../cli/synthetic-event";
import { decodeEventKey } from "../handler/keys";
import { parseRecord } from "../handler/s3-event";

const source = { region: "eu-west-3", sequencer: createSequencer() };

function s3rverEvent(
  eventName: string,
  key: string,
  object: { size?: number; eTag?: string } = {},
): S3rverEvent {
  return {
    Records: [
      {
        eventName,
        eventTime: "2026-01-02T03:04:05.000Z",
        requestParameters: { sourceIPAddress: "127.0.0.1" },
        s3: { bucket: { name: "source" }, object: { key, ...object } },
      },
    ],
  };
}

describe("encodeEventKey", () => {
  it.each([
    ["photo.jpg", "photo.jpg"],
    ["my photo.jpg", "my+photo.jpg"],
    ["a+b.jpg", "a%2Bb.jpg"],
    ["100%.jpg", "100%25.jpg"],
    ["albums/2024/été/ï.jpg", "albums/2024/%C3%A9t%C3%A9/%C3%AF.jpg"],
    ["a=b&c?.jpg", "a%3Db%26c%3F.jpg"],
  ])("encodes %j as S3 does (%j) and the handler decodes it back", (key, encoded) => {
    expect(encodeEventKey(key)).toBe(encoded);
    expect(decodeEventKey(encodeEventKey(key))).toBe(key);
  });
});

describe("fromS3rver", () => {
  it("makes a PUT into an S3 event record with encoded key, ARN, region, size and ETag", () => {
    const [event] = fromS3rver(
      s3rverEvent("ObjectCreated:Put", "my dir/a+b.jpg", { size: 42, eTag: "abc" }),
      source,
    );

    const record = event?.Records[0];
    expect(event?.Records).toHaveLength(1);
    expect(record).toMatchObject({
      eventSource: "aws:s3",
      awsRegion: "eu-west-3",
      eventName: "ObjectCreated:Put",
      eventTime: "2026-01-02T03:04:05.000Z",
      s3: {
        bucket: { name: "source", arn: "arn:aws:s3:::source" },
        object: {
          key: "my+dir/a%2Bb.jpg",
          size: 42,
          eTag: "abc",
          sequencer: expect.stringMatching(/^[0-9A-F]{16}$/),
        },
      },
    });
    expect(parseRecord(record as NonNullable<typeof record>)).toMatchObject({
      kind: "created",
      key: "my dir/a+b.jpg",
      size: 42,
      eTag: "abc",
    });
  });

  it("names a multipart completion (s3rver's Post) ObjectCreated:CompleteMultipartUpload", () => {
    const [event] = fromS3rver(
      s3rverEvent("ObjectCreated:Post", "big.jpg", { size: 9, eTag: "e" }),
      source,
    );

    expect(event?.Records[0]?.eventName).toBe("ObjectCreated:CompleteMultipartUpload");
  });

  it("sends a removal without size or ETag, like S3", () => {
    const [event] = fromS3rver(s3rverEvent("ObjectRemoved:Delete", "gone.jpg"), source);

    const object = event?.Records[0]?.s3.object;
    expect(event?.Records[0]?.eventName).toBe("ObjectRemoved:Delete");
    expect(object).not.toHaveProperty("size");
    expect(object).not.toHaveProperty("eTag");
    expect(object?.key).toBe("gone.jpg");
  });
});

describe("createSequencer", () => {
  it("grows strictly, even within one millisecond and when the clock goes back", () => {
    const times = [1000, 1000, 1000, 999, 2000];
    const next = createSequencer(() => times.shift() ?? 0);

    const values = Array.from({ length: 5 }, next);

    const sorted = [...values].sort();
    expect(values).toEqual(sorted);
    expect(new Set(values).size).toBe(5);
  });
});
