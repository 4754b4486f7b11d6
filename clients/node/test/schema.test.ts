// src/schema.ts is what openapi-typescript makes of openapi.json today: regenerate with
// `npm run generate` (or `make openapi`) when this fails.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { it } from "node:test";

interface Generator {
  OPENAPI_URL: URL;
  SCHEMA_URL: URL;
  renderSchema(openapi?: URL | object): Promise<string>;
}

// The generator is the package's script (plain JavaScript, run by npm run generate); from
// build/test/ it is three levels up.
const generator = (await import(new URL("../../scripts/generate-schema.mjs", import.meta.url).href)) as Generator;

it("src/schema.ts is generated from the current openapi.json", async () => {
  const committed = await readFile(generator.SCHEMA_URL, "utf8");
  assert.ok(
    committed === (await generator.renderSchema()),
    "src/schema.ts is stale: run `npm run generate` in clients/node",
  );
});

it("a change to openapi.json changes what is generated", async () => {
  const openapi = JSON.parse(await readFile(generator.OPENAPI_URL, "utf8"));
  openapi.components.schemas.SendRequest.properties.priority = { type: "integer" };
  const rendered = await generator.renderSchema(openapi);
  assert.notEqual(rendered, await readFile(generator.SCHEMA_URL, "utf8"));
  assert.match(rendered, /priority\?: number;/);
});
