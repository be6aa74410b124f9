// The data-centre view, the fleet table and the scenario control.
import { getJSON, sendJSON, type Scenario } from './api';
import { State, esc, fmtNum, fmtTime } from './state';

function latest(st: State, id: string, ch: string): number | undefined {
  return st.twins.get(id)?.latest.get(ch)?.value;
}

/** Inlet temperature to a colour: blue (cool) through green, amber, red (hot). */
function heat(t: number | undefined): string {
  if (t === undefined) return 'var(--panel-2)';
  const stops: Array<[number, number[]]> = [[18, [47, 129, 247]], [23, [63, 185, 80]], [27, [240, 180, 41]], [32, [255, 107, 107]]];
  if (t <= stops[0][0]) return `rgb(${stops[0][1].join(',')})`;
  for (let i = 1; i < stops.length; i++) {
    if (t <= stops[i][0]) {
      const [t0, c0] = stops[i - 1], [t1, c1] = stops[i];
      const f = (t - t0) / (t1 - t0);
      return `rgb(${c0.map((c, k) => Math.round(c + f * (c1[k] - c))).join(',')})`;
    }
  }
  return `rgb(${stops[stops.length - 1][1].join(',')})`;
}

export class DataCentreView {
  onSelect: (id: string) => void = () => {};
  constructor(private el: HTMLElement, private st: State) {
    el.addEventListener('click', (e) => {
      const t = (e.target as HTMLElement).closest<HTMLElement>('[data-id]');
      if (t) this.onSelect(t.dataset.id!);
    });
    el.addEventListener('keydown', (e) => {
      const t = (e.target as HTMLElement).closest<HTMLElement>('[data-id]');
      if (t && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); this.onSelect(t.dataset.id!); }
    });
  }

  render() {
    if (this.el.hidden) return;
    const focusId = (document.activeElement as HTMLElement | null)?.closest?.('[data-id]') && this.el.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.id : undefined;
    this.draw();
    if (focusId) this.el.querySelector<HTMLElement>(`[data-id="${CSS.escape(focusId)}"]`)?.focus();
  }

  private draw() {
    const racks = [...this.st.twins.values()].filter((r) => r.twin.type === 'rack');
    const cus = [...this.st.twins.values()].filter((r) => r.twin.type === 'cooling-unit').sort((a, b) => a.twin.id.localeCompare(b.twin.id));
    const pods = [...this.st.twins.values()].filter((r) => r.twin.type === 'compute-cluster').sort((a, b) => a.twin.id.localeCompare(b.twin.id));
    const hall = [...this.st.twins.values()].find((r) => r.twin.type === 'data-hall');
    if (!hall) { this.el.innerHTML = `<div class="empty">No data hall in this deployment.</div>`; return; }
    const rows = new Map<string, typeof racks>();
    for (const r of racks) {
      const row = String(r.twin.properties?.row ?? '?');
      rows.set(row, [...(rows.get(row) || []), r]);
    }
    const it = latest(this.st, hall.twin.id, 'itPower');
    const design = Number(hall.twin.properties?.designLoad || 0);
    const inlets = racks.map((r) => latest(this.st, r.twin.id, 'inletTemperature')).filter((x): x is number => x !== undefined);
    const maxInlet = inlets.length ? Math.max(...inlets) : undefined;
    const gpu = pods.map((p) => latest(this.st, p.twin.id, 'gpuUtilisation')).filter((x): x is number => x !== undefined);
    const gpuAvg = gpu.length ? gpu.reduce((a, b) => a + b, 0) / gpu.length : undefined;
    const coolPower = cus.map((c) => latest(this.st, c.twin.id, 'power') || 0).reduce((a, b) => a + b, 0);
    const hot = maxInlet !== undefined && maxInlet > 27 ? (maxInlet > 32 ? 'alarm' : 'warn') : '';
    const rowHtml = [...rows.keys()].sort().map((row, i) => `
      <div class="rackrow"><div class="rl">${esc(row)}</div>${rows.get(row)!.sort((a, b) => Number(a.twin.properties?.position) - Number(b.twin.properties?.position)).map((r) => {
        const t = latest(this.st, r.twin.id, 'inletTemperature');
        const p = latest(this.st, r.twin.id, 'power');
        return `<div class="rackcell" role="button" tabindex="0" data-id="${esc(r.twin.id)}" style="background:${heat(t)}" aria-label="${esc(r.twin.name)}: inlet ${fmtNum(t, 1)} °C, ${fmtNum(p, 1)} kW">
          <div class="t">${fmtNum(t, 1)}°</div><div class="p">${fmtNum(p, 1)} kW</div><div class="n">${esc(r.twin.name?.replace('Rack ', ''))}${r.twin.properties?.gpu ? ' · GPU' : ''}</div></div>`;
      }).join('')}</div>${i % 2 === 0 ? '<div class="aisle" title="cold aisle"></div>' : ''}`).join('');
    this.el.innerHTML = `
      <h2>${esc(hall.twin.name)}</h2>
      <div class="sub">Cyberport, Telegraph Bay · tier ${esc(hall.twin.properties?.tier)} · design load ${fmtNum(design, 0)} kW · synthetic telemetry</div>
      <div class="dc-kpis">
        <div class="kpi"><div class="v">${fmtNum(it, 0)} kW</div><div class="l">IT load · ${design ? fmtNum((100 * (it || 0)) / design, 0) : '—'}% of design</div></div>
        <div class="kpi"><div class="v">${fmtNum(gpuAvg, 1)}%</div><div class="l">GPU utilisation (mean of ${pods.length} pods)</div></div>
        <div class="kpi ${hot}"><div class="v">${fmtNum(maxInlet, 1)} °C</div><div class="l">Hottest rack inlet (ASHRAE recommended ≤ 27 °C)</div></div>
        <div class="kpi"><div class="v">${it ? fmtNum((it + coolPower) / it, 2) : '—'}</div><div class="l">Partial PUE (IT + cooling) / IT</div></div>
      </div>
      <div class="dc-grid">
        <section class="hall"><h3>Rack inlet temperature and power</h3>${rowHtml}
          <div class="scale"><span>18 °C</span><span class="bar"></span><span>32 °C+</span></div></section>
        <div class="dc-side">
          <section><h3>Cooling units</h3>${cus.map((c) => {
            const pw = latest(this.st, c.twin.id, 'power');
            const ret = latest(this.st, c.twin.id, 'inletTemperature');
            const sup = latest(this.st, c.twin.id, 'outletTemperature');
            const failed = pw !== undefined && pw < 2;
            return `<div class="unit" role="button" tabindex="0" data-id="${esc(c.twin.id)}"><b>${esc(c.twin.name)}</b>
              <span class="num">${fmtNum(ret, 1)} → ${fmtNum(sup, 1)} °C · ${fmtNum(pw, 1)} kW</span>
              <span class="badge ${failed ? 'alarm' : c.status}">${failed ? 'tripped' : c.status === 'stale' ? 'no data' : c.status === 'ok' ? 'running' : c.status}</span></div>`;
          }).join('')}</section>
          <section><h3>GPU pods</h3>${pods.map((p) => {
            const u = latest(this.st, p.twin.id, 'gpuUtilisation');
            const pw = latest(this.st, p.twin.id, 'power');
            return `<div class="unit" role="button" tabindex="0" data-id="${esc(p.twin.id)}"><b>${esc(p.twin.name)}</b>
              <div class="bar2" aria-hidden="true"><i style="width:${Math.min(100, u || 0)}%"></i></div><span class="num">${fmtNum(u, 1)}% · ${fmtNum(pw, 0)} kW</span></div>`;
          }).join('')}</section>
        </div>
      </div>`;
  }
}

