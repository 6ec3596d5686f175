/**
 * The image-input hash: it changes when what the container image is built from changes, and only
 * then. Integration: real esbuild (its metafile) over a small project laid out like this one,
 * with this repository's Dockerfile, .dockerignore, tsconfig.json and bundle script.
 */
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import ts from "typescript";
import { SERVE_SETTINGS } from "../cli/serve/settings";
import { HANDLER_SETTINGS, type Setting } from "../cli/settings";
import { bundleInputs } from "../stacks/bundle";
import { hashImageInputs, imageInputs } from "../stacks/image-inputs";

const ROOT = join(__dirname, "..");

describe("hashImageInputs", () => {
  let root: string;
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "thumbnailer-inputs-"));
    for (const file of ["Dockerfile", ".dockerignore", "tsconfig.json", "scripts/bundle.js"]) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      copyFileSync(join(ROOT, file), join(root, file));
    }
    write("package.json", '{ "name": "fixture" }\n');
    write("package-lock.json", "{}\n");
    write("handler/index.ts", 'export { handler } from "./engine";\n');
    write("handler/engine/index.ts", "export const handler = () => 1;\n");
    // Laptop-only code, including a file in handler/ that the bundle does not import.
    write("handler/laptop-only.ts", "export const onlyLocal = 1;\n");
    write("cli/reconcile.ts", 'export { handler } from "../handler/engine";\n');
    write("cli/index.ts", 'export { onlyLocal } from "../handler/laptop-only";\n');
    write("__tests__/handler.test.ts", "// a test\n");
    write("docs/handler.md", "# docs\n");
    write("README.md", "# readme\n");
    write("stacks/lambda-stack.ts", "// infrastructure\n");
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("is a stable sha256 of the same inputs", () => {
    expect(hashImageInputs(root)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashImageInputs(root)).toBe(hashImageInputs(root));
  });

  it.each([
    ["Dockerfile", "FROM scratch\n"],
    [".dockerignore", "*\n"],
    ["package.json", '{ "name": "fixture", "version": "2.0.0" }\n'],
    ["package-lock.json", '{ "lockfileVersion": 3 }\n'],
    ["tsconfig.json", '{ "compilerOptions": { "strict": true } }\n'],
    [
      "scripts/bundle.js",
      "module.exports = { BUNDLE_OPTIONS: { entryPoints: ['handler/index.ts'] } };\n",
    ],
    ["handler/index.ts", 'export { handler } from "./engine"; // changed\n'],
    ["handler/engine/index.ts", "export const handler = () => 2;\n"],
  ])("changes when %s changes", (path, text) => {
    const before = hashImageInputs(root);
    write(path, text);
    expect(hashImageInputs(root)).not.toBe(before);
  });

  it("changes when the bundle starts importing another file", () => {
    const before = hashImageInputs(root);
    write("handler/engine/index.ts", 'export { handler } from "./thumbnail";\n');
    write("handler/engine/thumbnail.ts", "export const handler = () => 1;\n");
    expect(hashImageInputs(root)).not.toBe(before);
  });

  it.each([
    "handler/laptop-only.ts",
    "cli/reconcile.ts",
    "cli/index.ts",
    "__tests__/handler.test.ts",
    "docs/handler.md",
    "README.md",
    "stacks/lambda-stack.ts",
    // the rollout program the deploy runs: it builds the image, it is not in it
    "scripts/build-and-roll-out.sh",
  ])("does not change when %s (not in the image) changes", (path) => {
    const before = hashImageInputs(root);
    write(path, "// changed\n");
    write(`${dirname(path)}/added-beside.ts`, "// a new laptop-only file\n");
    expect(hashImageInputs(root)).toBe(before);
  });
});

describe("handler/ (this repository)", () => {
  it("holds only what the image-input hash covers: the bundle's inputs and files the Dockerfile COPYs (and type declarations)", () => {
    const inputs = new Set([...bundleInputs(ROOT), ...imageInputs(ROOT)]);
    const files = readdirSync(join(ROOT, "handler"), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && !entry.name.endsWith(".d.ts"))
      .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)).split(sep).join("/"));

    expect(files.length).toBeGreaterThan(10);
    expect(files.filter((file) => !inputs.has(file))).toEqual([]);
  });
});

describe("the image inputs (this repository)", () => {
  // A help-text or flag edit must not rebuild and redeploy the Lambda: the CLI's words live
  // under cli/, which the image is not built from.
  const inputs = imageInputs(ROOT).map((file) => ({
    file,
    text: readFileSync(join(ROOT, file), "utf8"),
  }));
  const rows: Setting<unknown>[] = [
    ...Object.values(HANDLER_SETTINGS),
    ...Object.values(SERVE_SETTINGS),
  ];
  const helpTexts = rows.flatMap((row) => [row.doc, row.shownDefault ?? []].flat());
  const flags = rows.flatMap((row) => (row.flag ? [`--${row.flag.name}`] : []));

  it("include nothing under cli/", () => {
    expect(inputs.filter(({ file }) => file.startsWith("cli/"))).toEqual([]);
  });

  it("include no setting's help text", () => {
    expect(helpTexts.length).toBeGreaterThan(10);
    const found = inputs.flatMap(({ file, text }) =>
      helpTexts.filter((help) => text.includes(help)).map((help) => `${file}: ${help}`),
    );
    expect(found).toEqual([]);
  });

  it("spell no flag in their code", () => {
    expect(flags.length).toBeGreaterThan(10);
    const found = inputs
      .filter(({ file }) => file.endsWith(".ts"))
      .flatMap(({ file, text }) =>
        stringLiterals(text).flatMap((literal) =>
          flags.filter((flag) => literal.includes(flag)).map((flag) => `${file}: ${flag}`),
        ),
      );
    expect(found).toEqual([]);
  });
});

/** The text of the string and template literals of TypeScript source (comments are not code). */
function stringLiterals(source: string): string[] {
  const literals: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) literals.push(node.text);
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile("input.ts", source, ts.ScriptTarget.Latest, true));
  return literals;
}
