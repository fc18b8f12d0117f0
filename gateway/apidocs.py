"""The human-readable API page at /api/v1/docs, rendered on the server from the OpenAPI document.

No script and no CDN: plain HTML plus one stylesheet of ours, so the page lives under the same strict CSP.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

CSS = """body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem}h2{margin-top:2.5rem;border-bottom:1px solid #ccc}
code,pre{font:13px ui-monospace,monospace}
pre{background:#f5f5f5;padding:.6rem;overflow:auto}.m{display:inline-block;min-width:3.5rem;font-weight:bold}
.get{color:#1a6b2f}.post{color:#8a4b00}table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:.2rem .5rem}
"""


def _schema(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    return f"<code>{escape(json.dumps(schema, ensure_ascii=False))}</code>"


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    out = [
        f'<h3><span class="m {method}">{method.upper()}</span> <code>{escape(path)}</code></h3>',
        f"<p>{escape(op.get('summary', ''))}</p>",
    ]
    if op.get("parameters"):
        out.append(
            "<table><tr><th>paramètre</th><th>où</th><th>requis</th><th>schéma</th><th>description</th></tr>"
        )
        for p in op["parameters"]:
            out.append(
                f"<tr><td><code>{escape(p['name'])}</code></td><td>{p['in']}</td>"
                f"<td>{'oui' if p.get('required') else 'non'}</td><td>{_schema(p['schema'])}</td>"
                f"<td>{escape(p.get('description', ''))}</td></tr>"
            )
        out.append("</table>")
    if "requestBody" in op:
        bodies = ", ".join(
            f"<code>{escape(m)}</code> {_schema(c['schema'])}"
            for m, c in op["requestBody"]["content"].items()
        )
        out.append(f"<p>Corps : {bodies}</p>")
    out.append("<table><tr><th>statut</th><th>réponse</th></tr>")
    for status, resp in op["responses"].items():
        out.append(f"<tr><td>{escape(status)}</td><td>{escape(resp['description'])}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


def render(spec: dict[str, Any]) -> str:
    """The whole page."""
    info = spec["info"]
    parts = [
        "<!doctype html>",
        '<html lang="fr"><head><meta charset="utf-8">',
        f"<title>{escape(info['title'])} — API</title>",
        '<link rel="stylesheet" href="/api/v1/docs.css"></head><body>',
        f"<h1>{escape(info['title'])} — API v{escape(info['version'])}</h1>",
        f"<p>{escape(info['description'])}</p>",
        '<p>Document OpenAPI 3.1 : <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>',
    ]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            parts.append(_operation(path, method, op))
    parts.append("<h2>Schémas</h2>")
    for name, schema in spec["components"]["schemas"].items():
        parts.append(
            f'<h3 id="schema-{escape(name)}">{escape(name)}</h3>'
            f"<p>{escape(schema.get('description', ''))}</p>"
            f"<pre>{escape(json.dumps(schema, ensure_ascii=False, indent=2))}</pre>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)