export class FleetTable {
  onSelect: (id: string) => void = () => {};
  selected = '';
  /** Where the planned routes go, above the table. */
  routesEl: HTMLElement;
  private el: HTMLElement;
  constructor(private pane: HTMLElement, private st: State) {
    pane.innerHTML = '<div class="routes" id="routes"></div><div class="fleet-table"></div>';
    this.routesEl = pane.querySelector<HTMLElement>('#routes')!;
    this.el = pane.querySelector<HTMLElement>('.fleet-table')!;
    this.el.addEventListener('click', (e) => {
      const tr = (e.target as HTMLElement).closest<HTMLElement>('[data-id]');
      if (tr) this.onSelect(tr.dataset.id!);
    });
  }

  private last = '';
  render() {
    if (this.pane.hidden) return;
    const focusId = this.el.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.id : undefined;
    const html = this.html();
    if (html === this.last) return;
    this.last = html;
    this.el.innerHTML = html;
    if (focusId) this.el.querySelector<HTMLElement>(`button[data-id="${CSS.escape(focusId)}"]`)?.focus();
  }

  private html(): string {
    const vs = [...this.st.twins.values()].filter((r) => r.twin.type === 'vehicle').sort((a, b) => a.twin.id.localeCompare(b.twin.id));
    const stops = [...this.st.twins.values()].filter((r) => r.twin.type === 'delivery-stop').length;
    let moving = 0;
    const rows = vs.map((r) => {
      const sp = r.latest.get('speed')?.value;
      const lvl = r.latest.get('fuelLevel')?.value ?? r.latest.get('battery')?.value;
      const eng = r.latest.get('engineTemperature')?.value;
      const electric = r.twin.properties?.fuel === 'electric';
      const state = r.status === 'alarm' ? 'alarm' : sp === undefined ? 'no data' : sp > 1 ? 'moving' : 'stopped';
      if (sp !== undefined && sp > 1) moving++;
      return `<tr data-id="${esc(r.twin.id)}" class="${r.twin.id === this.selected ? 'sel' : ''}">
        <td><button type="button" class="link" data-id="${esc(r.twin.id)}">${esc(r.twin.id)}</button></td>
        <td><span class="dot ${r.status}" aria-hidden="true"></span> ${esc(state)}</td>
        <td class="r">${fmtNum(sp, 0)}</td><td class="r">${fmtNum(lvl, 0)}%${electric ? ' ⚡' : ''}</td><td class="r">${fmtNum(eng, 0)}</td></tr>`;
    }).join('');
    return `<p class="muted" style="margin-top:0">${vs.length} vans from the Kwu Tung North depot serving ${stops} stops; ${moving} moving. Trails show each van's recent path.</p>
      <table class="grid"><thead><tr><th scope="col">Vehicle</th><th scope="col">State</th><th scope="col" class="r">km/h</th><th scope="col" class="r">Fuel/batt.</th><th scope="col" class="r">Engine °C</th></tr></thead><tbody>${rows}</tbody></table>`;
  }
}

