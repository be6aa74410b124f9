// tsingma console: boots the state, the map, the panels and the live stream.
import { allTwins, getJSON, readSSE, setOnUnauthorized, setToken, token, type Alert, type StreamSample, type Twin, type TwinType } from './api';
import { State, esc, fmtNum, fmtTime } from './state';
import { TwinMap, groups, groupOf, rainBucket } from './map';
import { TwinPanel } from './panel';
import { AlertsPanel } from './alerts';
import { DataCentreView, FleetTable, ScenarioControl } from './views';
import { LandslideLayer } from './landslide';
import { RoutePlanner } from './routes';
import { GovernanceView } from './governance';

const st = new State();
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const tmap = new TwinMap($('map'), st);
const panel = new TwinPanel($('pane-details'), st);
const alerts = new AlertsPanel($('pane-alerts'), st);
const dc = new DataCentreView($('dc'), st);
const fleet = new FleetTable($('pane-fleet'), st);
const scenario = new ScenarioControl($('scenario'));
const landslide = new LandslideLayer(tmap, st, $('landslide'), $('ls-banner'));
const routes = new RoutePlanner(tmap, fleet.routesEl);
panel.onSlope = (id, host) => { void landslide.slopePanel(id, host); };
const gov = new GovernanceView($('gov'));
gov.clock = () => st.simNow || Date.now();
let view: 'map' | 'fleet' | 'dc' | 'gov' = 'map';
let samplesSeen = 0;
let simAnchor = { sim: 0, wall: 0, speed: 1 };

// --- selection and tabs ---
function selectTab(name: 'details' | 'alerts' | 'fleet') {
  for (const t of ['details', 'alerts', 'fleet']) {
    $('tab-' + t).setAttribute('aria-selected', String(t === name));
    $('pane-' + t).hidden = t !== name;
  }
  if (name === 'fleet') fleet.render();
  if (name === 'alerts') alerts.render();
  if (name === 'details') requestAnimationFrame(() => panel.resize());
}
for (const t of ['details', 'alerts', 'fleet'] as const) $('tab-' + t).addEventListener('click', () => selectTab(t));
document.querySelector('.tabs')!.addEventListener('keydown', (e) => {
  const ke = e as KeyboardEvent;
  if (ke.key !== 'ArrowRight' && ke.key !== 'ArrowLeft') return;
  const tabs = ['details', 'alerts', 'fleet'] as const;
  const cur = tabs.findIndex((t) => $('tab-' + t).getAttribute('aria-selected') === 'true');
  const next = tabs[(cur + (ke.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
  selectTab(next);
  $('tab-' + next).focus();
});

function select(id: string, fly = true) {
  if (!st.twins.has(id)) return;
  panel.show(id);
  fleet.selected = id;
  selectTab('details');
  const r = st.twins.get(id)!;
  if (r.twin.geometry && (view === 'dc' || view === 'gov')) setView('map');
  tmap.select(id, fly);
  history.replaceState(null, '', `#twin=${encodeURIComponent(id)}`);
}
tmap.onSelect = (id) => select(id, false);
panel.onNavigate = (id) => select(id);
alerts.onJump = (id) => select(id);
dc.onSelect = (id) => select(id, false);
landslide.onSelect = (id) => select(id, false);
fleet.onSelect = (id) => select(id);
scenario.onFocus = (ids) => {
  const first = ids.find((x) => st.twins.has(x));
  if (first) select(first);
};
alerts.onChange = () => {
  const { open, critical } = alerts.openCount();
  const c = $('alert-count');
  c.textContent = String(open);
  c.className = 'count' + (critical ? ' alarm' : '');
  recomputeStatus(true);
};

// --- views ---
function setView(v: typeof view) {
  view = v;
  document.querySelectorAll<HTMLButtonElement>('.views button').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.view === v)));
  $('dc').hidden = v !== 'dc';
  $('gov').hidden = v !== 'gov';
  $('map').style.visibility = v === 'dc' || v === 'gov' ? 'hidden' : 'visible';
  $('ls-banner').style.visibility = v === 'gov' || v === 'dc' ? 'hidden' : 'visible';
  tmap.fleetMode = v === 'fleet';
  tmap.refresh();
  landslide.draw();
  routes.setVisible(v === 'fleet');
  if (v === 'fleet') { tmap.fitFleet(); selectTab('fleet'); }
  if (v === 'map') tmap.fitAll();
  if (v === 'dc') dc.render();
  if (v === 'gov') {
    // Each governance page has its own fragment (#gov/queue, ...).
    if (!location.hash.startsWith('#gov')) history.replaceState(null, '', '#gov/registry');
    void gov.load();
  } else if (location.hash.startsWith('#gov')) {
    history.replaceState(null, '', location.pathname + location.search);
  }
}
window.addEventListener('hashchange', () => {
  if (!location.hash.startsWith('#gov')) return;
  if (view !== 'gov') setView('gov'); else void gov.load();
});
document.querySelectorAll<HTMLButtonElement>('.views button').forEach((b) => b.addEventListener('click', () => setView(b.dataset.view as typeof view)));

