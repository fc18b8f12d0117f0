// Glyph PBFs (SDF, 256 code points a file) of the map style's label fonts, written after `npm ci` from the fonts
// the repository bundles (services/report/fonts): what MapLibre GL JS < 5.11 and MapLibre Native need to draw any
// label, served by the tiles service at /tiles/glyphs/{fontstack}/{range}.pbf. fontnik (FreeType, Mapbox's own
// SDF generator) is a dev dependency: where it is absent (`npm ci --omit=dev`) nothing is written and the
// build that needs glyphs (deploy/Dockerfile) runs this with it installed.
//
// Output: web/glyphs/<font name>/<start>-<end>.pbf for the 256 ranges of the Basic Multilingual Plane (an
// empty range is a valid, tiny PBF: a client asking for it must not get a 404) and web/glyphs/fonts.json, the
// font names and a digest of their sources, which the tiles service puts in the glyphs URL (immutable cache).

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { constants, gzipSync } from "node:zlib";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const sources = join(web, "..", "services", "report", "fonts");
// One home for the label fonts: services/tiles/style.py reads the names back from fonts.json.
const FONTS = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"];

let fontnik;
try {
  fontnik = createRequire(import.meta.url)("fontnik");
} catch {
  console.log("glyphs: fontnik not installed (npm ci --omit=dev): no glyph PBFs written");
  process.exit(0);
}
const { version: fontnikVersion } = createRequire(import.meta.url)("fontnik/package.json");
const load = promisify(fontnik.load);
const range = promisify(fontnik.range);

const started = Date.now();
const out = join(web, "glyphs");
const staging = `${out}.tmp`;
rmSync(staging, { recursive: true, force: true });
const digest = createHash("sha256");
const fonts = [];
let bytes = 0;
for (const file of FONTS) {
  const font = readFileSync(join(sources, file));
  digest.update(font);
  const [face] = await load(font);
  const name = `${face.family_name} ${face.style_name}`;
  mkdirSync(join(staging, name), { recursive: true });
  for (let start = 0; start < 65536; start += 256) {
    const pbf = await range({ font, start, end: start + 255 });
    const file = join(staging, name, `${start}-${start + 255}.pbf`);
    writeFileSync(file, pbf);
    // The sibling aiohttp's FileResponse sends to clients that accept gzip (SDF bitmaps halve).
    writeFileSync(`${file}.gz`, gzipSync(pbf, { level: constants.Z_BEST_COMPRESSION }));
    bytes += pbf.length;
  }
  fonts.push(name);
}
const version = digest.update(`fontnik ${fontnikVersion}`).digest("hex").slice(0, 12);
writeFileSync(join(staging, "fonts.json"), `${JSON.stringify({ version, fonts }, null, 2)}\n`);
rmSync(out, { recursive: true, force: true });
renameSync(staging, out);
console.log(`glyphs: ${fonts.join(", ")} → ${bytes} bytes in ${((Date.now() - started) / 1000).toFixed(1)} s (${version})`);
