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

export class HttpError extends Error {
  constructor(public status: number, message: string) { super(message); }
}

async function check(r: Response): Promise<Response> {
  if (!r.ok) {
    let detail = r.statusText;
    try { const p = await r.json(); detail = p.detail || p.title || detail; } catch { /* not JSON */ }
    throw new HttpError(r.status, `${r.status} ${detail}`);
  }
  return r;
}

export async function getJSON<T>(path: string, signal?: AbortSignal): Promise<T> {
  const r = await check(await fetch(path, { headers: { Accept: 'application/json' }, signal }));
  return r.json() as Promise<T>;
}

export async function sendJSON<T>(method: string, path: string, body: unknown): Promise<T> {
  const r = await check(await fetch(path, { method, headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body) }));
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