// --- layers ---
function renderLayers() {
  const counts = tmap.counts();
  $('layers').innerHTML = groups.map((g) => `<li><label><input type="checkbox" data-group="${g.key}" ${g.on ? 'checked' : ''}>
    <span class="ring" style="border-color:${g.ring}" aria-hidden="true"></span>${esc(g.label)}<span class="c">${counts.get(g.key) || 0}</span></label></li>`).join('');
}
$('layers').addEventListener('change', (e) => {
  const cb = e.target as HTMLInputElement;
  const g = groups.find((x) => x.key === cb.dataset.group);
  if (g) { g.on = cb.checked; tmap.refresh(); }
});

// --- KPIs ---
function renderKpis() {
  let reporting = 0, total = 0, warn = 0, alarm = 0, stale = 0;
  for (const r of st.twins.values()) {
    total++;
    if (r.status === 'alarm') alarm++; else if (r.status === 'warn') warn++; else if (r.status === 'stale') stale++; else reporting++;
  }
  const { open } = alerts.openCount();
  let maxRain = 0;
  for (const r of st.twins.values()) if (r.twin.type === 'rain-gauge') maxRain = Math.max(maxRain, (r.latest.get('rainfall')?.value || 0) * 12);
  $('kpis').innerHTML = `
    <div class="kpi"><div class="v">${total}</div><div class="l">twins</div></div>
    <div class="kpi ${open ? 'alarm' : ''}"><div class="v">${st.alertsAvailable === false ? '—' : open}</div><div class="l">open alerts</div></div>
    <div class="kpi ${alarm ? 'alarm' : warn ? 'warn' : ''}"><div class="v">${alarm + warn}</div><div class="l">twins in alarm/warning</div></div>
    <div class="kpi"><div class="v">${stale}</div><div class="l">twins without data</div></div>
    <div class="kpi ${maxRain >= 70 ? 'alarm' : maxRain >= 30 ? 'warn' : ''}"><div class="v">${fmtNum(maxRain, 0)}</div><div class="l">peak rain, mm/h (5-min)</div></div>
    <div class="kpi"><div class="v">${fmtNum(samplesRate, 0)}</div><div class="l">samples/s streamed</div></div>`;
  void reporting;
}

// --- status recomputation, throttled ---
let lastRecompute = 0;
const rainSeen = new Map<string, number>();
function recomputeStatus(force = false) {
  const now = performance.now();
  if (!force && now - lastRecompute < 1000) return;
  lastRecompute = now;
  const changed = st.recompute(st.simNow || Date.now());
  let rainChanged = false;
  for (const r of st.twins.values()) {
    if (r.twin.type !== 'rain-gauge') continue;
    const b = rainBucket(r.latest.get('rainfall')?.value);
    if (rainSeen.get(r.twin.id) !== b) { rainSeen.set(r.twin.id, b); rainChanged = true; }
  }
  if (changed.size || st.dirty.size || rainChanged) { tmap.refresh(); st.dirty.clear(); }
  if (changed.has(panel.id)) panel.updateStatus();
}

