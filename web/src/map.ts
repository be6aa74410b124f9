// The map: an offline MapLibre style built from the staged basemap
// (served by the binary under /basemap/), twins drawn by type with live
// status colours, clustering for the point layers, and vehicle trails.
import * as maplibregl from 'maplibre-gl';
import type { GeoJSONSource, Map as MLMap, MapLayerMouseEvent } from 'maplibre-gl';
import { State, type Status, statusRank, esc, fmtNum } from './state';

export interface Group { key: string; label: string; types: string[]; ring: string; on: boolean }

export const groups: Group[] = [
  { key: 'slopes', label: 'Slopes', types: ['slope'], ring: '#b48cff', on: true },
  { key: 'rain', label: 'Rain gauges', types: ['rain-gauge'], ring: '#4fc3f7', on: true },
  { key: 'instruments', label: 'Slope instruments', types: ['piezometer', 'inclinometer', 'extensometer'], ring: '#ff9f43', on: true },
  { key: 'bridge', label: 'Tsing Ma Bridge', types: ['bridge', 'bridge-sensor'], ring: '#ffd166', on: true },
  { key: 'site', label: 'San Tin site', types: ['building-site'], ring: '#f78fb3', on: true },
  { key: 'fleet', label: 'Fleet and stops', types: ['vehicle', 'delivery-stop', 'depot', 'warehouse'], ring: '#e6edf3', on: true },
  { key: 'dc', label: 'Data centre', types: ['data-hall'], ring: '#a0e426', on: true },
];
const groupOfType = new Map<string, Group>();
for (const g of groups) for (const t of g.types) groupOfType.set(t, g);
export function groupOf(type: string): Group | undefined { return groupOfType.get(type); }

const sev: Record<Status, number> = { stale: 0, ok: 1, warn: 2, alarm: 3 };

