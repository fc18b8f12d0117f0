// The map: our own style and tiles only (no basemap from elsewhere). Selection drawn with feature-state on the
// `communes` layer (feature id = commune id), commune name on hover, click to add or remove, zoom to the
// selection, FINESS structures with per-group toggles and a popup, existing CPTS perimeters.

import * as maplibregl from "../node_modules/maplibre-gl/dist/maplibre-gl.mjs";
import { h } from "./dom.js";
import { PERIMETER_COLOURS } from "./perimeters.js";

const FRANCE = [[-5.3, 41.2], [9.7, 51.2]];
const COMMUNES_MIN_ZOOM = 8; // the tiles carry commune polygons from z8 (docs/tiles.md)
const SELECTED = PERIMETER_COLOURS.selection;

function firstLayerOf(style, sourceLayer) {
  return style.layers.find((l) => l["source-layer"] === sourceLayer);
}

export class RezoneMap {
  /**
   * `onCommuneClick({code, nom, departement, featureId})` toggles a commune; `onStatus(text)` reports hints;
   * `onMove(view)` receives {zoom, center} after each move (shareable URL).
   */
  constructor(container, { view, onCommuneClick, onStatus, onMove, onReady }) {
    this.container = container;
    this.onCommuneClick = onCommuneClick;
    this.onStatus = onStatus;
    this.onMove = onMove;
    this.onReady = onReady;
    this.ids = new Map(); // code -> feature id, learnt from the tiles
    this.selected = new Map(); // feature id -> code currently drawn as selected
    this.wanted = new Set(); // codes of the selection
    this.reference = new Set(); // codes of the kept perimeter A of a comparison (compare.js)
    this.referenced = new Map(); // feature id -> code currently drawn as reference
    this.points = { type: "FeatureCollection", features: [] };
    this.hoverId = null;
    this.ready = false;
    this.groups = []; // FINESS groups (ref.finess_groups) from the style's metadata, in legend order
    this.finessGroups = new Set();
    this.showCpts = true;
    container.dataset.state = "loading";
    this.map = new maplibregl.Map({
      container,
      style: "/styles/rezone.json",
      bounds: view ? undefined : FRANCE,
      center: view?.center,
      zoom: view?.zoom,
      minZoom: 3,
      maxZoom: 15,
      attributionControl: { compact: true },
      dragRotate: false,
      pitchWithRotate: false,
      cooperativeGestures: false,
      locale: {
        "NavigationControl.ZoomIn": "Zoomer",
        "NavigationControl.ZoomOut": "Dézoomer",
        "NavigationControl.ResetBearing": "Réorienter vers le nord",
        "ScaleControl.Meters": "m",
        "ScaleControl.Kilometers": "km",
        "AttributionControl.ToggleAttribution": "Afficher les sources",
      },
    });
    this.map.touchZoomRotate.disableRotation();
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    this.map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
    this.hoverPopup = new maplibregl.Popup({ closeButton: false, closeOnClick: false, className: "hover-popup", offset: 12 });
    this.map.on("load", () => this.setup());
    this.map.on("idle", () => {
      this.resolveIds();
      container.dataset.state = "idle";
    });
    this.map.on("movestart", () => { container.dataset.state = "moving"; });
    this.map.on("moveend", () => {
      const c = this.map.getCenter();
      this.onMove?.({ zoom: this.map.getZoom(), center: [c.lng, c.lat] });
    });
    this.map.on("error", (e) => {
      const message = e?.error?.message || "erreur de chargement";
      // A missing tile is normal at the edges of the data; only a style failure leaves the map unusable.
      if (!this.ready) {
        container.dataset.state = "error";
        this.onStatus?.(`La carte n'a pas pu être chargée : ${message}`, "error");
      }
    });
  }

