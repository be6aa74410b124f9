// The landslide layer: slopes coloured by the model's risk level (minimum
// FS on hover), the territory-wide landslip warning banner, the slope
// panel's evidence (FS over depth, the level's reasons), and a what-if
// storm whose ranked result is drawn as a second layer.
import uPlot from 'uplot';
import type { GeoJSONSource, MapLayerMouseEvent } from 'maplibre-gl';
import { getJSON, sendJSON } from './api';
import { State, esc, fmtNum } from './state';
import type { TwinMap } from './map';

export const levels = ['normal', 'watch', 'warning', 'critical'] as const;
export type Level = typeof levels[number];

export interface LandslideStatus {
  at?: string; in_event?: boolean;
  territory?: { on: boolean; expected_landslides?: number; threshold?: number; network_mean_mm?: Record<string, number> };
  counts?: Partial<Record<Level, number>>;
  slopes?: number;
  levels?: Array<{ id: string; level: Level; fs_min: number | null }>;
}
export interface SlopeEvidence {
  id: string; name?: string; level: Level; fs_min?: number | null; z_at_fs_min_m?: number | null;
  reasons?: Array<{ evidence: string; level: Level; value?: number; threshold?: number; text: string }>;
  profile?: Array<{ z_m: number; psi_m: number; fs: number | null }>;
  rain?: { rolling_mm?: Record<string, number>; criterion?: string; criterion_ratio?: number };
  forecasts?: Array<{ sensor: string; kind: string; failure_at?: string; velocity_mm_per_h?: number | null; accelerating?: boolean }>;
  parameters?: { depth_to_base_m?: number; water_table_depth_m?: number };
}
export interface WhatIfResult {
  total_mm: number; slopes: number; expected_failures: number; fs_below_1: number;
  counts: Partial<Record<Level, number>>;
  ranked: Array<{ id: string; name?: string; position: [number, number]; min_fs: number; at_hours: number; p_fail: number; level: Level }>;
}

