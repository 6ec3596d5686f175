/**
 * The environment the container image's runtime stage sets (its ENV instructions), so the
 * benchmark runs the engine with the settings that ship rather than a copy of them that could
 * drift. Parsed with dockerfile-ast, the parser behind VS Code's Dockerfile support.
 */
import { DockerfileParser } from "dockerfile-ast";

export function runtimeEnv(dockerfile: string): Record<string, string> {
  const parsed = DockerfileParser.parse(dockerfile);
  const runtimeFrom = parsed.getFROMs().at(-1)?.getRange().start.line ?? 0;
  const env: Record<string, string> = {};
  for (const instruction of parsed.getENVs()) {
    if (instruction.getRange().start.line < runtimeFrom) continue;
    for (const property of instruction.getProperties()) {
      const value = property.getValue() ?? "";
      if (value.includes("$")) {
        throw new Error(
          `Dockerfile: ENV ${property.getName()}=${value}: the bench reads literal values only`,
        );
      }
      env[property.getName()] = value;
    }
  }
  return env;
}