  setup() {
    const style = this.map.getStyle();
    const layerOf = (sourceLayer, type) => style.layers.find((l) => l["source-layer"] === sourceLayer && l.type === type);
    const beforeLabels = style.layers.find((l) => l.type === "symbol")?.id;
    // The style's own commune fill carries the selected/hover feature-state paint (docs/tiles.md); a style
    // without one gets ours, so the page works with any style that has the `communes` layer.
    const fillLayer = layerOf("communes", "fill");
    this.source = fillLayer?.source || style.layers.find((l) => l["source-layer"] === "communes")?.source;
    if (!this.source) {
      this.map.addSource("rz-admin", { type: "vector", url: "/tiles/admin.json" });
      this.source = "rz-admin";
    }
    this.fillLayer = fillLayer?.id || "rz-communes-fill";
    if (!fillLayer) {
      this.map.addLayer({
        id: "rz-communes-fill", type: "fill", source: this.source, "source-layer": "communes", minzoom: COMMUNES_MIN_ZOOM,
        paint: {
          "fill-color": SELECTED,
          "fill-opacity": ["case", ["boolean", ["feature-state", "selected"], false], 0.45,
            ["boolean", ["feature-state", "hover"], false], 0.15, 0],
        },
      }, beforeLabels);
    }
    this.map.addLayer({
      id: "rz-communes-selected", type: "line", source: this.source, "source-layer": "communes", minzoom: COMMUNES_MIN_ZOOM,
      paint: {
        "line-color": SELECTED,
        "line-width": ["case", ["boolean", ["feature-state", "selected"], false], 2.2,
          ["boolean", ["feature-state", "hover"], false], 1.2, 0],
      },
    }, beforeLabels);
    // Perimeter A of a comparison: a dashed outline of its own colour, so that it reads without colour too.
    this.map.addLayer({
      id: "rz-communes-reference", type: "line", source: this.source, "source-layer": "communes", minzoom: COMMUNES_MIN_ZOOM,
      paint: {
        "line-color": PERIMETER_COLOURS.reference,
        "line-width": ["case", ["boolean", ["feature-state", "reference"], false], 3, 0],
        "line-dasharray": [2, 1],
      },
    }, beforeLabels);
    if (!layerOf("cpts", "line")) {
      this.map.addLayer({
        id: "rz-cpts", type: "line", source: this.source, "source-layer": "cpts",
        paint: { "line-color": "#6a3d9a", "line-width": 1.6, "line-dasharray": [3, 2] },
      }, beforeLabels);
    }
    this.cptsLayers = this.map.getStyle().layers.filter((l) => l["source-layer"] === "cpts").map((l) => l.id);
    this.setupFiness(style, layerOf);
    this.map.addSource("rz-selection", { type: "geojson", data: this.points });
    this.map.addLayer({
      id: "rz-selection-points", type: "circle", source: "rz-selection", maxzoom: COMMUNES_MIN_ZOOM,
      paint: { "circle-radius": 6.5, "circle-color": SELECTED, "circle-stroke-color": "#ffffff", "circle-stroke-width": 2.5 },
    });
    this.bindPointer();
    this.ready = true;
    this.applySelection();
    this.setFiness(this.finessGroups, this.showCpts);
    this.onReady?.(this.groups);
  }

