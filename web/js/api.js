// The gateway's public API (/api/v1/…), with its problem+json errors turned into ApiError and its rate limit
// (429 + Retry-After) honoured by waiting instead of failing.

const BASE = "/api/v1";
const MAX_RETRIES = 3;
const MAX_WAIT_S = 5;

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `Erreur ${status}`);
    this.status = status;
    this.code = problem?.code || "http_error";
    this.title = problem?.title || "Erreur";
    this.problem = problem || {};
  }
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); reject(signal.reason); }, { once: true });
  });
}

async function problemOf(response) {
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try { return await response.json(); } catch { /* not JSON after all */ }
  }
  return { code: "http_error", title: `Erreur ${response.status}`, detail: response.statusText };
}

/** fetch with retries on 429 and problem+json errors; returns the Response (ok). */
async function send(path, init = {}) {
  for (let attempt = 0; ; attempt += 1) {
    let response;
    try {
      response = await fetch(BASE + path, init);
    } catch (err) {
      if (err?.name === "AbortError") throw err;
      throw new ApiError(0, { code: "network", title: "Réseau indisponible",
        detail: "Le service ne répond pas : vérifiez votre connexion puis réessayez." });
    }
    if (response.status === 429 && attempt < MAX_RETRIES) {
      const wait = Math.min(Number(response.headers.get("Retry-After")) || 1, MAX_WAIT_S);
      await sleep(wait * 1000, init.signal);
      continue;
    }
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    return response;
  }
}

async function getJson(path, signal) {
  return (await send(path, { signal, headers: { Accept: "application/json" } })).json();
}

function selectionQuery(codes, extra = {}) {
  const params = new URLSearchParams({ communes: codes.join(",") });
  for (const [key, value] of Object.entries(extra)) if (value) params.set(key, value);
  return params.toString();
}

/** Data version, loaded sources with their vintages, demo flag and limits: what the page shows before any selection. */
export function meta(signal) {
  return getJson("/meta", signal);
}

export function searchCommunes(q, limit, signal) {
  return getJson(`/communes?${new URLSearchParams({ q, limit: String(limit) })}`, signal);
}

export function commune(code, signal) {
  return getJson(`/communes/${encodeURIComponent(code)}`, signal);
}

export function summary(codes, signal) {
  return getJson(`/territory/summary?${selectionQuery(codes)}`, signal);
}

export function diagnosis(codes, ald, signal) {
  return getJson(`/territory?${selectionQuery(codes, { ald: ald.join(",") })}`, signal);
}

function filenameOf(response, fallback) {
  const disposition = response.headers.get("Content-Disposition") || "";
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition);
  if (star) return decodeURIComponent(star[1]);
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition);
  return plain ? plain[1] : fallback;
}

/**
 * POST a selection to a download endpoint and read the body, reporting progress (bytes received, total when
 * the server sends Content-Length). Returns { blob, filename }.
 */
export async function download(endpoint, payload, { fallbackName, onProgress, signal } = {}) {
  const response = await send(`/${endpoint}`, {
    method: "POST", signal, body: JSON.stringify(payload), headers: { "Content-Type": "application/json" },
  });
  const total = Number(response.headers.get("Content-Length")) || 0;
  const type = response.headers.get("Content-Type") || "application/octet-stream";
  const chunks = [];
  let received = 0;
  if (response.body?.getReader) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      received += value.length;
      onProgress?.(received, total);
    }
  } else {
    chunks.push(new Uint8Array(await response.arrayBuffer()));
  }
  return { blob: new Blob(chunks, { type }), filename: filenameOf(response, fallbackName) };
}

/** Send a project file as it is; the report service validates it and returns the selection. */
export async function importProject(file, signal) {
  const response = await send("/project/import", {
    method: "POST", signal, body: file, headers: { "Content-Type": "text/plain; charset=utf-8" },
  });
  return response.json();
}
