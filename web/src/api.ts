// Thin client for tsingma's HTTP API.

export interface Geometry { type: string; coordinates: any }
export interface Twin {
  id: string; type: string; name?: string;
  properties?: Record<string, unknown>; geometry?: Geometry;
  relationships?: Record<string, string[]>; labels?: Record<string, string>;
  revision?: number;
}
export interface ChannelDef { unit?: string; min?: number; max?: number; interval?: string; description?: string }
export interface TwinType {
  name: string; description?: string;
  properties?: Record<string, { type: string; unit?: string }>;
  channels?: Record<string, ChannelDef>;
  relationships?: Record<string, { target: string }>;
}
export interface StreamSample { twin: string; channel: string; type: string; ts: number; value: number }
export interface Point { ts: number; value: number }
export interface Alert {
  id: string; key?: string; source?: string; rule?: string; twin?: string; type?: string; channel?: string;
  severity: string; state: string; summary: string; reason?: string; unit?: string; value?: number; peak?: number;
  startsAt?: string; raisedAt?: string; clearedAt?: string; count?: number;
  acknowledged?: { by?: string; comment?: string; at?: string };
  resolved?: { by?: string; comment?: string; at?: string };
}
export interface EventInfo { name: string; title: string; description: string; active: boolean; startedAt?: number; twins?: string[] }
export interface Scenario {
  scenario: string; seed: number; ready: boolean; speed: number; effectiveSpeed: number; simTime: number; start: number;
  caughtUp: boolean; events: EventInfo[]; twins: number; samplesHttp: number; samplesMqtt: number; rejected: number;
  positions: number; lastError?: string;
  focus: { bridge: string; site: string; depot: string; warehouse: string; hall: string; susceptible: string[] };
}

/** An RFC 9457 problem as the API returns it. */
export interface Problem { type?: string; title?: string; status?: number; detail?: string; errors?: string[] }

export class HttpError extends Error {
  constructor(public status: number, message: string, public problem?: Problem) { super(message); }
}

// Servers with authentication want "Authorization: Bearer <token>". The
// token lives in this tab's sessionStorage. `tsingma demo` prints a console
// URL ending in #token=...: it is taken from the fragment (which browsers
// never send to the server) and the fragment is cleared.
const tokenKey = 'tsingma-token';
(function tokenFromFragment() {
  try {
    const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (m) {
      sessionStorage.setItem(tokenKey, decodeURIComponent(m[1]));
      history.replaceState(null, '', location.pathname + location.search);
    }
  } catch { /* private mode or no history: the sign-in dialog remains */ }
})();
export function token(): string {
  try { return sessionStorage.getItem(tokenKey) || ''; } catch { return ''; }
}
export function setToken(t: string) {
  try { if (t) sessionStorage.setItem(tokenKey, t); else sessionStorage.removeItem(tokenKey); } catch { /* private mode */ }
}
export function headers(h: Record<string, string> = {}): Record<string, string> {
  const t = token();
  return t ? { ...h, Authorization: `Bearer ${t}` } : h;
}
/** Called once when the server asks for a token (401). */
export let onUnauthorized: () => void = () => {};
export function setOnUnauthorized(f: () => void) { onUnauthorized = f; }

async function check(r: Response): Promise<Response> {
  if (r.status === 401) onUnauthorized();
  if (!r.ok) {
    let detail = r.statusText;
    let problem: Problem | undefined;
    try { problem = await r.json() as Problem; detail = problem.detail || problem.title || detail; } catch { /* not JSON */ }
    throw new HttpError(r.status, `${r.status} ${detail}`, problem);
  }
  return r;
}

export async function getJSON<T>(path: string, signal?: AbortSignal): Promise<T> {
  const r = await check(await fetch(path, { headers: headers({ Accept: 'application/json' }), signal }));
  return r.json() as Promise<T>;
}

/** GET a body as text (reports, HTML). */
export async function getText(path: string, accept = 'text/html'): Promise<string> {
  const r = await check(await fetch(path, { headers: headers({ Accept: accept }) }));
  return r.text();
}

/** POST raw bytes (document registration). */
export async function sendBytes<T>(path: string, body: Blob | ArrayBuffer, type = 'application/octet-stream'): Promise<T> {
  const r = await check(await fetch(path, { method: 'POST', headers: headers({ 'Content-Type': type, Accept: 'application/json' }), body }));
  return r.json() as Promise<T>;
}

export async function sendJSON<T>(method: string, path: string, body: unknown): Promise<T> {
  const r = await check(await fetch(path, { method, headers: headers({ 'Content-Type': 'application/json', Accept: 'application/json' }), body: JSON.stringify(body) }));
  const text = await r.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Every twin, page by page. */
export async function allTwins(): Promise<Twin[]> {
  const out: Twin[] = [];
  let cursor = '';
  for (let i = 0; i < 200; i++) {
    const q = new URLSearchParams({ limit: '1000' });
    if (cursor) q.set('cursor', cursor);
    const page = await getJSON<{ items: Twin[]; next?: string }>(`/api/v1/twins?${q}`);
    out.push(...page.items);
    if (!page.next) break;
    cursor = page.next;
  }
  return out;
}

export async function series(id: string, channel: string, from: number, to: number, step: number, agg: string): Promise<Point[]> {
  const q = new URLSearchParams({ from: String(Math.floor(from)), to: String(Math.ceil(to)) });
  if (step > 0) { q.set('step', `${Math.max(1, Math.round(step / 1000))}s`); q.set('agg', agg); }
  const r = await getJSON<{ points: Point[] }>(`/api/v1/twins/${encodeURIComponent(id)}/telemetry/${encodeURIComponent(channel)}?${q}`);
  return r.points;
}

/**
 * Reads a Server-Sent Events stream with fetch (EventSource cannot send an
 * Authorization header). Resolves when the server ends the stream.
 */
export async function readSSE(path: string, onOpen: () => void, onEvent: (type: string, data: string) => void, signal: AbortSignal): Promise<void> {
  const r = await check(await fetch(path, { headers: headers({ Accept: 'text/event-stream' }), signal, cache: 'no-store' }));
  onOpen();
  const reader = r.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let ev = 'message';
  let data: string[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    // One split per chunk (slicing line by line would copy the rest of
    // the buffer for every line).
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (let line of lines) {
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (data.length) onEvent(ev, data.length === 1 ? data[0] : data.join('\n'));
        ev = 'message';
        data = [];
        continue;
      }
      if (line.charCodeAt(0) === 58) continue; // ':' comment
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      let v = c < 0 ? '' : line.slice(c + 1);
      if (v.charCodeAt(0) === 32) v = v.slice(1);
      if (field === 'event') ev = v;
      else if (field === 'data') data.push(v);
    }
  }
}
