// The pieces of a territory as the map should frame them: communes grouped by département, and départements
// whose extents touch or nearly touch merged (04 + 06 is one piece, 974 + 93 two). Largest piece first.

const NEAR_DEGREES = 0.5; // two départements closer than this (about 40 km) are framed together

function extentOf(entries) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  for (const e of entries) {
    const b = e.bbox || (e.center && [e.center[0], e.center[1], e.center[0], e.center[1]]);
    if (!b) continue;
    box[0] = Math.min(box[0], b[0]); box[1] = Math.min(box[1], b[1]);
    box[2] = Math.max(box[2], b[2]); box[3] = Math.max(box[3], b[3]);
  }
  return Number.isFinite(box[0]) ? box : null;
}

const near = (a, b) => a[0] - NEAR_DEGREES <= b[2] && b[0] - NEAR_DEGREES <= a[2]
  && a[1] - NEAR_DEGREES <= b[3] && b[1] - NEAR_DEGREES <= a[3];

/** `[{label, entries, box}]`, the piece with most communes first; entries without a position are left out. */
export function territoryParts(entries) {
  const byDep = new Map();
  for (const e of entries) {
    if (!e.bbox && !e.center) continue;
    const key = e.departement?.code || "?";
    if (!byDep.has(key)) byDep.set(key, { deps: [e.departement || { code: key }], entries: [] });
    byDep.get(key).entries.push(e);
  }
  let parts = [...byDep.values()].map((p) => ({ ...p, box: extentOf(p.entries) }));
  // Merge until no two pieces are near each other (a handful of départements: quadratic is fine).
  for (let merged = true; merged;) {
    merged = false;
    outer: for (let i = 0; i < parts.length; i += 1) {
      for (let j = i + 1; j < parts.length; j += 1) {
        if (!near(parts[i].box, parts[j].box)) continue;
        const entriesIJ = [...parts[i].entries, ...parts[j].entries];
        parts[i] = { deps: [...parts[i].deps, ...parts[j].deps], entries: entriesIJ, box: extentOf(entriesIJ) };
        parts.splice(j, 1);
        merged = true;
        break outer;
      }
    }
  }
  parts = parts.sort((a, b) => b.entries.length - a.entries.length
    || (b.box[2] - b.box[0]) * (b.box[3] - b.box[1]) - (a.box[2] - a.box[0]) * (a.box[3] - a.box[1]));
  return parts.map((p) => ({
    label: p.deps.map((d) => (d.nom ? `${d.nom} (${d.code})` : d.code)).join(", "),
    entries: p.entries,
    box: p.box,
  }));
}

/** The piece holding commune `code` (to bring a newly added commune into view with its neighbours). */
export function partOf(entries, code) {
  return territoryParts(entries).find((p) => p.entries.some((e) => e.code === code))?.entries || [];
}