// --- search ---
const search = $<HTMLInputElement>('search');
const results = $<HTMLUListElement>('search-results');
let hits: Twin[] = [];
let cursor = -1;
function renderSearch() {
  const q = search.value.trim().toLowerCase();
  if (!q) { results.hidden = true; search.setAttribute('aria-expanded', 'false'); return; }
  hits = [];
  for (const r of st.twins.values()) {
    const t = r.twin;
    if (t.id.toLowerCase().includes(q) || (t.name || '').toLowerCase().includes(q)) { hits.push(t); if (hits.length >= 40) break; }
  }
  cursor = hits.length ? 0 : -1;
  results.innerHTML = hits.length ? hits.map((t, i) => `<li role="option" id="sr-${i}" data-id="${esc(t.id)}" aria-selected="${i === cursor}"><span>${esc(t.name || t.id)}</span><span class="t">${esc(t.type)}</span></li>`).join('')
    : `<li class="muted" role="option" aria-disabled="true">No twin matches “${esc(q)}”</li>`;
  results.hidden = false;
  search.setAttribute('aria-expanded', 'true');
  search.setAttribute('aria-activedescendant', cursor >= 0 ? `sr-${cursor}` : '');
}
search.addEventListener('input', renderSearch);
search.addEventListener('keydown', (e) => {
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    if (!hits.length) return;
    cursor = (cursor + (e.key === 'ArrowDown' ? 1 : hits.length - 1)) % hits.length;
    results.querySelectorAll('li').forEach((li, i) => li.setAttribute('aria-selected', String(i === cursor)));
    search.setAttribute('aria-activedescendant', `sr-${cursor}`);
    results.querySelector(`#sr-${cursor}`)?.scrollIntoView({ block: 'nearest' });
  } else if (e.key === 'Enter' && cursor >= 0) {
    select(hits[cursor].id);
    results.hidden = true;
  } else if (e.key === 'Escape') {
    search.value = ''; results.hidden = true;
  }
});
results.addEventListener('mousedown', (e) => {
  const li = (e.target as HTMLElement).closest<HTMLElement>('[data-id]');
  if (li) { e.preventDefault(); select(li.dataset.id!); results.hidden = true; }
});
search.addEventListener('blur', () => setTimeout(() => { results.hidden = true; }, 150));
document.addEventListener('keydown', (e) => {
  const tag = (e.target as HTMLElement).tagName;
  if (e.key === '/' && tag !== 'INPUT' && tag !== 'TEXTAREA' && tag !== 'SELECT') { e.preventDefault(); search.focus(); }
});

// --- theme and about ---
$('theme').addEventListener('click', () => {
  const next = document.documentElement.dataset.theme === 'light' ? 'dark' : 'light';
  document.documentElement.dataset.theme = next;
  try { localStorage.setItem('tsingma-theme', next); } catch { /* private mode */ }
  tmap.applyTheme();
  landslide.refreshTheme();
  if (panel.id) panel.show(panel.id);
});
$('about-btn').addEventListener('click', () => ($('about') as HTMLDialogElement).showModal());

// --- clock ---
function tickClock() {
  let now = st.simNow;
  if (simAnchor.sim) now = Math.max(now, simAnchor.sim + (performance.now() - simAnchor.wall) * simAnchor.speed);
  $('simtime').textContent = now ? fmtTime(now, true) : '--:--:--';
}

// --- live stream ---
let needResync = false;
let resyncing = false;
async function resync() {
  if (resyncing) return;
  resyncing = true;
  try {
    const list = await allTwins();
    const ids = new Set(list.map((t) => t.id));
    for (const id of [...st.twins.keys()]) if (!ids.has(id)) st.twins.delete(id);
    st.setTwins(list);
    renderLayers();
    await alerts.load();
    recomputeStatus(true);
  } finally {
    resyncing = false;
  }
}
let samplesRate = 0;
let windowCount = 0;
let windowStart = performance.now();
function onStreamEvent(type: string, data: string) {
  switch (type) {
    case 'samples': {
      const batch = JSON.parse(data) as StreamSample[];
      windowCount += batch.length;
      samplesSeen += batch.length;
      const watched = panel.watched();
      for (const s of batch) {
        st.sample(s.twin, s.channel, s.ts, s.value);
        if (watched.has(s.twin)) panel.live(s.twin, s.channel, s.ts, s.value);
      }
      break;
    }
    case 'twin': {
      const d = JSON.parse(data) as { kind: string; id: string; twin?: Twin };
      if (d.twin && d.kind !== 'delete') {
        const isNew = !st.twins.has(d.id);
        st.upsert(d.twin);
        if (isNew) { st.dirty.add(d.id); renderLayers(); }
        else if (d.twin.type === 'vehicle') st.dirtyPositions = true;
      } else if (d.kind === 'delete') {
        st.twins.delete(d.id);
        tmap.refresh();
      }
      break;
    }
    case 'alert': {
      const d = JSON.parse(data);
      alerts.update((d && d.alert) ? d.alert as Alert : d as Alert);
      break;
    }
    case 'telemetry.deleted': {
      // Stored telemetry went (a time range, or whole channels): the charts
      // of that twin are drawn again from what is left.
      const d = JSON.parse(data) as { twin: string };
      if (panel.watched().has(d.twin)) panel.reloadAfterDeletion();
      break;
    }
    case 'overflow':
      needResync = true; // the server cut us off; the loop reconnects
      break;
  }
}

