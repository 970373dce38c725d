// Validate glTF/GLB files with the Khronos glTF-Validator (npm package gltf-validator).
// Usage: node gltf_validate.js <path to the gltf-validator package> <file>...
// Prints one JSON array: per file, the validator's issue counts and its messages.
"use strict";
const fs = require("fs");
const path = require("path");
const validator = require(process.argv[2]);

async function main() {
  const out = [];
  for (const file of process.argv.slice(3)) {
    const report = await validator.validateBytes(new Uint8Array(fs.readFileSync(file)), {
      uri: path.basename(file),
      maxIssues: 0,
      externalResourceFunction: () => Promise.reject(new Error("external resources are not read")),
    });
    out.push({
      file,
      numErrors: report.issues.numErrors,
      numWarnings: report.issues.numWarnings,
      messages: report.issues.messages,
    });
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + "\n");
  process.exit(1);
});
