// Validates an OpenAPI document with @seriousme/openapi-schema-validator (the
// official OpenAPI 3.0/3.1 JSON schemas, with $ref resolution).
// Usage: node openapi_validate.mjs MODULES_DIR DOCUMENT.json
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modulesDir, documentPath] = process.argv.slice(2);
const entry = path.join(modulesDir, "node_modules", "@seriousme", "openapi-schema-validator", "index.js");
const { Validator } = await import(pathToFileURL(entry).href);
const validator = new Validator();
const result = await validator.validate(documentPath);
console.log(JSON.stringify({ version: validator.version, ...result }, null, 1));
process.exit(result.valid ? 0 : 1);
