/**
 * A stand-in for the ECR API on 127.0.0.1, for the offline plans: the Lambda stack's
 * `data.aws_ecr_image` (the image tagged `deployed`, read on every plan once the image build has
 * nothing to do) reads it through the provider's `endpoints.ecr`. It holds the images the test
 * pushes, answers the two calls the data source makes (DescribeImages, with or without imageIds,
 * and DescribeRepositories) as ECR's JSON protocol does, records every call, and answers
 * anything else with an error, so a new call the provider makes fails the plan instead of
 * passing unnoticed.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { TEST_ACCOUNT } from "./terraform";

const TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921.";

export interface RegistryCall {
  /** The operation, e.g. "DescribeImages". */
  readonly operation: string;
  readonly body: Record<string, unknown>;
}

interface Image {
  readonly digest: string;
  readonly tags: string[];
  /** Seconds since the epoch, as ECR's JSON protocol sends timestamps. */
  readonly pushedAt: number;
}

export interface FakeEcr {
  /** The endpoint URL for the provider's `endpoints.ecr`. */
  readonly url: string;
  readonly calls: RegistryCall[];
  /** Adds an image to `repository` (created on first push), newer than every earlier push. */
  push(repository: string, digest: string, tags?: string[]): void;
  close(): Promise<void>;
}

function error(type: string, message: string) {
  return { status: 400, body: { __type: type, message } };
}

export async function startFakeEcr(region: string): Promise<FakeEcr> {
  const repositories = new Map<string, Image[]>();
  const calls: RegistryCall[] = [];
  let clock = 1_767_225_600; // 2026-01-01, then one second per push

  const answer = (operation: string, body: Record<string, unknown>) => {
    const name = String(body.repositoryName ?? (body.repositoryNames as string[] | undefined)?.[0]);
    const images = repositories.get(name);
    if (images === undefined) {
      return error(
        "RepositoryNotFoundException",
        `The repository with name '${name}' does not exist in the registry with id '${TEST_ACCOUNT}'`,
      );
    }
    if (operation === "DescribeImages") {
      // Only the images asked for, by tag or digest; ECR refuses an ID that matches none.
      const ids = body.imageIds as { imageTag?: string; imageDigest?: string }[] | undefined;
      const matches = (image: Image) =>
        ids === undefined ||
        ids.some(
          (id) =>
            (id.imageTag === undefined || image.tags.includes(id.imageTag)) &&
            (id.imageDigest === undefined || image.digest === id.imageDigest),
        );
      const found = images.filter(matches);
      if (ids !== undefined && found.length === 0) {
        return error(
          "ImageNotFoundException",
          `The image with imageId ${JSON.stringify(ids[0])} does not exist within the repository with name '${name}'`,
        );
      }
      return {
        status: 200,
        body: {
          imageDetails: found.map((image) => ({
            registryId: TEST_ACCOUNT,
            repositoryName: name,
            imageDigest: image.digest,
            imageTags: image.tags,
            imageSizeInBytes: 104_857_600,
            imagePushedAt: image.pushedAt,
            imageManifestMediaType: "application/vnd.docker.distribution.manifest.v2+json",
          })),
        },
      };
    }
    if (operation === "DescribeRepositories") {
      return {
        status: 200,
        body: {
          repositories: [
            {
              registryId: TEST_ACCOUNT,
              repositoryName: name,
              repositoryArn: `arn:aws:ecr:${region}:${TEST_ACCOUNT}:repository/${name}`,
              repositoryUri: `${TEST_ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${name}`,
              imageTagMutability: "IMMUTABLE",
              createdAt: 1_767_225_600,
            },
          ],
        },
      };
    }
    return error("UnknownOperationException", `the fake ECR does not answer ${operation}`);
  };

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const target = String(request.headers["x-amz-target"] ?? "");
      const operation = target.startsWith(TARGET_PREFIX)
        ? target.slice(TARGET_PREFIX.length)
        : target;
      const text = Buffer.concat(chunks).toString("utf8");
      const body = (text === "" ? {} : JSON.parse(text)) as Record<string, unknown>;
      calls.push({ operation, body });
      const { status, body: reply } = answer(operation, body);
      response.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
      response.end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    push(repository, digest, tags = []) {
      clock += 1;
      const images = repositories.get(repository) ?? [];
      images.push({ digest, tags, pushedAt: clock });
      repositories.set(repository, images);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