  /** FINESS layers of the style if it has them (their colours feed the legend), ours otherwise. */
  setupFiness(style, layerOf) {
    const points = layerOf("finess", "circle");
    const clusters = layerOf("finess_clusters", "circle");
    this.finessSource = points?.source || clusters?.source;
    if (!this.finessSource) {
      this.map.addSource("rz-finess", { type: "vector", url: "/tiles/finess.json" });
      this.finessSource = "rz-finess";
    }
    // The groups of ref.finess_groups, as our style carries them; each with the colour the points are drawn in.
    const colour = points?.paint?.["circle-color"];
    const drawn = new Map();
    if (Array.isArray(colour) && colour[0] === "match") {
      for (let i = 2; i + 1 < colour.length; i += 2) drawn.set(colour[i], colour[i + 1]);
    }
    this.groups = (style.metadata?.["rezone:finess_groups"] ?? [])
      .map((g) => ({ ...g, colour: drawn.get(g.key) ?? g.colour }));
    this.pointsLayer = points?.id || "rz-finess-points";
    // Clusters are context, not the subject: lighter, so that the selection stands out above them.
    if (clusters) this.map.setPaintProperty(clusters.id, "circle-opacity", 0.45);
    this.clustersLayer = clusters?.id || "rz-finess-clusters";
    if (!clusters) {
      this.map.addLayer({
        id: "rz-finess-clusters", type: "circle", source: this.finessSource, "source-layer": "finess_clusters",
        paint: { "circle-color": "#37474f", "circle-opacity": 0.6, "circle-stroke-color": "#ffffff", "circle-stroke-width": 1 },
      });
    }
    if (!points) {
      this.map.addLayer({
        id: "rz-finess-points", type: "circle", source: this.finessSource, "source-layer": "finess",
        paint: {
          "circle-color": "#555555", // a style without FINESS layers carries no palette (ref.finess_groups)
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 9, 3.5, 14, 7],
          "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.2,
        },
      });
    }
  }

  /** Show only the enabled FINESS groups (points by filter, clusters sized by the enabled counts). */
  setFiness(enabled, showCpts) {
    this.finessGroups = new Set(enabled);
    this.showCpts = showCpts;
    if (!this.ready) return;
    const keys = [...this.finessGroups];
    this.map.setFilter(this.pointsLayer, ["in", ["get", "groupe"], ["literal", keys]]);
    // Clusters carry one count per group (n_<groupe>): their size follows the enabled groups only.
    const total = ["+", 0, 0, ...keys.map((k) => ["coalesce", ["get", `n_${k}`], 0])];
    this.map.setFilter(this.clustersLayer, [">", total, 0]);
    this.map.setPaintProperty(this.clustersLayer, "circle-radius",
      ["interpolate", ["linear"], ["sqrt", total], 1, 3, 10, 11, 40, 22]);
    for (const id of this.cptsLayers) this.map.setLayoutProperty(id, "visibility", showCpts ? "visible" : "none");
  }

  bindPointer() {
    const map = this.map;
    map.on("mousemove", this.fillLayer, (e) => {
      const f = e.features?.[0];
      if (!f) return;
      map.getCanvas().style.cursor = "pointer";
      if (this.hoverId !== f.id) {
        this.setHover(f.id);
        this.hovered = f.properties;
        this.hoverText();
      }
      this.hoverPopup.setLngLat(e.lngLat).addTo(map);
    });
    map.on("mouseleave", this.fillLayer, () => {
      map.getCanvas().style.cursor = "";
      this.setHover(null);
      this.hovered = null;
      this.hoverPopup.remove();
    });
    map.on("mouseenter", this.pointsLayer, () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("click", (e) => this.onClick(e));
  }

  hoverText() {
    const p = this.hovered;
    if (!p) return;
    const chosen = this.wanted.has(p.code);
    this.hoverPopup.setDOMContent(h("div", {},
      h("strong", {}, p.nom), ` (${p.departement})`,
      h("br"), h("span", { class: "hint" }, chosen ? "Cliquer pour retirer du projet" : "Cliquer pour ajouter au projet")));
  }

  setHover(id) {
    if (this.hoverId !== null) this.map.setFeatureState(this.featureRef(this.hoverId), { hover: false });
    this.hoverId = id ?? null;
    if (this.hoverId !== null) this.map.setFeatureState(this.featureRef(this.hoverId), { hover: true });
  }

  featureRef(id) {
    return { source: this.source, sourceLayer: "communes", id };
  }

  onClick(e) {
    const box = [[e.point.x - 4, e.point.y - 4], [e.point.x + 4, e.point.y + 4]];
    const poi = this.map.queryRenderedFeatures(box, { layers: [this.pointsLayer, this.clustersLayer] })[0];
    if (poi) {
      this.finessPopup(poi, e.lngLat);
      return;
    }
    const f = this.map.queryRenderedFeatures(e.point, { layers: [this.fillLayer] })[0];
    if (!f) {
      if (this.map.getZoom() < COMMUNES_MIN_ZOOM) {
        this.onStatus?.("Zoomez sur la carte pour sélectionner des communes.", "info");
        this.map.easeTo({ center: e.lngLat, zoom: Math.min(COMMUNES_MIN_ZOOM + 1, this.map.getZoom() + 2.5) });
      }
      return;
    }
    const p = f.properties;
    this.ids.set(p.code, f.id);
    this.onCommuneClick({ code: p.code, nom: p.nom, departement: { code: p.departement, nom: null }, featureId: f.id });
  }

  finessPopup(f, lngLat) {
    const p = f.properties;
    let content;
    if (f.layer.id === this.clustersLayer) {
      const lines = this.groups.filter((g) => this.finessGroups.has(g.key) && p[`n_${g.key}`])
        .map((g) => h("li", {}, `${p[`n_${g.key}`]} – ${g.label}`));
      content = h("div", { class: "finess-popup" }, h("strong", {}, "Structures de soins de ce secteur"),
        h("ul", {}, lines), h("p", { class: "hint" }, "Zoomez pour voir chaque établissement."));
    } else {
      const group = this.groups.find((g) => g.key === p.groupe);
      content = h("div", { class: "finess-popup" },
        h("strong", {}, p.nom || "Établissement (zoomez pour lire son nom)"),
        h("p", {}, p.categorie || group?.label || p.groupe),
        p.adresse ? h("p", {}, p.adresse) : null,
        p.finess ? h("p", { class: "hint" }, `FINESS ${p.finess}`) : null,
        p.approximatif ? h("p", { class: "hint" }, "Position approximative (centre de la commune).") : null);
    }
    new maplibregl.Popup({ className: "finess-popup-wrap", maxWidth: "280px" }).setLngLat(lngLat).setDOMContent(content).addTo(this.map);
  }

  /** The selection changed: draw it (feature-state by id; points at low zoom). */
  setSelection(entries) {
    this.wanted = new Set(entries.map((e) => e.code));
    for (const e of entries) if (e.featureId !== undefined) this.ids.set(e.code, e.featureId);
    this.points = {
      type: "FeatureCollection",
      features: entries.filter((e) => e.center).map((e) => ({
        type: "Feature", properties: { code: e.code, nom: e.nom }, geometry: { type: "Point", coordinates: e.center },
      })),
    };
    this.applySelection();
  }

  applySelection() {
    if (!this.ready) return;
    this.hoverText();
    for (const [id, code] of this.selected) {
      if (!this.wanted.has(code)) {
        this.map.setFeatureState(this.featureRef(id), { selected: false });
        this.selected.delete(id);
      }
    }
    for (const code of this.wanted) {
      const id = this.ids.get(code);
      if (id !== undefined && !this.selected.has(id)) {
        this.map.setFeatureState(this.featureRef(id), { selected: true });
        this.selected.set(id, code);
      }
    }
    this.map.getSource("rz-selection")?.setData(this.points);
    this.applyReference();
  }

  /** Perimeter A of a comparison (codes), drawn as a dashed outline; an empty list removes it. */
  setReference(codes) {
    this.reference = new Set(codes);
    this.applyReference();
  }

  applyReference() {
    if (!this.ready) return;
    for (const [id, code] of this.referenced) {
      if (!this.reference.has(code)) {
        this.map.setFeatureState(this.featureRef(id), { reference: false });
        this.referenced.delete(id);
      }
    }
    for (const code of this.reference) {
      const id = this.ids.get(code);
      if (id !== undefined && !this.referenced.has(id)) {
        this.map.setFeatureState(this.featureRef(id), { reference: true });
        this.referenced.set(id, code);
      }
    }
  }

  /** Codes added by search or restored from a URL have no feature id yet: read it from the loaded tiles. */
  resolveIds() {
    if (!this.ready) return;
    const missing = [...new Set([...this.wanted, ...this.reference])].filter((c) => !this.ids.has(c));
    if (!missing.length) return;
    const found = this.map.querySourceFeatures(this.source, {
      sourceLayer: "communes", filter: ["in", ["get", "code"], ["literal", missing]],
    });
    for (const f of found) this.ids.set(f.properties.code, f.id);
    if (found.length) this.applySelection();
  }

  /** Fit the view to the selection (bounding boxes from the API, else the points). */
  zoomTo(entries) {
    const bounds = new maplibregl.LngLatBounds();
    for (const e of entries) {
      if (e.bbox) bounds.extend([[e.bbox[0], e.bbox[1]], [e.bbox[2], e.bbox[3]]]);
      else if (e.center) bounds.extend(e.center);
    }
    if (bounds.isEmpty()) return false;
    this.map.fitBounds(bounds, { padding: { top: 72, bottom: 56, left: 56, right: 64 }, maxZoom: 11.5, duration: 600 });
    return true;
  }

  /** Bring the selection into view unless `entry` is already visible (adding by search must show the commune). */
  reveal(entry, entries) {
    if (!entry.center) return;
    if (this.map.getBounds().contains(entry.center) && this.map.getZoom() >= COMMUNES_MIN_ZOOM - 2) return;
    this.zoomTo(entries);
  }

  resize() {
    this.map.resize();
  }
}
