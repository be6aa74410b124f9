// The console's in-memory model of twins, their latest values and alerts.
import type { Alert, Twin, TwinType } from './api';

export type Status = 'ok' | 'warn' | 'alarm' | 'stale';
export const statusRank: Record<Status, number> = { stale: 0, ok: 1, warn: 2, alarm: 3 };

export interface Rec {
  twin: Twin;
  latest: Map<string, { ts: number; value: number }>;
  lastTs: number;
  status: Status;
}

export class State {
  twins = new Map<string, Rec>();
  types = new Map<string, TwinType>();
  /** incoming relationships: target id -> [source id, relationship] */
  incoming = new Map<string, Array<[string, string]>>();
  alerts = new Map<string, Alert>();
  alertsAvailable: boolean | null = null;
  simNow = 0;
  dirty = new Set<string>();
  dirtyPositions = false;

  setTwins(list: Twin[]) {
    for (const t of list) this.upsert(t);
  }

  upsert(t: Twin) {
    const r = this.twins.get(t.id);
    if (r) {
      const moved = JSON.stringify(r.twin.geometry) !== JSON.stringify(t.geometry);
      r.twin = t;
      if (moved) this.dirtyPositions = true;
      if (t.type === 'vehicle') return; // vehicles move on every update; they have their own source
    } else {
      this.twins.set(t.id, { twin: t, latest: new Map(), lastTs: 0, status: 'stale' });
    }
    for (const [rel, targets] of Object.entries(t.relationships || {})) {
      for (const target of targets) {
        const list = this.incoming.get(target) || [];
        if (!list.some(([s, r2]) => s === t.id && r2 === rel)) list.push([t.id, rel]);
        this.incoming.set(target, list);
      }
    }
    this.dirty.add(t.id);
  }

  sample(id: string, channel: string, ts: number, value: number) {
    const r = this.twins.get(id);
    if (!r) return;
    r.latest.set(channel, { ts, value });
    if (ts > r.lastTs) r.lastTs = ts;
    if (ts > this.simNow) this.simNow = ts;
  }

  /** Open (not cleared) alerts by twin, worst severity. */
  alertLevel(): Map<string, Status> {
    const m = new Map<string, Status>();
    for (const a of this.alerts.values()) {
      if (!a.twin || a.state === 'cleared' || a.state === 'resolved') continue;
      const s: Status = a.severity === 'critical' ? 'alarm' : a.severity === 'warning' ? 'warn' : 'ok';
      const cur = m.get(a.twin);
      if (!cur || statusRank[s] > statusRank[cur]) m.set(a.twin, s);
    }
    return m;
  }

  /**
   * Recomputes statuses: an open alert sets warn/alarm; otherwise a twin
   * is ok when it reported within its staleness window (or, for twins
   * without channels, when something on it reports), else stale. Returns
   * the ids whose status changed.
   */
  recompute(now: number): Set<string> {
    const changed = new Set<string>();
    const lvl = this.alertLevel();
    const fromChildren = new Map<string, Status>();
    for (const r of this.twins.values()) {
      const own = this.ownStatus(r, now, lvl);
      for (const targets of Object.values(r.twin.relationships || {})) {
        if (r.twin.type === 'rain-gauge') continue; // a gauge covers many slopes; it does not make them ok
        for (const t of targets) {
          const c = fromChildren.get(t);
          if (!c || statusRank[own] > statusRank[c]) fromChildren.set(t, own);
        }
      }
    }
    for (const [id, r] of this.twins) {
      let s = this.ownStatus(r, now, lvl);
      const hasChannels = Object.keys(this.types.get(r.twin.type)?.channels || {}).length > 0;
      const c = fromChildren.get(id);
      if (!hasChannels) s = c && statusRank[c] > statusRank[s] ? c : (lvl.get(id) || (c ? c : 'ok'));
      else if (c && statusRank[c] > statusRank[s] && c !== 'ok') s = c;
      if (s !== r.status) { r.status = s; changed.add(id); }
    }
    return changed;
  }

  private ownStatus(r: Rec, now: number, lvl: Map<string, Status>): Status {
    const a = lvl.get(r.twin.id);
    if (a && a !== 'ok') return a;
    const t = this.types.get(r.twin.type);
    const chans = Object.values(t?.channels || {});
    if (chans.length === 0) return 'ok';
    let window = 0;
    for (const c of chans) window = Math.max(window, parseDuration(c.interval || '5m'));
    window = Math.min(Math.max(window * 3, 15 * 60e3), 3 * 3600e3);
    return r.lastTs > 0 && now - r.lastTs <= window ? 'ok' : 'stale';
  }
}

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(s);
  if (!m) return 300e3;
  const n = parseFloat(m[1]);
  return n * ({ ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 } as Record<string, number>)[m[2]];
}

export function fmtTime(ms: number, withDate = false): string {
  if (!ms) return '--:--:--';
  const d = new Date(ms + 8 * 3600e3); // Hong Kong time, UTC+8
  const p = (n: number) => String(n).padStart(2, '0');
  const t = `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  return withDate ? `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${t}` : t;
}

export function fmtNum(v: number | undefined, digits = 1): string {
  if (v === undefined || v === null || !isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a >= 1000) return v.toLocaleString('en-GB', { maximumFractionDigits: 0 });
  return v.toFixed(a < 1 && a > 0 && digits < 3 ? Math.max(digits, 3) : digits);
}

export function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]!));
}
