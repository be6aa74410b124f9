// The alerts panel: live feed, filters, acknowledge with a comment, jump
// to the twin. It reads /api/v1/alerts and the live stream's "alert"
// events; without an alerts API it says so and stays empty.
import { getJSON, sendJSON, HttpError, type Alert } from './api';
import { State, esc, fmtNum, fmtTime } from './state';
import { actorLabel, whoami } from './whoami';

export class AlertsPanel {
  private sevFilter = '';
  private stateFilter = 'open';
  private text = '';
  private openForm = '';
  private scheduled = false;
  /** Who acknowledgements are recorded as (from the token). */
  private me = '';
  onJump: (id: string) => void = () => {};
  onChange: () => void = () => {};

  constructor(private el: HTMLElement, private st: State) {
    el.innerHTML = `
      <div class="alert-filters">
        <label class="visually-hidden" for="af-text">Filter alerts</label>
        <input id="af-text" type="search" placeholder="Filter by twin, rule or text">
        <label class="visually-hidden" for="af-sev">Severity</label>
        <select id="af-sev"><option value="">All severities</option><option value="critical">Critical</option><option value="warning">Warning</option><option value="info">Info</option></select>
        <label class="visually-hidden" for="af-state">State</label>
        <select id="af-state"><option value="open">Open</option><option value="raised">Unacknowledged</option><option value="acknowledged">Acknowledged</option><option value="cleared">Cleared</option><option value="">All</option></select>
      </div>
      <div id="alerts-body" aria-live="polite"></div>`;
    el.querySelector<HTMLInputElement>('#af-text')!.addEventListener('input', (e) => { this.text = (e.target as HTMLInputElement).value.toLowerCase(); this.render(); });
    el.querySelector<HTMLSelectElement>('#af-sev')!.addEventListener('change', (e) => { this.sevFilter = (e.target as HTMLSelectElement).value; this.render(); });
    el.querySelector<HTMLSelectElement>('#af-state')!.addEventListener('change', (e) => { this.stateFilter = (e.target as HTMLSelectElement).value; this.render(); });
    void whoami().then((p) => { this.me = actorLabel(p); if (this.openForm) this.render(); });
  }

  async load() {
    try {
      let cursor = '';
      for (let i = 0; i < 10; i++) {
        const q = new URLSearchParams({ limit: '1000' });
        if (cursor) q.set('cursor', cursor);
        const page = await getJSON<{ items: Alert[]; next?: string }>(`/api/v1/alerts?${q}`);
        for (const a of page.items || []) this.st.alerts.set(a.id, a);
        if (!page.next) break;
        cursor = page.next;
      }
      this.st.alertsAvailable = true;
    } catch (e) {
      if (e instanceof HttpError && (e.status === 404 || e.status === 405)) this.st.alertsAvailable = false;
      else console.warn('alerts', e);
    }
    this.render();
    this.onChange();
  }

