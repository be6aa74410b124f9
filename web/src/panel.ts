// The twin panel: properties, relationships (navigable), latest values and
// live uPlot charts of its channels with range selection and aggregation.
import uPlot from 'uplot';
import { series, type TwinType } from './api';
import { State, esc, fmtNum, fmtTime } from './state';

const ranges: Array<[string, number]> = [['1h', 3600e3], ['6h', 6 * 3600e3], ['24h', 24 * 3600e3], ['7d', 7 * 86400e3]];
const aggs = ['auto', 'raw', 'mean', 'min', 'max', 'p95'];

/** A time tick in Hong Kong time: HH:MM, with the date when the day changes. */
function hkTick(ms: number, prev: number | null): string {
  const d = new Date(ms + 8 * 3600e3);
  const p = (n: number) => String(n).padStart(2, '0');
  const t = `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
  const day = Math.floor((ms + 8 * 3600e3) / 86400e3);
  if (prev === null || Math.floor((prev + 8 * 3600e3) / 86400e3) !== day) return `${t}\n${p(d.getUTCDate())}/${p(d.getUTCMonth() + 1)}`;
  return t;
}

/** Anomaly scores at or above this mark an onset on the channel's chart. */
export const onsetThreshold = 0.261;

interface ChartRec {
  twin: string; channel: string; plot: uPlot; xs: number[]; ys: number[]; valueEl: HTMLElement; pending: boolean;
  // The channel's anomaly score series (`<channel>.anomaly`) in a thin strip
  // under the chart, and the onsets (score ≥ onsetThreshold) marked on it.
  strip: uPlot; sx: number[]; sy: number[]; onsets: number[]; scoreEl: HTMLElement;
}

export class TwinPanel {
  id = '';
  private charts: ChartRec[] = [];
  private range = 6 * 3600e3;
  private agg = 'auto';
  private gen = 0;
  onNavigate: (id: string) => void = () => {};
  /** Fills the landslide section of a slope's panel. */
  onSlope: (id: string, host: HTMLElement) => void = () => {};

  constructor(private el: HTMLElement, private st: State) {
    this.empty();
  }

  empty() {
    this.destroyCharts();
    this.id = '';
    this.el.innerHTML = `<div class="empty"><p><strong>No twin selected.</strong></p><p>Click a twin on the map, a row in the fleet or data-centre view, or search by id or name (press <kbd>/</kbd>).</p></div>`;
  }

  private destroyCharts() {
    for (const c of this.charts) { c.plot.destroy(); c.strip.destroy(); }
    this.charts = [];
  }

  show(id: string) {
    const r = this.st.twins.get(id);
    if (!r) return;
    this.destroyCharts();
    this.id = id;
    const t = r.twin;
    const type: TwinType | undefined = this.st.types.get(t.type);
    const props = Object.entries(t.properties || {});
    const rows = props.map(([k, v]) => {
      const unit = type?.properties?.[k]?.unit;
      const val = typeof v === 'number' ? fmtNum(v, 2) : esc(typeof v === 'object' ? JSON.stringify(v) : v);
      return `<tr><th scope="row">${esc(k)}</th><td>${val}${unit ? ' ' + esc(unit) : ''}</td></tr>`;
    }).join('');
    const labels = Object.entries(t.labels || {}).filter(([k]) => k !== 'scenario' && k !== 'positionTs')
      .map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
    const out = Object.entries(t.relationships || {}).map(([rel, ids]) =>
      `<div class="rel"><span class="rn">${esc(rel)} →</span>${this.links(ids)}</div>`).join('');
    const inc = new Map<string, string[]>();
    for (const [src, rel] of this.st.incoming.get(id) || []) {
      const k = `${rel} ← ${this.st.twins.get(src)?.twin.type || ''}`;
      inc.set(k, [...(inc.get(k) || []), src]);
    }
    const incHtml = [...inc.entries()].map(([k, ids]) => `<div class="rel"><span class="rn">${esc(k)}</span>${this.links(ids)}</div>`).join('');
    // Own channels; a twin without channels (a slope, a bridge, a depot)
    // shows the channels of the twins attached to it instead.
    const specs: Array<{ twin: string; channel: string; unit: string; label: string }> = [];
    for (const [ch, def] of Object.entries(type?.channels || {})) if (!ch.endsWith('.anomaly')) specs.push({ twin: id, channel: ch, unit: def.unit || '', label: ch });
    if (specs.length === 0) {
      const order = ['rain-gauge', 'piezometer', 'inclinometer', 'extensometer'];
      const srcs = [...(this.st.incoming.get(id) || [])].map(([s]) => this.st.twins.get(s)?.twin).filter((x): x is NonNullable<typeof x> => !!x)
        .sort((a, b) => ((order.indexOf(a.type) + 1) || 99) - ((order.indexOf(b.type) + 1) || 99) || a.id.localeCompare(b.id));
      for (const s of srcs) {
        for (const [ch, def] of Object.entries(this.st.types.get(s.type)?.channels || {})) {
          if (ch.endsWith('.anomaly')) continue;
          if (s.type === 'bridge-sensor' && !this.st.twins.get(s.id)?.latest.has(ch)) continue;
          if (specs.length < 6) specs.push({ twin: s.id, channel: ch, unit: def.unit || '', label: `${ch} · ${s.id}` });
        }
      }
    }
    const chans = specs;
    const statusTxt = r.status === 'stale' ? 'no data' : r.status === 'alarm' ? 'critical' : r.status === 'warn' ? 'warning' : 'reporting';
    this.el.innerHTML = `
      <div class="twin-head">
        <div style="flex:1;min-width:0"><h3>${esc(t.name || t.id)}</h3><div class="id">${esc(t.id)} · ${esc(t.type)}</div></div>
        <span class="badge ${r.status}" id="twin-status">${statusTxt}</span>
      </div>
      ${chans.length ? `<div class="section-title">Telemetry</div>
      <div class="chart-controls">
        <div class="seg" role="group" aria-label="Time range">${ranges.map(([l, v]) => `<button type="button" data-range="${v}" aria-pressed="${v === this.range}">${l}</button>`).join('')}</div>
        <label>Aggregation <select id="agg">${aggs.map((a) => `<option ${a === this.agg ? 'selected' : ''}>${a}</option>`).join('')}</select></label>
        <span class="muted" style="font-size:11px">drag to zoom · double-click resets</span>
      </div>
      <div id="charts"></div>` : ''}
      ${t.type === 'slope' ? '<div id="ls-slope" class="ls-slope"></div>' : ''}
      <div class="section-title">Properties</div>
      <table class="kv">${rows || '<tr><td class="muted">none</td></tr>'}${labels}</table>
      <div class="section-title">Relationships</div>
      <div class="rels">${out || ''}${incHtml || ''}${!out && !incHtml ? '<span class="muted">none</span>' : ''}</div>`;
    this.el.querySelectorAll<HTMLButtonElement>('.rels .link').forEach((b) => b.addEventListener('click', () => this.onNavigate(b.dataset.id!)));
    this.el.querySelectorAll<HTMLButtonElement>('[data-range]').forEach((b) => b.addEventListener('click', () => {
      this.range = Number(b.dataset.range);
      this.el.querySelectorAll<HTMLButtonElement>('[data-range]').forEach((x) => x.setAttribute('aria-pressed', String(x === b)));
      this.load();
    }));
    this.el.querySelector<HTMLSelectElement>('#agg')?.addEventListener('change', (e) => { this.agg = (e.target as HTMLSelectElement).value; this.load(); });
    const lsHost = this.el.querySelector<HTMLElement>('#ls-slope');
    if (lsHost) this.onSlope(id, lsHost);
    const host = this.el.querySelector('#charts');
    if (host) {
      for (const sp of chans) {
        const box = document.createElement('div');
        box.className = 'chart';
        box.dataset.channel = sp.channel;
        box.dataset.twin = sp.twin;
        const link = sp.twin === id ? esc(sp.label) : `${esc(sp.channel)} · <button type="button" class="link" data-id="${esc(sp.twin)}">${esc(sp.twin)}</button>`;
        box.innerHTML = `<div class="ch"><span>${link}${sp.unit ? ` <span class="muted">(${esc(sp.unit)})</span>` : ''}</span><span class="v">—</span></div>`;
        host.appendChild(box);
        box.querySelector<HTMLButtonElement>('.link')?.addEventListener('click', () => this.onNavigate(sp.twin));
        const width = Math.max(200, (host as HTMLElement).clientWidth - 10);
        const rec = { twin: sp.twin, channel: sp.channel, xs: [], ys: [], valueEl: box.querySelector('.v')!, pending: false, sx: [], sy: [], onsets: [] } as unknown as ChartRec;
        rec.plot = new uPlot(this.opts(width, sp.unit, rec), [[], []], box);
        const sl = document.createElement('div');
        sl.className = 'score-label';
        sl.innerHTML = `<span>anomaly score</span><span class="sv" title="latest anomaly score">—</span>`;
        box.appendChild(sl);
        rec.scoreEl = sl.querySelector('.sv')!;
        const sbox = document.createElement('div');
        sbox.className = 'score-strip';
        sbox.setAttribute('role', 'img');
        sbox.setAttribute('aria-label', `anomaly score of ${sp.channel}`);
        box.appendChild(sbox);
        rec.strip = new uPlot(this.stripOpts(width, rec), [[], []], sbox);
        this.charts.push(rec);
      }
      this.load();
    }
  }

  updateStatus() {
    const r = this.st.twins.get(this.id);
    const b = this.el.querySelector('#twin-status');
    if (!r || !b) return;
    b.className = `badge ${r.status}`;
    b.textContent = r.status === 'stale' ? 'no data' : r.status === 'alarm' ? 'critical' : r.status === 'warn' ? 'warning' : 'reporting';
  }

  private links(ids: string[]): string {
    const max = 24;
    const shown = ids.slice(0, max).map((x) => {
      const n = this.st.twins.get(x)?.twin.name || x;
      return `<button type="button" class="link" data-id="${esc(x)}" title="${esc(x)}">${esc(n.length > 38 ? n.slice(0, 36) + '…' : n)}</button>`;
    }).join(', ');
    return shown + (ids.length > max ? ` <span class="muted">and ${ids.length - max} more</span>` : '');
  }

  private opts(width: number, unit: string, rec?: ChartRec): uPlot.Options {
    const cs = getComputedStyle(document.documentElement);
    const text = cs.getPropertyValue('--muted').trim();
    const grid = cs.getPropertyValue('--border').trim();
    const accent = cs.getPropertyValue('--accent').trim();
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '11px system-ui' };
    return {
      width, height: 140, ms: 1,
      padding: [10, 16, 0, 0], // the score strip below uses the same right padding so the time axes line up
      tzDate: (ts: number) => uPlot.tzDate(new Date(ts), 'Asia/Hong_Kong'),
      cursor: { drag: { x: true, y: false } },
      legend: { show: false },
      scales: { x: { time: true } },
      axes: [
        { ...axis, values: (_u, vals) => vals.map((v, i) => (v == null ? '' : hkTick(v, i === 0 ? null : vals[i - 1]))) },
        { ...axis, size: 56, values: (_u, vals) => { const step = vals.length > 1 ? Math.abs(vals[1] - vals[0]) : 1; const d = step > 0 ? Math.max(0, Math.min(4, -Math.floor(Math.log10(step)))) : 0; return vals.map((v) => (v == null ? '' : v.toFixed(d))); } },
      ],
      series: [{}, { label: unit, stroke: accent, width: 1.5, fill: accent + '22', points: { show: false }, spanGaps: false }],
      hooks: rec ? {
        draw: [(u: uPlot) => drawOnsets(u, rec.onsets, cs.getPropertyValue('--alarm').trim())],
        // Zooming the chart zooms its score strip too.
        setScale: [(u: uPlot, key: string) => { if (key === 'x' && rec.strip) rec.strip.setScale('x', { min: u.scales.x.min!, max: u.scales.x.max! }); }],
      } : {},
    };
  }

  /** The score strip: same width and time axis as the chart, y fixed to [0, 1]. */
  private stripOpts(width: number, rec: ChartRec): uPlot.Options {
    const cs = getComputedStyle(document.documentElement);
    const grid = cs.getPropertyValue('--border').trim();
    const alarm = cs.getPropertyValue('--alarm').trim();
    const warn = cs.getPropertyValue('--warn').trim();
    return {
      width, height: 34, ms: 1,
      padding: [3, 16, 3, 0],
      cursor: { show: false },
      legend: { show: false },
      scales: { x: { time: true, range: () => { const s = rec.plot.scales.x; return [s.min ?? 0, s.max ?? 1]; } }, y: { range: [0, 1] } },
      axes: [{ show: false }, { size: 56, stroke: 'transparent', grid: { show: false }, ticks: { show: false }, values: () => [] }],
      series: [{}, { stroke: warn, width: 1, fill: warn + '44', points: { show: false }, paths: uPlot.paths.stepped!({ align: 1 }) }],
      hooks: {
        drawClear: [(u: uPlot) => {
          // A threshold line at the onset score and a frame.
          const ctx = u.ctx;
          const y = Math.round(u.valToPos(onsetThreshold, 'y', true)) + 0.5;
          ctx.save();
          ctx.strokeStyle = alarm; ctx.setLineDash([3, 3]); ctx.lineWidth = 1;
          ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke();
          ctx.setLineDash([]); ctx.strokeStyle = grid;
          ctx.strokeRect(u.bbox.left + 0.5, u.bbox.top + 0.5, u.bbox.width - 1, u.bbox.height - 1);
          ctx.restore();
        }],
      },
    };
  }

  /** Fetches the selected range for every chart. */
  async load() {
    const gen = ++this.gen;
    const now = this.st.simNow || Date.now();
    const from = now - this.range;
    let agg = this.agg;
    if (agg === 'auto') agg = this.range <= 6 * 3600e3 ? 'raw' : 'mean';
    const step = agg === 'raw' ? 0 : this.range / 300;
    await Promise.all(this.charts.map(async (c) => {
      try {
        const pts = await series(c.twin, c.channel, from, now + 60e3, step, agg);
        if (gen !== this.gen) return;
        c.xs = pts.map((p) => p.ts);
        c.ys = pts.map((p) => p.value);
        // Scores aggregate by max so that an onset is never averaged away.
        let sc: Array<{ ts: number; value: number }> = [];
        try { sc = await series(c.twin, c.channel + '.anomaly', from, now + 60e3, step, step > 0 ? 'max' : agg); } catch (e) { console.warn('score', c.channel, e); }
        if (gen !== this.gen) return;
        c.sx = sc.map((p) => p.ts);
        c.sy = sc.map((p) => p.value);
        c.onsets = onsetsOf(c.sx, c.sy);
        c.plot.setData([c.xs, c.ys]);
        c.strip.setData([c.sx, c.sy]);
        if (pts.length) c.valueEl.textContent = fmtNum(pts[pts.length - 1].value, 2);
        c.scoreEl.textContent = sc.length ? fmtNum(sc[sc.length - 1].value, 3) : 'none';
        c.plot.root.dataset.onsets = String(c.onsets.length);
      } catch (e) {
        c.valueEl.textContent = 'error';
        console.warn('series', c.channel, e);
      }
    }));
  }

  /** Appends a live sample to the chart of its channel. */
  /** Twins whose samples this panel charts. */
  watched(): Set<string> { return new Set(this.charts.map((c) => c.twin)); }

  /** Points currently charted (for tests). */
  points(): number { return this.charts.reduce((n, c) => n + c.xs.length, 0); }

  /** Reloads done because telemetry of a charted twin was deleted (for tests). */
  deletionReloads = 0;

  /** Draws the charts again from what is stored, after a deletion. */
  reloadAfterDeletion() {
    this.deletionReloads++;
    this.load().catch((e) => console.warn('reload after a deletion', e));
  }

  /** The charts' series and their times (for tests). */
  charted(): Array<{ twin: string; channel: string; xs: number[] }> {
    return this.charts.map((c) => ({ twin: c.twin, channel: c.channel, xs: c.xs.slice() }));
  }

  live(twin: string, channel: string, ts: number, value: number) {
    if (channel.endsWith('.anomaly')) { this.liveScore(twin, channel.slice(0, -8), ts, value); return; }
    const c = this.charts.find((x) => x.twin === twin && x.channel === channel);
    if (!c) return;
    c.valueEl.textContent = fmtNum(value, 2);
    if (this.agg !== 'auto' && this.agg !== 'raw') return; // aggregated views refresh on a timer
    if (this.agg === 'auto' && this.range > 6 * 3600e3) return;
    if (c.xs.length && ts <= c.xs[c.xs.length - 1]) return;
    c.xs.push(ts);
    c.ys.push(value);
    const from = ts - this.range;
    while (c.xs.length && c.xs[0] < from) { c.xs.shift(); c.ys.shift(); }
    const sfrom = ts - this.range;
    while (c.sx.length && c.sx[0] < sfrom) { c.sx.shift(); c.sy.shift(); }
    while (c.onsets.length && c.onsets[0] < sfrom) c.onsets.shift();
    this.redraw(c);
  }

  private redraw(c: ChartRec) {
    if (c.pending) return;
    c.pending = true;
    requestAnimationFrame(() => {
      c.pending = false;
      c.plot.setData([c.xs, c.ys], true);
      c.strip.setData([c.sx, c.sy], true);
      c.plot.root.dataset.onsets = String(c.onsets.length);
    });
  }

  private liveScore(twin: string, channel: string, ts: number, value: number) {
    const c = this.charts.find((x) => x.twin === twin && x.channel === channel);
    if (!c) return;
    c.scoreEl.textContent = fmtNum(value, 3);
    if (this.agg !== 'auto' && this.agg !== 'raw') return;
    if (this.agg === 'auto' && this.range > 6 * 3600e3) return;
    if (c.sx.length && ts <= c.sx[c.sx.length - 1]) return;
    c.sx.push(ts);
    c.sy.push(value);
    if (value >= onsetThreshold && (c.sy.length < 2 || c.sy[c.sy.length - 2] < onsetThreshold)) c.onsets.push(ts);
    this.redraw(c);
  }

  /** Score strips and onsets currently drawn (for tests). */
  scores(): Array<{ twin: string; channel: string; points: number; onsets: number }> {
    return this.charts.map((c) => ({ twin: c.twin, channel: c.channel, points: c.sx.length, onsets: c.onsets.length }));
  }

  resize() {
    const host = this.el.querySelector('#charts') as HTMLElement | null;
    if (!host) return;
    for (const c of this.charts) {
      c.plot.setSize({ width: Math.max(200, host.clientWidth - 10), height: 140 });
      c.strip.setSize({ width: Math.max(200, host.clientWidth - 10), height: 34 });
    }
  }

  get lastLoaded(): string { return fmtTime(this.st.simNow); }
}

/** Onset times: the first point of each run of scores at or above the threshold. */
export function onsetsOf(xs: number[], ys: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < ys.length; i++) if (ys[i] >= onsetThreshold && (i === 0 || ys[i - 1] < onsetThreshold)) out.push(xs[i]);
  return out;
}

/** Vertical dashed markers at the onsets on a channel chart. */
function drawOnsets(u: uPlot, onsets: number[], color: string) {
  if (!onsets.length) return;
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  ctx.save();
  ctx.strokeStyle = color; ctx.fillStyle = color; ctx.lineWidth = 1.5 * devicePixelRatio; ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
  for (const ts of onsets) {
    const x = Math.round(u.valToPos(ts, 'x', true));
    if (x < left || x > left + width) continue;
    ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
    ctx.beginPath(); ctx.moveTo(x - 4 * devicePixelRatio, top); ctx.lineTo(x + 4 * devicePixelRatio, top); ctx.lineTo(x, top + 6 * devicePixelRatio); ctx.fill();
  }
  ctx.restore();
}
