// Writes gzip siblings (`x.mjs.gz`) of the large pinned MapLibre and Swagger UI files after `npm ci`, which the
// gateway's static handler (aiohttp FileResponse) serves by itself to browsers that accept gzip: 1.7 MB → 0.45 MB
// on a cold load of the map, 1.9 MB → 0.49 MB for the API reference.
// Only files under node_modules/ are compressed: they change with the lock file alone, so a sibling can never be
// staler than its original (npm ci wipes node_modules before reinstalling).

import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { constants, gzipSync } from "node:zlib";

const modules = join(dirname(fileURLToPath(import.meta.url)), "..", "node_modules");
const files = [
  ...["maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css"].map((n) => join("maplibre-gl", "dist", n)),
  ...["swagger-ui-bundle.js", "swagger-ui.css"].map((n) => join("swagger-ui-dist", n)),
];
for (const name of files) {
  const source = join(modules, name);
  const raw = readFileSync(source);
  const packed = gzipSync(raw, { level: constants.Z_BEST_COMPRESSION });
  writeFileSync(`${source}.gz`, packed);
  console.log(`precompress: ${name} ${raw.length} → ${packed.length} bytes`);
}