  /** An alert change from the live stream. */
  update(a: Alert) {
    if (!a || !a.id) return;
    this.st.alerts.set(a.id, a);
    this.st.alertsAvailable = true;
    this.schedule();
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => { this.scheduled = false; this.render(); this.onChange(); }, 250);
  }

  openCount(): { open: number; critical: number } {
    let open = 0, critical = 0;
    for (const a of this.st.alerts.values()) {
      if (a.state === 'raised' || a.state === 'acknowledged') {
        open++;
        if (a.severity === 'critical' && a.state === 'raised') critical++;
      }
    }
    return { open, critical };
  }

  private matches(a: Alert): boolean {
    if (this.sevFilter && a.severity !== this.sevFilter) return false;
    if (this.stateFilter === 'open' && !(a.state === 'raised' || a.state === 'acknowledged')) return false;
    if (this.stateFilter && this.stateFilter !== 'open' && a.state !== this.stateFilter) return false;
    if (this.text) {
      const name = this.st.twins.get(a.twin || '')?.twin.name || '';
      const hay = `${a.summary} ${a.twin} ${name} ${a.rule} ${a.channel} ${a.reason}`.toLowerCase();
      if (!hay.includes(this.text)) return false;
    }
    return true;
  }

  render() {
    const body = this.el.querySelector('#alerts-body')!;
    if (this.st.alertsAvailable === false) {
      body.innerHTML = `<div class="empty"><p><strong>No alerts API on this server.</strong></p><p>This build of tsingma does not serve <code>/api/v1/alerts</code>; the feed stays empty rather than showing invented alerts.</p></div>`;
      return;
    }
    // Keep the form the operator is typing in.
    const active = document.activeElement as HTMLElement | null;
    if (this.openForm && active && body.contains(active) && (active.tagName === 'TEXTAREA' || active.tagName === 'INPUT')) return;
    const sevRank: Record<string, number> = { critical: 0, warning: 1, info: 2 };
    const list = [...this.st.alerts.values()].filter((a) => this.matches(a)).sort((a, b) => {
      const oa = a.state === 'raised' ? 0 : a.state === 'acknowledged' ? 1 : 2;
      const ob = b.state === 'raised' ? 0 : b.state === 'acknowledged' ? 1 : 2;
      if (oa !== ob) return oa - ob;
      if ((sevRank[a.severity] ?? 3) !== (sevRank[b.severity] ?? 3)) return (sevRank[a.severity] ?? 3) - (sevRank[b.severity] ?? 3);
      return String(b.raisedAt).localeCompare(String(a.raisedAt));
    }).slice(0, 300);
    if (list.length === 0) {
      body.innerHTML = `<div class="empty"><p><strong>No ${this.stateFilter === 'open' ? 'open ' : ''}alerts.</strong></p><p>Alerts raised by the platform's rules appear here as they happen. Try the black rainstorm in Scenario.</p></div>`;
      return;
    }
    body.innerHTML = `<ul class="alerts">${list.map((a) => this.item(a)).join('')}</ul>`;
    body.querySelectorAll<HTMLButtonElement>('[data-jump]').forEach((b) => b.addEventListener('click', () => this.onJump(b.dataset.jump!)));
    body.querySelectorAll<HTMLButtonElement>('[data-ack]').forEach((b) => b.addEventListener('click', () => {
      this.openForm = this.openForm === b.dataset.ack ? '' : b.dataset.ack!;
      this.render();
      body.querySelector<HTMLTextAreaElement>(`form[data-form="${CSS.escape(this.openForm)}"] textarea`)?.focus();
    }));
    body.querySelectorAll<HTMLFormElement>('form[data-form]').forEach((f) => f.addEventListener('submit', (e) => { e.preventDefault(); this.ack(f); }));
    body.querySelectorAll<HTMLButtonElement>('[data-cancel]').forEach((b) => b.addEventListener('click', () => { this.openForm = ''; this.render(); }));
  }

  private item(a: Alert): string {
    const twin = a.twin ? this.st.twins.get(a.twin)?.twin : undefined;
    const when = a.raisedAt ? fmtTime(Date.parse(a.raisedAt), true) : '';
    const val = a.value !== undefined ? `${fmtNum(a.value, 2)}${a.unit ? ' ' + esc(a.unit) : ''}` : '';
    const form = this.openForm === a.id ? `
      <form data-form="${esc(a.id)}">
        <p class="muted as">As <b>${esc(this.me || '…')}</b> (the access token's principal; the server records it)</p>
        <label class="visually-hidden" for="c-${esc(a.id)}">Comment</label>
        <textarea id="c-${esc(a.id)}" name="comment" rows="2" placeholder="Comment (what you are doing about it)" required></textarea>
        <div class="row"><button type="submit" class="primary">Acknowledge</button><button type="button" class="btn" data-cancel>Cancel</button><span class="err muted" role="alert"></span></div>
      </form>` : '';
    return `<li class="alert ${esc(a.severity)} ${esc(a.state)}" data-alert="${esc(a.id)}">
      <div class="row"><span class="badge ${esc(a.severity)}">${esc(a.severity)}</span><span class="sum">${esc(a.summary)}</span></div>
      <div class="meta"><span>${esc(a.state)}</span><span>${when}</span>${val ? `<span>${val}</span>` : ''}${a.count && a.count > 1 ? `<span>×${a.count}</span>` : ''}</div>
      <div class="row" style="margin-top:4px">${a.twin ? `<button type="button" class="link" data-jump="${esc(a.twin)}">${esc(twin?.name || a.twin)}</button>` : ''}
        <span style="flex:1"></span>${a.state === 'raised' ? `<button type="button" class="btn" data-ack="${esc(a.id)}" aria-expanded="${this.openForm === a.id}">Acknowledge…</button>` : ''}</div>
      ${a.acknowledged ? `<div class="acked">Acknowledged by ${esc(a.acknowledged.by)}${a.acknowledged.comment ? `: “${esc(a.acknowledged.comment)}”` : ''}</div>` : ''}
      ${form}
    </li>`;
  }

  private async ack(f: HTMLFormElement) {
    const id = f.dataset.form!;
    const comment = (f.elements.namedItem('comment') as HTMLTextAreaElement).value.trim();
    const err = f.querySelector('.err')!;
    if (!comment) { err.textContent = 'A comment is required.'; return; }
    try {
      const a = await sendJSON<Alert>('POST', `/api/v1/alerts/${encodeURIComponent(id)}/ack`, { comment });
      if (a && a.id) this.st.alerts.set(a.id, a);
      this.openForm = '';
      (document.activeElement as HTMLElement | null)?.blur();
      this.render();
      this.onChange();
    } catch (e) {
      err.textContent = String((e as Error).message || e);
    }
  }
}
