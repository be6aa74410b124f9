// Planned routes in the fleet view: the latest routing job's routes drawn
// on the map with their stop order and ETAs, and a button that plans the
// Kwu Tung North depot's day (POST /api/v1/routing/jobs).
import type { GeoJSONSource, MapLayerMouseEvent } from 'maplibre-gl';
import { getJSON, sendJSON } from './api';
import { esc, fmtNum } from './state';
import type { TwinMap } from './map';

export interface JobSummary { id: string; state: string; created: string; depot?: string; stops: number; vehicles: number; distance_km?: number; vehicles_used?: number; unserved?: number; error?: string }
interface Visit { stop: string; kind: string; lon: number; lat: number; demand: number; eta: string; slack_s: number }
interface Route { vehicle: string; distance_km: number; load: number; departure: string; return: string; visits: Visit[] }
export interface Job {
  id: string; state: string; depot?: string; error?: string;
  definition?: { depot_location?: { lon: number; lat: number }; stops?: Array<{ id: string; name?: string }> };
  progress?: Array<{ elapsed_s: number; distance_km: number; vehicles: number }>;
  plan?: { distance_km: number; vehicles: number; routes: Route[]; unserved: Array<{ stop: string; reason: string }> };
}

export const depotId = 'depot-kwu-tung';
// Twelve distinguishable hues, reused round-robin by route index.
const palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#17becf', '#bcbd22'];