function css(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
/** Level colours: normal uses the "reporting" colour, watch a light amber. */
export function levelColor(l: Level): string {
  return l === 'critical' ? css('--alarm') : l === 'warning' ? css('--warn') : l === 'watch' ? css('--watch') || '#d8c24a' : css('--ok');
}

function centroid(g: any): [number, number] | null {
  if (!g) return null;
  if (g.type === 'Point') return g.coordinates;
  const ring: number[][] | undefined = g.type === 'Polygon' ? g.coordinates[0] : g.type === 'MultiPolygon' ? g.coordinates[0][0] : undefined;
  if (!ring || !ring.length) return null;
  const pts = ring.length > 1 && ring[0][0] === ring[ring.length - 1][0] && ring[0][1] === ring[ring.length - 1][1] ? ring.slice(0, -1) : ring;
  let x = 0, y = 0;
  for (const p of pts) { x += p[0]; y += p[1]; }
  return [x / pts.length, y / pts.length];
}

export class LandslideLayer {
  status: LandslideStatus | null = null;
  whatif: WhatIfResult | null = null;
  on = true;
  private installed = false;
  private tip: HTMLElement;

  constructor(private tmap: TwinMap, private st: State, private card: HTMLElement, private banner: HTMLElement) {
    this.tip = document.getElementById('maptip')!;
    const m = tmap.map;
    if (m.loaded()) this.install(); else m.once('load', () => this.install());
    this.renderCard();
  }

  private install() {
    const m = this.tmap.map;
    const empty = { type: 'FeatureCollection', features: [] } as any;
    m.addSource('landslide', { type: 'geojson', data: empty });
    m.addSource('landslide-whatif', { type: 'geojson', data: empty });
    // Below the twin points so that the instruments stay clickable.
    const before = m.getLayer('clusters') ? 'clusters' : undefined;
    m.addLayer({
      id: 'landslide', type: 'circle', source: 'landslide',
      paint: {
        'circle-color': ['get', 'color'], 'circle-opacity': 0.75,
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 9, ['+', 3, ['get', 'rank']], 15, ['+', 9, ['*', 2, ['get', 'rank']]]],
        'circle-stroke-width': 1, 'circle-stroke-color': css('--panel'),
      },
    }, before);
    m.addLayer({
      id: 'landslide-whatif', type: 'circle', source: 'landslide-whatif',
      paint: {
        'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': ['get', 'color'],
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 9, ['+', 5, ['get', 'rank']], 15, ['+', 13, ['*', 2, ['get', 'rank']]]],
        'circle-stroke-width': 2.5,
      },
    }, before);
    for (const l of ['landslide', 'landslide-whatif']) {
      m.on('mousemove', l, (e) => this.hover(e));
      m.on('mouseleave', l, () => { m.getCanvas().style.cursor = ''; this.tip.hidden = true; });
      m.on('click', l, (e) => { const id = e.features?.[0]?.properties?.id; if (id) this.onSelect(id); });
    }
    this.installed = true;
    this.draw();
  }

  onSelect: (id: string) => void = () => {};

  private hover(e: MapLayerMouseEvent) {
    const f = e.features?.[0];
    if (!f) return;
    const p = f.properties!;
    const name = this.st.twins.get(p.id)?.twin.name || p.id;
    const fs = p.fs === null || p.fs === undefined || p.fs === '' ? '—' : fmtNum(Number(p.fs), 3);
    this.tip.innerHTML = `<b>${esc(name)}</b>${f.layer.id === 'landslide-whatif' ? 'what-if storm · ' : 'landslide risk · '}${esc(p.level)}<br>minimum FS ${fs}` +
      (p.pfail !== undefined && p.pfail !== '' ? ` · P(failure) ${fmtNum(Number(p.pfail) * 100, 1)}%` : '');
    this.tip.hidden = false;
    this.tmap.map.getCanvas().style.cursor = 'pointer';
    const el = this.tmap.map.getContainer();
    const x = Math.min(e.point.x + 14, el.clientWidth - 290);
    this.tip.style.transform = `translate(${x}px, ${e.point.y + 14}px)`;
  }

  /** Re-reads the model status (every evaluation is 5 simulated minutes). */
  async poll(): Promise<void> {
    try {
      this.status = await getJSON<LandslideStatus>('/api/v1/landslide/status');
    } catch (e) {
      console.warn('landslide status', e);
      this.status = null;
    }
    this.renderCard();
    this.renderBanner();
    this.draw();
  }

  /** Features of the risk layer (for the tests too). */
  features(): any[] {
    const out: any[] = [];
    for (const s of this.status?.levels || []) {
      const c = centroid(this.st.twins.get(s.id)?.twin.geometry);
      if (!c) continue;
      out.push({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: { id: s.id, level: s.level, fs: s.fs_min, rank: Math.max(0, levels.indexOf(s.level)), color: levelColor(s.level) } });
    }
    // Highest level drawn last (on top).
    return out.sort((a, b) => a.properties.rank - b.properties.rank);
  }

  draw() {
    if (!this.installed) return;
    const m = this.tmap.map;
    const vis = this.on && !this.tmap.fleetMode ? 'visible' : 'none';
    m.setLayoutProperty('landslide', 'visibility', vis);
    m.setLayoutProperty('landslide-whatif', 'visibility', this.tmap.fleetMode ? 'none' : 'visible');
    m.setPaintProperty('landslide', 'circle-stroke-color', css('--panel'));
    (m.getSource('landslide') as GeoJSONSource).setData({ type: 'FeatureCollection', features: this.features() } as any);
    const wf = (this.whatif?.ranked || []).filter((r) => r.level !== 'normal').map((r) => ({
      type: 'Feature', geometry: { type: 'Point', coordinates: r.position },
      properties: { id: r.id, level: r.level, fs: r.min_fs, pfail: r.p_fail, rank: Math.max(0, levels.indexOf(r.level)), color: levelColor(r.level) },
    }));
    (m.getSource('landslide-whatif') as GeoJSONSource).setData({ type: 'FeatureCollection', features: wf.reverse() } as any);
  }

  private renderBanner() {
    const t = this.status?.territory;
    if (!t?.on) { this.banner.hidden = true; return; }
    const mm = t.network_mean_mm || {};
    this.banner.innerHTML = `<strong>Landslip warning in force</strong> · expected landslides ${fmtNum(t.expected_landslides ?? 0, 1)} (threshold ${fmtNum(t.threshold ?? 0, 1)}) · network mean rain 24 h ${fmtNum(mm['24h'] ?? 0, 0)} mm`;
    this.banner.hidden = false;
  }

  /** Builds the card once; polls only update its counts and result (so typing is never lost). */
  private buildCard() {
    this.card.innerHTML = `
      <label class="ls-toggle"><input type="checkbox" id="ls-on" ${this.on ? 'checked' : ''}> Slope risk level (model)</label>
      <div class="ls-counts" aria-label="Slopes by risk level"></div>
      <form class="ls-whatif" id="ls-whatif" aria-label="What-if storm">
        <div class="row"><label>Storm <input id="ls-mmh" type="number" min="1" max="500" step="1" value="80" required> mm/h</label>
        <label>for <input id="ls-hours" type="number" min="1" max="720" step="1" value="6" required> h</label></div>
        <div class="row"><button type="submit" class="primary" id="ls-run">Run what-if</button>
        <button type="button" id="ls-clear" disabled>Clear</button></div>
        <p class="muted ls-result" id="ls-result" aria-live="polite"></p>
      </form>`;
    this.card.querySelector<HTMLInputElement>('#ls-on')!.addEventListener('change', (e) => { this.on = (e.target as HTMLInputElement).checked; this.draw(); });
    this.card.querySelector<HTMLFormElement>('#ls-whatif')!.addEventListener('submit', (e) => { e.preventDefault(); void this.runWhatIf(); });
    this.card.querySelector<HTMLButtonElement>('#ls-clear')!.addEventListener('click', () => { this.whatif = null; this.renderCard(); this.draw(); });
  }

  private renderCard() {
    if (!this.card.querySelector('#ls-whatif')) this.buildCard();
    const c = this.status?.counts || {};
    const w = this.whatif;
    this.card.querySelector('.ls-counts')!.innerHTML = levels.map((l) => `<span><i class="sw" style="background:${levelColor(l)}"></i>${l} <b>${this.status ? c[l] || 0 : '—'}</b></span>`).join('');
    this.card.querySelector<HTMLButtonElement>('#ls-clear')!.disabled = !w;
    this.card.querySelector('#ls-result')!.innerHTML = w
      ? `${fmtNum(w.total_mm, 0)} mm: ${w.fs_below_1} slopes with FS &lt; 1, ${fmtNum(w.expected_failures, 1)} expected failures; ${levels.slice(1).map((l) => `${w.counts[l] || 0} ${l}`).join(', ')}. Ringed on the map.`
      : 'Runs a uniform storm on every slope without touching the live state.';
  }

  /** After a theme switch: level colours come from the theme. */
  refreshTheme() { this.renderCard(); this.draw(); }

  async runWhatIf() {
    const mmh = Number(this.card.querySelector<HTMLInputElement>('#ls-mmh')!.value);
    const hours = Number(this.card.querySelector<HTMLInputElement>('#ls-hours')!.value);
    const res = this.card.querySelector<HTMLElement>('#ls-result')!;
    const btn = this.card.querySelector<HTMLButtonElement>('#ls-run')!;
    btn.disabled = true;
    res.textContent = 'Running…';
    try {
      this.whatif = await sendJSON<WhatIfResult>('POST', '/api/v1/landslide/whatif', { hyetograph: [{ hours, mm_per_h: mmh }], limit: 1000 });
      this.renderCard();
      this.draw();
    } catch (e) {
      res.textContent = `What-if failed: ${(e as Error).message}`;
    }
    btn.disabled = false;
  }

  /** The slope panel's landslide section: level, reasons, FS over depth. */
  async slopePanel(id: string, host: HTMLElement) {
    if (!host.firstChild) host.innerHTML = `<div class="section-title">Landslide model</div><p class="muted">Loading…</p>`;
    let ev: SlopeEvidence;
    try {
      ev = await getJSON<SlopeEvidence>(`/api/v1/landslide/slopes/${encodeURIComponent(id)}`);
    } catch (e) {
      host.innerHTML = `<div class="section-title">Landslide model</div><p class="muted">No landslide evidence: ${esc((e as Error).message)}</p>`;
      return;
    }
    if (!host.isConnected) return;
    const rolling = ev.rain?.rolling_mm || {};
    const reasons = (ev.reasons || []).map((r) => `<li><span class="lvl" style="background:${levelColor(r.level)}">${esc(r.level)}</span> ${esc(r.text)}</li>`).join('');
    const fc = (ev.forecasts || []).filter((f) => f.failure_at).map((f) => `<li>${esc(f.sensor)}: failure forecast ${esc(f.failure_at!)}</li>`).join('');
    host.innerHTML = `<div class="section-title">Landslide model</div>
      <div class="ls-level"><span class="lvl big" style="background:${levelColor(ev.level)}">${esc(ev.level)}</span>
        <span>minimum FS <b>${ev.fs_min == null ? '—' : fmtNum(ev.fs_min, 3)}</b>${ev.z_at_fs_min_m == null ? '' : ` at ${fmtNum(ev.z_at_fs_min_m, 2)} m`}</span></div>
      <ul class="ls-reasons">${reasons || '<li class="muted">no reasons given</li>'}${fc}</ul>
      <div class="muted ls-rain">Rain ${['1h', '3h', '24h', '72h'].map((k) => `${k} ${fmtNum(rolling[k] ?? 0, 0)} mm`).join(' · ')}${ev.rain?.criterion ? ` · criterion ${esc(ev.rain.criterion)}` : ''}</div>
      <div class="chart fs-chart" id="fs-chart"><div class="ch"><span>FS over depth <span class="muted">(m below surface)</span></span><span class="v">${(ev.profile || []).length} nodes</span></div></div>`;
    const prof = (ev.profile || []).filter((p) => p.fs !== null && Number.isFinite(p.fs)).sort((a, b) => a.z_m - b.z_m);
    const box = host.querySelector<HTMLElement>('#fs-chart')!;
    if (!prof.length) {
      box.insertAdjacentHTML('beforeend', `<p class="muted" style="padding:6px">The model has no FS profile for this slope yet.</p>`);
      return;
    }
    const cs = getComputedStyle(document.documentElement);
    const text = cs.getPropertyValue('--muted').trim();
    const grid = cs.getPropertyValue('--border').trim();
    const accent = cs.getPropertyValue('--accent').trim();
    const alarm = cs.getPropertyValue('--alarm').trim();
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '11px system-ui' };
    const xs = prof.map((p) => p.z_m), ys = prof.map((p) => p.fs as number);
    const hi = Math.min(4, Math.max(1.5, ...ys)); // the surface nodes' FS is large; the interest is near 1
    this.fsPlot?.destroy();
    this.fsPlot = new uPlot({
      width: Math.max(200, box.clientWidth - 10), height: 160,
      legend: { show: false }, cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false }, y: { range: [0, Math.ceil(hi * 2) / 2] } },
      axes: [{ ...axis, label: 'depth (m)', labelSize: 14, labelFont: '11px system-ui' }, { ...axis, size: 44, label: 'FS', labelSize: 14, labelFont: '11px system-ui' }],
      series: [{}, { stroke: accent, width: 2, points: { show: true, size: 4 } }],
      hooks: {
        drawClear: [(u: uPlot) => {
          const y = Math.round(u.valToPos(1, 'y', true)) + 0.5;
          const ctx = u.ctx;
          ctx.save(); ctx.strokeStyle = alarm; ctx.setLineDash([4, 3]); ctx.lineWidth = 1;
          ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke(); ctx.restore();
        }],
      },
    }, [xs, ys], box);
  }
  private fsPlot: uPlot | null = null;
}