const speeds = [1, 10, 60, 300, 600, 1800, 3600];

export class ScenarioControl {
  sc: Scenario | null = null;
  available: boolean | null = null;
  onFocus: (ids: string[]) => void = () => {};
  private busy = '';
  private last = '';
  constructor(private el: HTMLElement) {
    el.addEventListener('click', async (e) => {
      const b = (e.target as HTMLElement).closest<HTMLButtonElement>('[data-event]');
      if (b) {
        this.busy = b.dataset.event!;
        this.render();
        try {
          this.sc = await sendJSON<Scenario>('POST', '/api/v1/scenario/events', { event: b.dataset.event });
        } catch (err) { console.warn(err); }
        this.busy = '';
        this.render();
      }
      const f = (e.target as HTMLElement).closest<HTMLButtonElement>('[data-focus]');
      if (f) this.onFocus(f.dataset.focus!.split(','));
    });
    el.addEventListener('change', async (e) => {
      const s = e.target as HTMLSelectElement;
      if (s.id !== 'speed') return;
      try { this.sc = await sendJSON<Scenario>('POST', '/api/v1/scenario/speed', { speed: Number(s.value) }); } catch (err) { console.warn(err); }
      this.render();
    });
  }

  async poll(): Promise<Scenario | null> {
    try {
      this.sc = await getJSON<Scenario>('/api/v1/scenario');
      this.available = true;
    } catch {
      this.available = false;
      this.sc = null;
    }
    this.render();
    return this.sc;
  }

  render() {
    if (this.available === false) {
      this.el.innerHTML = `<p class="muted">This server runs no scenario (start it with <code>tsingma demo</code>, or drive it with <code>tsingma sim</code>).</p>`;
      return;
    }
    const sc = this.sc;
    if (!sc) return;
    const focused = document.activeElement?.id === 'speed';
    const opts = [...new Set([...speeds, sc.speed])].sort((a, b) => a - b);
    const events = sc.events.map((ev) => `
      <div class="event ${ev.active ? 'active' : ''}">
        <span class="t">${esc(ev.title)}</span>
        ${ev.active ? `<span class="state">active</span>` : `<button type="button" class="btn" data-event="${esc(ev.name)}" ${this.busy === ev.name ? 'disabled' : ''}>Trigger</button>`}
        <span class="d">${esc(ev.description)}${ev.active && ev.startedAt ? ` Started ${fmtTime(ev.startedAt)}.` : ''}
        ${ev.twins && ev.twins.length ? ` <button type="button" class="link" data-focus="${esc(ev.twins.join(','))}">Show affected</button>` : ''}</span>
      </div>`).join('');
    const html = `<div class="events">${events}</div>
      <div class="speed"><label for="speed">Speed</label><select id="speed">${opts.map((s) => `<option value="${s}" ${s === sc.speed ? 'selected' : ''}>${s}×</option>`).join('')}</select>
      <span class="muted num" id="speed-state" style="font-size:12px"></span></div>`;
    // Replace the markup only when it changes, so that buttons under the
    // pointer or the keyboard stay put.
    if (html !== this.last && !focused) {
      const had = (document.activeElement as HTMLElement | null)?.dataset?.event;
      this.el.innerHTML = html;
      this.last = html;
      if (had) this.el.querySelector<HTMLElement>(`[data-event="${had}"]`)?.focus();
    }
    const stEl = this.el.querySelector('#speed-state');
    if (stEl) stEl.textContent = sc.caughtUp ? 'live (caught up with now)' : `running at ${fmtNum(sc.effectiveSpeed, 0)}×`;
  }
}
