import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashImageInputs } from "../stacks/image-inputs";

describe("hashImageInputs", () => {
  let root: string;
  const write = (path: string, text: string) => {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "thumbnailer-inputs-"));
    write("Dockerfile", "FROM scratch\n");
    write("package-lock.json", "{}\n");
    write("handler/index.ts", "export const handler = 1;\n");
    write("handler/engine/index.ts", "export {};\n");
    write("stacks/lambda-stack.ts", "// infrastructure\n");
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("is a stable sha256 of the same inputs", () => {
    expect(hashImageInputs(root)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashImageInputs(root)).toBe(hashImageInputs(root));
  });

  it.each(["Dockerfile", "package-lock.json", "handler/engine/index.ts"])(
    "changes when %s changes",
    (path) => {
      const before = hashImageInputs(root);
      write(path, "changed\n");
      expect(hashImageInputs(root)).not.toBe(before);
    },
  );

  it("changes when a handler file is added or renamed", () => {
    const before = hashImageInputs(root);
    write("handler/new.ts", "export {};\n");
    const added = hashImageInputs(root);
    rmSync(join(root, "handler/new.ts"));
    write("handler/renamed.ts", "export {};\n");
    expect(added).not.toBe(before);
    expect(hashImageInputs(root)).not.toBe(added);
  });

  it("ignores files that are not in the image", () => {
    const before = hashImageInputs(root);
    write("stacks/lambda-stack.ts", "// changed infrastructure\n");
    write("README.md", "docs\n");
    expect(hashImageInputs(root)).toBe(before);
  });
});
