// Fails when src/api/schema.d.ts no longer matches docs/openapi.json, so the UI can't drift
// from the API: regenerate with `npm run gen-types` and commit the result.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = mkdtempSync(join(tmpdir(), "cloudenv-types-"));
const fresh = join(dir, "schema.d.ts");
try {
  execFileSync(
    "npx",
    ["--no-install", "openapi-typescript", "../docs/openapi.json", "-o", fresh],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  if (readFileSync(fresh, "utf8") !== readFileSync("src/api/schema.d.ts", "utf8")) {
    console.error(
      "frontend/src/api/schema.d.ts is stale: run 'npm run gen-types' in frontend/ and commit it.",
    );
    process.exit(1);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
