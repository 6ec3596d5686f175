#!/usr/bin/env node
// Prints one value from a `cdktf deploy --outputs-file` JSON file ({ stack: { output: value } }).
//   node ops/stack-output.js FILE name[,other-name...]
// Names match loosely (case, "-" and "_" ignored: "source-bucket" matches "sourceBucket"); the
// first name found (in any stack, at any depth) wins. Exits 1, printing nothing, when none is there.
const { readFileSync } = require("node:fs");

const [file, names] = process.argv.slice(2);
if (!file || !names) {
  console.error("usage: stack-output.js FILE name[,other-name...]");
  process.exit(2);
}
const loose = (name) => name.toLowerCase().replace(/[-_]/g, "");
const root = JSON.parse(readFileSync(file, "utf8"));

// Outputs by construct id, nested under the stack (and under any construct that holds them).
function find(tree, wanted) {
  for (const [name, value] of Object.entries(tree)) {
    if (typeof value === "string" && value !== "" && loose(name) === wanted) return value;
    if (value !== null && typeof value === "object") {
      const found = find(value, wanted);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

for (const wanted of names.split(",").map(loose)) {
  const value = find(root, wanted);
  if (value !== undefined) {
    process.stdout.write(value);
    process.exit(0);
  }
}
process.exit(1);
