// The selection of communes: one ordered store that every view listens to ("change" events), the 100-commune
// limit, and the shareable URL that encodes it.

export const MAX_COMMUNES = 100;

// Same shape as the gateway's check (INSEE COG codes, Corsica 2A/2B, overseas 971–976).
const INSEE = /^(?:0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5])[0-9]{3}$|^97[1-6][0-9]{2}$/;

export function isCommuneCode(code) {
  return INSEE.test(code);
}

/** "Saint-Jeannet (04)": the name with the département code, the way homonyms are told apart everywhere. */
export function communeLabel(entry) {
  const dep = entry.departement?.code;
  return dep ? `${entry.nom} (${dep})` : entry.nom || entry.code;
}

export class Selection extends EventTarget {
  constructor(limit = MAX_COMMUNES) {
    super();
    this.limit = limit;
    this.items = new Map();
  }

  get codes() { return [...this.items.keys()]; }
  get size() { return this.items.size; }
  get full() { return this.items.size >= this.limit; }
  get entries() { return [...this.items.values()]; }
  has(code) { return this.items.has(code); }
  get(code) { return this.items.get(code); }

  emit(reason, codes = []) {
    this.dispatchEvent(new CustomEvent("change", { detail: { reason, codes } }));
  }

  /** Add a commune (`{code, nom?, departement?, …}`); returns "added", "present" or "limit". */
  add(entry) {
    if (this.items.has(entry.code)) return "present";
    if (this.full) return "limit";
    this.items.set(entry.code, { pending: !entry.nom, ...entry });
    this.emit("add", [entry.code]);
    return "added";
  }

  remove(code) {
    if (!this.items.delete(code)) return false;
    this.emit("remove", [code]);
    return true;
  }

  /** Map click: add when absent, remove when present. */
  toggle(entry) {
    return this.has(entry.code) ? (this.remove(entry.code), "removed") : this.add(entry);
  }

  clear() {
    const codes = this.codes;
    this.items.clear();
    this.emit("clear", codes);
  }

  /** Restore a whole selection (URL, imported project); entries beyond the limit are not kept. */
  replace(entries, reason = "restore") {
    this.items.clear();
    for (const entry of entries.slice(0, this.limit)) this.items.set(entry.code, { pending: !entry.nom, ...entry });
    this.emit(reason, this.codes);
  }

  /** Enrich an entry with what the API told us (name, département, position); no event if it left meanwhile. */
  update(code, patch) {
    const entry = this.items.get(code);
    if (!entry) return;
    Object.assign(entry, patch, { pending: false });
    this.emit("update", [code]);
  }
}

// Shareable URL: #c=04181,06122&m=11/44.0000/6.2000 (codes, then an optional map view zoom/lat/lon).
// The older ?communes= form is accepted on the way in.

export function readLocation(loc = window.location) {
  const hash = new URLSearchParams(loc.hash.replace(/^#/, ""));
  const query = new URLSearchParams(loc.search);
  const raw = hash.get("c") ?? query.get("communes") ?? "";
  const seen = new Set();
  const codes = [];
  const invalid = [];
  for (const piece of raw.split(",")) {
    const code = piece.trim().toUpperCase();
    if (!code || seen.has(code)) continue;
    seen.add(code);
    (isCommuneCode(code) ? codes : invalid).push(code);
  }
  let view = null;
  const m = /^(\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/.exec(hash.get("m") || "");
  if (m) view = { zoom: Number(m[1]), center: [Number(m[3]), Number(m[2])] };
  return { codes, invalid, view, name: hash.get("n") || "" };
}

export function shareUrl(codes, loc = window.location) {
  const base = `${loc.origin}${loc.pathname}`;
  return codes.length ? `${base}#c=${codes.join(",")}` : base;
}

/** Keep the address bar in step with the selection and the map view, without adding history entries. */
export function writeLocation(codes, view) {
  const parts = [];
  if (codes.length) parts.push(`c=${codes.join(",")}`);
  if (view) parts.push(`m=${view.zoom.toFixed(2)}/${view.center[1].toFixed(4)}/${view.center[0].toFixed(4)}`);
  const query = new URLSearchParams(window.location.search);
  query.delete("communes"); // the hash is the one source of truth once the page runs
  const search = query.toString();
  const url = `${window.location.pathname}${search ? "?" + search : ""}${parts.length ? "#" + parts.join("&") : ""}`;
  window.history.replaceState(null, "", url);
}