/** Hong Kong time HH:MM of an RFC 3339 time. */
function hk(t: string): string {
  const d = new Date(Date.parse(t) + 8 * 3600e3);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

export class RoutePlanner {
  job: Job | null = null;
  private installed = false;
  private polling = false;
  private tip: HTMLElement;
  private names = new Map<string, string>();
  visible = false;

  constructor(private tmap: TwinMap, private host: HTMLElement) {
    this.tip = document.getElementById('maptip')!;
    const m = tmap.map;
    if (m.loaded()) this.install(); else m.once('load', () => this.install());
    this.render('');
  }

  private install() {
    const m = this.tmap.map;
    const empty = { type: 'FeatureCollection', features: [] } as any;
    m.addSource('routes', { type: 'geojson', data: empty });
    m.addSource('route-stops', { type: 'geojson', data: empty });
    const before = m.getLayer('vehicles') ? 'vehicles' : undefined;
    m.addLayer({ id: 'routes', type: 'line', source: 'routes', layout: { 'line-join': 'round', 'line-cap': 'round' }, paint: { 'line-color': ['get', 'color'], 'line-width': 2.5, 'line-opacity': 0.85 } }, before);
    m.addLayer({ id: 'route-stops', type: 'circle', source: 'route-stops', paint: { 'circle-color': ['get', 'color'], 'circle-radius': ['interpolate', ['linear'], ['zoom'], 9, 3, 15, 7], 'circle-stroke-width': 1.5, 'circle-stroke-color': '#fff' } }, before);
    m.on('mousemove', 'route-stops', (e) => this.hover(e));
    m.on('mouseleave', 'route-stops', () => { m.getCanvas().style.cursor = ''; this.tip.hidden = true; });
    this.installed = true;
    this.draw();
  }

  private hover(e: MapLayerMouseEvent) {
    const p = e.features?.[0]?.properties;
    if (!p) return;
    this.tip.innerHTML = `<b>${esc(this.names.get(p.stop) || p.stop)}</b>${esc(p.vehicle)} · stop ${p.order} of ${p.of}<br>ETA ${esc(p.eta)}`;
    this.tip.hidden = false;
    const el = this.tmap.map.getContainer();
    this.tip.style.transform = `translate(${Math.min(e.point.x + 14, el.clientWidth - 290)}px, ${e.point.y + 14}px)`;
  }

  /** Loads the newest job that has a plan (or the newest job, to show its state). */
  async loadLatest(): Promise<void> {
    try {
      const list = await getJSON<{ jobs: JobSummary[] }>('/api/v1/routing/jobs');
      const jobs = list.jobs || [];
      const pick = jobs.find((j) => j.state === 'done') || jobs[0];
      if (!pick) { this.job = null; this.render(''); this.draw(); return; }
      this.job = await getJSON<Job>(`/api/v1/routing/jobs/${encodeURIComponent(pick.id)}`);
      if (this.job.state === 'queued' || this.job.state === 'running') void this.follow(this.job.id);
    } catch (e) {
      this.render(`Routing is not available: ${(e as Error).message}`);
      return;
    }
    this.render('');
    this.draw();
  }

  /** Posts a job for the Kwu Tung North depot and follows it to the end. */
  async plan(): Promise<void> {
    try {
      this.job = await sendJSON<Job>('POST', '/api/v1/routing/jobs', { depot: depotId });
      this.render('');
      await this.follow(this.job.id);
    } catch (e) {
      this.render(`Planning failed: ${(e as Error).message}`);
    }
  }

  private async follow(id: string) {
    if (this.polling) return;
    this.polling = true;
    try {
      for (;;) {
        await new Promise((r) => setTimeout(r, 1500));
        const j = await getJSON<Job>(`/api/v1/routing/jobs/${encodeURIComponent(id)}`);
        if (this.job && this.job.id !== id) return;
        this.job = j;
        this.render('');
        if (j.state !== 'queued' && j.state !== 'running') break;
      }
      this.draw();
    } finally {
      this.polling = false;
    }
  }

  /** Line and stop features of the plan (for the tests too). */
  features(): { lines: any[]; stops: any[] } {
    const lines: any[] = [], stops: any[] = [];
    const p = this.job?.plan;
    const d = this.job?.definition?.depot_location;
    if (!p || !d) return { lines, stops };
    for (const s of this.job?.definition?.stops || []) if (s.name) this.names.set(s.id, s.name);
    p.routes.forEach((r, i) => {
      const color = palette[i % palette.length];
      const vs = r.visits;
      const coords = [[d.lon, d.lat], ...vs.map((v) => [v.lon, v.lat]), [d.lon, d.lat]];
      lines.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: coords }, properties: { vehicle: r.vehicle, color } });
      const real = vs.filter((v) => v.kind === 'stop');
      real.forEach((v, k) => stops.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [v.lon, v.lat] }, properties: { vehicle: r.vehicle, stop: v.stop, order: k + 1, of: real.length, eta: hk(v.eta), color } }));
    });
    return { lines, stops };
  }

  draw() {
    if (!this.installed) return;
    const m = this.tmap.map;
    const vis = this.visible ? 'visible' : 'none';
    m.setLayoutProperty('routes', 'visibility', vis);
    m.setLayoutProperty('route-stops', 'visibility', vis);
    const { lines, stops } = this.features();
    (m.getSource('routes') as GeoJSONSource).setData({ type: 'FeatureCollection', features: lines } as any);
    (m.getSource('route-stops') as GeoJSONSource).setData({ type: 'FeatureCollection', features: stops } as any);
  }

  setVisible(v: boolean) {
    this.visible = v;
    this.draw();
    if (v) void this.loadLatest();
  }

  private render(msg: string) {
    const j = this.job;
    for (const s of j?.definition?.stops || []) if (s.name) this.names.set(s.id, s.name);
    const running = j && (j.state === 'queued' || j.state === 'running');
    const last = j?.progress?.[j.progress.length - 1];
    let body = '';
    if (msg) body = `<p class="muted">${esc(msg)}</p>`;
    else if (!j) body = `<p class="muted">No routing job yet.</p>`;
    else if (running) body = `<p class="muted">Job ${esc(j.id)}: ${esc(j.state)}${last ? ` · best ${fmtNum(last.distance_km, 1)} km with ${last.vehicles} vans after ${fmtNum(last.elapsed_s, 0)} s` : ''}</p>`;
    else if (j.state !== 'done' || !j.plan) body = `<p class="muted">Job ${esc(j.id)}: ${esc(j.state)}${j.error ? ` (${esc(j.error)})` : ''}</p>`;
    else {
      const p = j.plan;
      const rows = p.routes.map((r, i) => {
        const real = r.visits.filter((v) => v.kind === 'stop');
        return `<details class="route"><summary><i class="sw" style="background:${palette[i % palette.length]}"></i><b>${esc(r.vehicle)}</b> · ${real.length} stops · ${fmtNum(r.distance_km, 1)} km · ${hk(r.departure)}–${hk(r.return)}</summary>
          <ol>${real.map((v) => `<li><span>${esc(this.names.get(v.stop) || v.stop)}</span><span class="eta">${hk(v.eta)}</span></li>`).join('')}</ol></details>`;
      }).join('');
      body = `<p class="muted">Job ${esc(j.id)}: ${p.routes.length} routes, ${fmtNum(p.distance_km, 1)} km${p.unserved.length ? `, ${p.unserved.length} stops unserved` : ''}. ETAs in Hong Kong time.</p><div class="route-list">${rows}</div>`;
    }
    const hadFocus = document.activeElement?.id === 'plan-routes';
    const open = new Set([...this.host.querySelectorAll<HTMLDetailsElement>('details.route[open] summary b')].map((b) => b.textContent));
    this.host.innerHTML = `<div class="routes-head"><span class="section-title" style="margin:0">Planned routes</span>
      <button type="button" id="plan-routes" class="primary" ${running ? 'disabled' : ''}>${running ? 'Planning…' : 'Plan routes from Kwu Tung depot'}</button></div>${body}`;
    for (const d of this.host.querySelectorAll<HTMLDetailsElement>('details.route')) if (open.has(d.querySelector('summary b')?.textContent ?? '')) d.open = true;
    const btn = this.host.querySelector<HTMLButtonElement>('#plan-routes')!;
    btn.addEventListener('click', () => { void this.plan(); });
    if (hadFocus) btn.focus();
  }
}
