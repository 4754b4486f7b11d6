// src/schema.ts from the repository's openapi.json: `npm run generate` writes it (so does `make
// openapi`), test/schema.test.ts fails while the committed copy differs from what this renders.
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString, COMMENT_HEADER } from "openapi-typescript";

export const OPENAPI_URL = new URL("../../../openapi.json", import.meta.url);
export const SCHEMA_URL = new URL("../src/schema.ts", import.meta.url);

/** The TypeScript of an OpenAPI document, as openapi-typescript's CLI prints it. */
export async function renderSchema(openapi = OPENAPI_URL) {
  // A field with a default is optional in a request (`dry_run`, a schedule's `timezone`): the
  // default makes it optional to send, not certain to be present.
  const nodes = await openapiTS(openapi, { defaultNonNullable: false, silent: true });
  return `${COMMENT_HEADER}${astToString(nodes)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(SCHEMA_URL, await renderSchema());
  console.log(`wrote ${fileURLToPath(SCHEMA_URL)}`);
}