function css(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function centroid(g: any): [number, number] | null {
  if (!g) return null;
  if (g.type === 'Point') return g.coordinates;
  let ring: number[][] | undefined;
  if (g.type === 'Polygon') ring = g.coordinates[0];
  else if (g.type === 'MultiPolygon') ring = g.coordinates[0][0];
  else if (g.type === 'LineString') ring = g.coordinates;
  if (!ring || ring.length === 0) return null;
  let x = 0, y = 0;
  for (const p of ring) { x += p[0]; y += p[1]; }
  return [x / ring.length, y / ring.length];
}

/** 5-minute rainfall (mm) to a size step: 0 dry, 1 light, 2 heavy (≥ 30 mm/h), 3 black (≥ 70 mm/h). */
export function rainBucket(mm5: number | undefined): number {
  const mmh = (mm5 || 0) * 12;
  return mmh >= 70 ? 3 : mmh >= 30 ? 2 : mmh >= 2 ? 1 : 0;
}

export class TwinMap {
  map: MLMap;
  private ready = false;
  private clusterMarkers = new Map<number, maplibregl.Marker>();
  private trails = new Map<string, number[][]>();
  private tip: HTMLElement;
  selected = '';
  fleetMode = false;
  onSelect: (id: string) => void = () => {};

  constructor(private el: HTMLElement, private st: State) {
    maplibregl.setWorkerUrl('/maplibre-gl-worker.js');
    this.tip = document.getElementById('maptip')!;
    this.map = new maplibregl.Map({
      container: el,
      style: this.style(),
      center: [114.12, 22.37], zoom: 10.2, minZoom: 8.5, maxZoom: 18,
      maxBounds: [[113.5, 21.9], [114.75, 22.85]],
      attributionControl: { compact: false, customAttribution: 'Source: DATA.GOV.HK / HAD, CEDD, HKO, Hongkong Post · © OpenStreetMap contributors' },
      dragRotate: false, pitchWithRotate: false, fadeDuration: 0,
    });
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
    this.map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
    this.map.on('load', () => { this.ready = true; this.installHandlers(); this.refresh(); });
    this.map.on('idle', () => this.updateClusterLabels());
    this.map.on('moveend', () => this.scheduleLabels());
    this.map.on('sourcedata', (e) => { if (e.sourceId === 'points' && e.isSourceLoaded) this.scheduleLabels(); });
  }

  private style(): maplibregl.StyleSpecification {
    const empty = { type: 'FeatureCollection', features: [] } as any;
    const gj = (data: any, extra: object = {}) => ({ type: 'geojson', data, ...extra }) as any;
    return {
      version: 8,
      sources: {
        mainland: gj('/basemap/mainland-context-land.osm.geojson'),
        land: gj('/basemap/hk-land.geojson'),
        districts: gj('/basemap/hk-districts.geojson'),
        rail: gj('/basemap/hk-rail-lines.osm2016.geojson'),
        polys: gj(empty), lines: gj(empty), slopepolys: gj(empty),
        points: gj(empty, { cluster: true, clusterRadius: 36, clusterMaxZoom: 13, clusterProperties: { worst: ['max', ['get', 'sev']] } }),
        vehicles: gj(empty), trails: gj(empty), selected: gj(empty),
      },
      layers: [
        { id: 'bg', type: 'background', paint: { 'background-color': css('--sea') } },
        { id: 'mainland', type: 'fill', source: 'mainland', paint: { 'fill-color': css('--mainland') } },
        { id: 'land', type: 'fill', source: 'land', paint: { 'fill-color': css('--land') } },
        { id: 'land-line', type: 'line', source: 'land', paint: { 'line-color': css('--land-line'), 'line-width': 0.8 } },
        { id: 'districts', type: 'line', source: 'districts', paint: { 'line-color': css('--district'), 'line-width': 0.7, 'line-dasharray': [3, 2] } },
        { id: 'rail', type: 'line', source: 'rail', paint: { 'line-color': ['coalesce', ['get', 'colour'], '#888'], 'line-width': ['interpolate', ['linear'], ['zoom'], 9, 1, 14, 2.5], 'line-opacity': 0.55 } },
        { id: 'polys-fill', type: 'fill', source: 'polys', paint: { 'fill-color': ['get', 'color'], 'fill-opacity': 0.18 } },
        { id: 'polys-line', type: 'line', source: 'polys', paint: { 'line-color': ['get', 'ring'], 'line-width': 1.5, 'line-dasharray': [2, 1] } },
        { id: 'slope-fill', type: 'fill', source: 'slopepolys', minzoom: 13.5, paint: { 'fill-color': ['get', 'color'], 'fill-opacity': 0.45 } },
        { id: 'slope-line', type: 'line', source: 'slopepolys', minzoom: 13.5, paint: { 'line-color': '#b48cff', 'line-width': 1.2 } },
        { id: 'lines', type: 'line', source: 'lines', paint: { 'line-color': ['get', 'ring'], 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 3, 15, 8], 'line-opacity': 0.8 } },
        { id: 'trails', type: 'line', source: 'trails', paint: { 'line-color': css('--accent'), 'line-width': 2, 'line-opacity': 0.55 } },
        {
          id: 'clusters', type: 'circle', source: 'points', filter: ['has', 'point_count'],
          paint: {
            'circle-color': ['match', ['get', 'worst'], 3, css('--alarm'), 2, css('--warn'), 1, css('--ok'), css('--stale')],
            'circle-radius': ['step', ['get', 'point_count'], 11, 10, 14, 50, 18, 150, 23],
            'circle-opacity': 0.85, 'circle-stroke-width': 2, 'circle-stroke-color': css('--panel'),
          },
        },
        {
          id: 'points', type: 'circle', source: 'points', filter: ['!', ['has', 'point_count']],
          paint: {
            'circle-color': ['get', 'color'], 'circle-radius': ['interpolate', ['linear'], ['zoom'], 9, ['*', ['get', 'size'], 0.7], 15, ['*', ['get', 'size'], 1.4]],
            'circle-stroke-width': 2.2, 'circle-stroke-color': ['get', 'ring'],
          },
        },
        {
          id: 'vehicles', type: 'circle', source: 'vehicles',
          paint: { 'circle-color': ['get', 'color'], 'circle-radius': ['interpolate', ['linear'], ['zoom'], 9, 4.5, 15, 9], 'circle-stroke-width': 2, 'circle-stroke-color': css('--text') },
        },
        { id: 'selected', type: 'circle', source: 'selected', paint: { 'circle-radius': 15, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-width': 3, 'circle-stroke-color': css('--focus') } },
      ],
    } as maplibregl.StyleSpecification;
  }

  applyTheme() {
    if (!this.ready) return;
    const m = this.map;
    m.setPaintProperty('bg', 'background-color', css('--sea'));
    m.setPaintProperty('mainland', 'fill-color', css('--mainland'));
    m.setPaintProperty('land', 'fill-color', css('--land'));
    m.setPaintProperty('land-line', 'line-color', css('--land-line'));
    m.setPaintProperty('districts', 'line-color', css('--district'));
    m.setPaintProperty('trails', 'line-color', css('--accent'));
    m.setPaintProperty('clusters', 'circle-color', ['match', ['get', 'worst'], 3, css('--alarm'), 2, css('--warn'), 1, css('--ok'), css('--stale')]);
    m.setPaintProperty('clusters', 'circle-stroke-color', css('--panel'));
    m.setPaintProperty('vehicles', 'circle-stroke-color', css('--text'));
    m.setPaintProperty('selected', 'circle-stroke-color', css('--focus'));
    this.refresh();
  }

  private installHandlers() {
    const m = this.map;
    const clickable = ['points', 'vehicles', 'slope-fill', 'lines', 'polys-fill'];
    m.on('click', (e) => {
      const feats = m.queryRenderedFeatures(e.point, { layers: ['clusters', ...clickable] });
      if (!feats.length) return;
      const f = feats[0];
      if (f.layer.id === 'clusters') {
        const src = m.getSource('points') as GeoJSONSource;
        src.getClusterExpansionZoom(f.properties!.cluster_id).then((z) => {
          m.easeTo({ center: (f.geometry as any).coordinates, zoom: Math.min(z + 0.5, 17) });
        });
        return;
      }
      const id = f.properties?.id;
      if (id) this.onSelect(id);
    });
    const move = (e: MapLayerMouseEvent) => {
      const f = e.features?.[0];
      m.getCanvas().style.cursor = f ? 'pointer' : '';
      if (!f) { this.tip.hidden = true; return; }
      let html: string;
      if (f.layer.id === 'clusters') {
        html = `<b>${f.properties!.point_count} twins</b>Click to zoom in`;
      } else {
        const r = this.st.twins.get(f.properties!.id);
        if (!r) { this.tip.hidden = true; return; }
        const primary = [...r.latest.entries()][0];
        html = `<b>${esc(r.twin.name || r.twin.id)}</b>${esc(r.twin.type)} · ${esc(r.status === 'stale' ? 'no data' : r.status)}` +
          (primary ? `<br>${esc(primary[0])}: ${fmtNum(primary[1].value, 2)}` : '');
      }
      this.tip.innerHTML = html;
      this.tip.hidden = false;
      const x = Math.min(e.point.x + 14, this.el.clientWidth - 290);
      this.tip.style.transform = `translate(${x}px, ${e.point.y + 14}px)`;
    };
    for (const l of ['clusters', ...clickable]) {
      m.on('mousemove', l, move);
      m.on('mouseleave', l, () => { m.getCanvas().style.cursor = ''; this.tip.hidden = true; });
    }
  }

  private visible(type: string): boolean {
    const g = groupOf(type);
    if (!g) return false;
    if (this.fleetMode) return g.key === 'fleet';
    return g.on;
  }

  private color(s: Status): string {
    return css(s === 'alarm' ? '--alarm' : s === 'warn' ? '--warn' : s === 'ok' ? '--ok' : '--stale');
  }

  /** Rebuilds every twin source from the state. */
  refresh() {
    if (!this.ready) return;
    const pts: any[] = [], polys: any[] = [], lines: any[] = [], slopes: any[] = [];
    for (const r of this.st.twins.values()) {
      const t = r.twin;
      if (!t.geometry || !this.visible(t.type) || t.type === 'vehicle') continue;
      const g = groupOf(t.type)!;
      let size = t.type === 'delivery-stop' ? 4 : t.type === 'slope' ? 5 : 6;
      if (t.type === 'rain-gauge') size += rainBucket(r.latest.get('rainfall')?.value) * 2.5; // bigger in heavier rain
      const props = { id: t.id, color: this.color(r.status), ring: g.ring, sev: sev[r.status], size };
      if (t.geometry.type === 'Point') {
        pts.push({ type: 'Feature', geometry: t.geometry, properties: props });
      } else if (t.geometry.type === 'LineString') {
        lines.push({ type: 'Feature', geometry: t.geometry, properties: props });
      } else {
        if (t.type === 'slope') {
          slopes.push({ type: 'Feature', geometry: t.geometry, properties: props });
          const c = centroid(t.geometry);
          if (c) pts.push({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: props });
        } else {
          polys.push({ type: 'Feature', geometry: t.geometry, properties: props });
          const c = centroid(t.geometry);
          if (c) pts.push({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: { ...props, size: 8 } });
        }
      }
    }
    const fc = (features: any[]) => ({ type: 'FeatureCollection', features }) as any;
    (this.map.getSource('points') as GeoJSONSource).setData(fc(pts));
    (this.map.getSource('polys') as GeoJSONSource).setData(fc(polys));
    (this.map.getSource('lines') as GeoJSONSource).setData(fc(lines));
    (this.map.getSource('slopepolys') as GeoJSONSource).setData(fc(slopes));
    this.refreshVehicles();
    this.refreshSelected();
  }

  /** Moves the vehicles (cheap; called on every position update). */
  refreshVehicles() {
    if (!this.ready) return;
    const feats: any[] = [];
    const trails: any[] = [];
    const show = this.fleetMode || groups.find((g) => g.key === 'fleet')!.on;
    for (const r of this.st.twins.values()) {
      if (r.twin.type !== 'vehicle' || !r.twin.geometry) continue;
      const c = r.twin.geometry.coordinates as number[];
      const tr = this.trails.get(r.twin.id) || [];
      const last = tr[tr.length - 1];
      if (!last || last[0] !== c[0] || last[1] !== c[1]) { tr.push(c); if (tr.length > 120) tr.shift(); }
      this.trails.set(r.twin.id, tr);
      if (!show) continue;
      feats.push({ type: 'Feature', geometry: r.twin.geometry, properties: { id: r.twin.id, color: this.color(r.status) } });
      if (tr.length > 1) trails.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: tr }, properties: { id: r.twin.id } });
    }
    (this.map.getSource('vehicles') as GeoJSONSource).setData({ type: 'FeatureCollection', features: feats } as any);
    (this.map.getSource('trails') as GeoJSONSource).setData({ type: 'FeatureCollection', features: trails } as any);
    this.refreshSelected();
  }

  refreshSelected() {
    if (!this.ready) return;
    const r = this.st.twins.get(this.selected);
    const c = r ? centroid(r.twin.geometry) : null;
    (this.map.getSource('selected') as GeoJSONSource).setData({ type: 'FeatureCollection', features: c ? [{ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: {} }] : [] } as any);
  }

  select(id: string, fly: boolean) {
    this.selected = id;
    this.refreshSelected();
    const r = this.st.twins.get(id);
    const c = r ? centroid(r.twin.geometry) : null;
    if (fly && c) this.map.flyTo({ center: c as [number, number], zoom: Math.max(this.map.getZoom(), r!.twin.type === 'slope' ? 15.5 : 14), speed: 1.6 });
  }

  fitFleet() {
    this.map.fitBounds([[113.93, 22.24], [114.30, 22.52]], { padding: 30, duration: 600 });
  }

  fitAll() {
    this.map.fitBounds([[113.83, 22.19], [114.40, 22.56]], { padding: 20, duration: 600 });
  }

  private labelTimer = 0;
  private scheduleLabels() {
    if (this.labelTimer) return;
    this.labelTimer = window.setTimeout(() => { this.labelTimer = 0; this.updateClusterLabels(); }, 200);
  }

  private updateClusterLabels() {
    if (!this.ready) return;
    const seen = new Set<number>();
    const feats = this.map.querySourceFeatures('points', { filter: ['has', 'point_count'] });
    for (const f of feats) {
      const id = f.properties!.cluster_id as number;
      if (seen.has(id) || seen.size > 300) continue;
      seen.add(id);
      let mk = this.clusterMarkers.get(id);
      const coords = (f.geometry as any).coordinates;
      if (!mk) {
        const el = document.createElement('div');
        el.className = 'cluster-label';
        el.setAttribute('aria-hidden', 'true');
        mk = new maplibregl.Marker({ element: el }).setLngLat(coords).addTo(this.map);
        this.clusterMarkers.set(id, mk);
      }
      mk.setLngLat(coords);
      mk.getElement().textContent = String(f.properties!.point_count_abbreviated ?? f.properties!.point_count);
    }
    for (const [id, mk] of this.clusterMarkers) {
      if (!seen.has(id)) { mk.remove(); this.clusterMarkers.delete(id); }
    }
  }

  counts(): Map<string, number> {
    const m = new Map<string, number>();
    for (const r of this.st.twins.values()) {
      const g = groupOf(r.twin.type);
      if (g) m.set(g.key, (m.get(g.key) || 0) + 1);
    }
    return m;
  }
}

export { statusRank };
