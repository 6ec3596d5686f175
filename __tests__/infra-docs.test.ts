import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SETTINGS, STACK_HANDLER_SETTINGS } from "../stacks/config";

describe("docs/deploy.md", () => {
  const guide = readFileSync(join(__dirname, "..", "docs", "deploy.md"), "utf8");

  it.each([...Object.values(SETTINGS), ...STACK_HANDLER_SETTINGS].map((s) => [s.key, s.env]))(
    "documents setting %s and its variable %s in a table row",
    (key, env) => {
      expect(guide).toMatch(new RegExp(`^\\|\\s*\`${key}\`\\s*\\|\\s*\`${env}\`\\s*\\|`, "m"));
    },
  );
});