/** Keeps one live stream open, reconnecting (and resyncing) after a break. */
async function connect() {
  const dot = $('conn-dot'), txt = $('conn-text');
  for (let attempt = 0; ; attempt++) {
    const ctl = new AbortController();
    try {
      await readSSE('/api/v1/stream?kinds=samples,twin,alert,telemetry.deleted', () => {
        dot.className = 'dot ok'; txt.textContent = 'live'; attempt = 0;
        if (needResync) { needResync = false; resync().catch((e) => console.warn('resync', e)); }
      }, onStreamEvent, ctl.signal);
    } catch (e) {
      console.warn('stream', e);
    }
    ctl.abort();
    needResync = true;
    dot.className = 'dot warn'; txt.textContent = 'reconnecting';
    await new Promise((r) => setTimeout(r, Math.min(10000, 1000 * 2 ** Math.min(attempt, 3))));
  }
}

// --- sign-in for servers with authentication ---
let askedToken = false;
setOnUnauthorized(() => {
  if (askedToken) return;
  askedToken = true;
  const d = $('login') as HTMLDialogElement;
  (d.querySelector('.err') as HTMLElement).textContent = token() ? 'That token was not accepted.' : '';
  d.showModal();
});
$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  setToken(($('login-token') as HTMLInputElement).value.trim());
  location.reload();
});

// --- boot ---
async function boot() {
  const types = await getJSON<{ items: TwinType[] }>('/api/v1/types');
  for (const t of types.items) st.types.set(t.name, t);
  void connect();
  st.setTwins(await allTwins());
  // Latest values so that the first paint has colours.
  try {
    let cursor = '';
    for (let i = 0; i < 50; i++) {
      const q = new URLSearchParams({ limit: '1000' });
      if (cursor) q.set('cursor', cursor);
      const lat = await getJSON<{ items: Array<{ twin: string; channels: Record<string, { ts: number; value: number }> }>; next?: string }>(`/api/v1/latest?${q}`);
      for (const row of lat.items) for (const [ch, v] of Object.entries(row.channels || {})) st.sample(row.twin, ch, v.ts, v.value);
      if (!lat.next) break;
      cursor = lat.next;
    }
  } catch (e) { console.warn('latest', e); }
  const sc = await scenario.poll();
  if (sc) simAnchor = { sim: sc.simTime, wall: performance.now(), speed: sc.caughtUp ? 1 : sc.effectiveSpeed || sc.speed };
  await alerts.load();
  await landslide.poll();
  renderLayers();
  recomputeStatus(true);
  renderKpis();
  const m = /twin=([^&]+)/.exec(location.hash);
  if (m) select(decodeURIComponent(m[1]));
  if (location.hash.startsWith('#gov')) setView('gov');
  document.body.dataset.ready = 'true';
}

setInterval(tickClock, 250);
// Vehicles move once a second: one repaint for all of them.
setInterval(() => { if (st.dirtyPositions) { st.dirtyPositions = false; tmap.refreshVehicles(); } }, 1000);
setInterval(async () => {
  const dt = (performance.now() - windowStart) / 1000;
  samplesRate = windowCount / dt;
  windowCount = 0; windowStart = performance.now();
  $('speedtag').textContent = scenario.sc ? `${fmtNum(scenario.sc.caughtUp ? 1 : scenario.sc.effectiveSpeed, 0)}×` : 'live';
  recomputeStatus(true);
  renderKpis();
  if (view === 'dc') dc.render();
  if (!$('pane-fleet').hidden) fleet.render();
}, 1000);
setInterval(async () => {
  const sc = await scenario.poll();
  if (sc) simAnchor = { sim: sc.simTime, wall: performance.now(), speed: sc.caughtUp ? 1 : sc.effectiveSpeed || sc.speed };
}, 3000);
setInterval(() => { if (panel.id) panel.load(); }, 30000);
// The model evaluates every 5 simulated minutes: refresh the layer and an open slope's evidence.
setInterval(() => {
  void landslide.poll();
  const host = document.getElementById('ls-slope');
  if (host && panel.id) void landslide.slopePanel(panel.id, host);
}, 15000);
window.addEventListener('resize', () => panel.resize());

boot().catch((e) => {
  console.error('boot', e);
  $('conn-text').textContent = 'error';
  $('conn-dot').className = 'dot alarm';
});

// Exposed for the browser tests.
(window as any).tsingma = { st, tmap, panel, landslide, routes, gov, select, setView, get samplesSeen() { return samplesSeen; }, groupOf };
