// The governance view: the model registry (systems, versions, aliases,
// transitions), impact assessments with evidence, the sign-off queue,
// shadow trials, drift, replay reports, and the audit log with a button
// that verifies the whole log on the server. Each page has a URL
// fragment (#gov/registry, #gov/assessment/<id>, #gov/queue,
// #gov/reports, #gov/report/<id>, #gov/audit), so it can be linked and
// reloaded. Every action goes through the public API with the console's
// token; a refusal is shown as the server's problem+json detail.
import { getJSON, getText, sendBytes, sendJSON, HttpError, type Problem } from './api';
import { esc, fmtNum } from './state';
import { whoami, type Principal } from './whoami';

interface Gate { tier?: string; reasons?: string[]; evaluations?: string[]; sign_offs?: string[]; review_interval_days?: number }
interface Questionnaire { affects_people?: boolean; personal_data?: boolean; automated_decision?: boolean; safety_critical?: boolean; customer_facing_genai?: boolean; third_party_model?: boolean }
interface Version { version: string; family?: string; config?: unknown; config_hash: string; artefact_hash: string; lineage?: string; outputs?: string[]; created_by: string; created: string; audit_seq: number }
interface Transition { alias: string; from?: string; to?: string; by: string; reason: string; at: string; audit_seq: number }
interface Incident { kind: string; detail: string; by: string; at: string; audit_seq: number }
export interface System {
  id: string; name: string; purpose?: string; owner?: string; oversight?: string; stage?: string; vendor?: string; personal_data?: boolean;
  questionnaire?: Questionnaire; gate?: Gate; versions?: Version[]; aliases?: Record<string, string>; transitions?: Transition[]; incidents?: Incident[];
  created?: string; created_by?: string;
}
interface Evidence { kind: string; ref: string; detail?: string }
interface Answer { text: string; evidence?: Evidence[]; by: string; at: string }
interface SignOff { step: string; by: string; role: string; comment?: string; at: string; audit_seq: number }
export interface Assessment {
  id: string; system: string; version: string; catalogue?: string; questionnaire?: Questionnaire; gate: Gate; answers?: Record<string, Answer>;
  sign_offs?: SignOff[]; state: string; invalidated?: string; preparer?: string; created?: string; review_due?: string;
}
interface Criterion { id: string; text: string; evidence?: boolean }
interface Principle { id: string; name: string; group: string; summary: string; criteria: Criterion[] }
interface Catalogue { id: string; version: string; source: string; principles: Principle[] }
export interface Evaluation { id: string; kind: string; system: string; version: string; against?: string; pass: boolean; summary: string; report_hash: string; by: string; created: string; audit_seq: number }
interface ShadowOutput { twin: string; channel: string; ts: number; score: number; alert: boolean }
interface ShadowStats { system: string; version: string; fraction: number; started: string; seen: number; sampled: number; scored: number; dropped: number; alerts: number; errors: number; panics: number; recent?: ShadowOutput[] }
interface AuditEntry { seq: number; time: string; tenant: string; kind: string; actor?: string; subject?: string; data?: unknown }
interface Checkpoint { checkpoint: { origin: string; size: number; root: string; time: string; key_id: string }; entries: number; public_key: string }
export interface VerifyResult { ok: boolean; entries: number; checkpoints: number; trusted_checkpoints?: number; signed_size: number; unsigned: number; key_id?: string; key_pinned?: boolean; error?: string; detail?: string }
interface DriftWindow { count: number; from?: number; to?: number }
export interface DriftStatus {
  system: string; version?: string; assessment?: string; state: string; detail?: string; psi?: number; ks?: number; tail_psi?: number; tail_rate?: [number, number]; threshold: number;
  window: string; min_samples: number; baseline?: DriftWindow & { recorded?: string }; recent?: DriftWindow; incident?: { at: string; detail: string; audit_seq: number };
}
interface Metrics { samples: number; errors: number; alerts: number; series_days: number; true_positives?: number; false_positives?: number; windows?: number; detected?: number; precision?: number; recall?: number; f1?: number }
interface Onset { twin: string; channel: string; ts: number; score: number }
interface ModelRef { version: string; family: string; config_hash: string }
interface Interval { metric: string; champion: number; challenger: number; diff: number; low: number; high: number }
interface BacktestReport { system: string; model: ModelRef; from: string; to: string; seed: number; series: number; labels: number; match_window: string; rejected?: string; metrics: Metrics; criteria: string; pass: boolean; alerts?: Onset[] }
interface ComparisonReport {
  system: string; champion: ModelRef; challenger: ModelRef; from: string; to: string; seed: number; series: number; labels: number; blocks: number; resamples: number;
  match_window: string; rejected?: string[]; metrics: [Metrics, Metrics]; intervals: Interval[]; both: number; only_champion?: Onset[]; only_challenger?: Onset[];
  n_only_champion: number; n_only_challenger: number; criteria: string; pass: boolean;
}

type Page = 'registry' | 'assessments' | 'assessment' | 'queue' | 'reports' | 'report' | 'audit';
const pages: Array<[Page, string]> = [['registry', 'Registry'], ['assessments', 'Assessments'], ['queue', 'Sign-off queue'], ['reports', 'Trials and reports'], ['audit', 'Audit log']];

/** Hong Kong time, minutes. */
export function when(t?: string | number): string {
  if (t === undefined || t === '' || t === 0) return '—';
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!isFinite(ms) || ms <= 0) return '—';
  return new Date(ms + 8 * 3600e3).toISOString().slice(0, 16).replace('T', ' ') + ' HKT';
}

/** The problem+json of a failed call, for display. */
export function problemHTML(e: unknown): string {
  const p: Problem | undefined = e instanceof HttpError ? e.problem : undefined;
  const msg = p?.detail || p?.title || (e as Error)?.message || String(e);
  const status = e instanceof HttpError ? `${e.status} ` : '';
  const type = p?.type ? ` <span class="mono muted">${esc(p.type.replace(/^.*:problem:/, ''))}</span>` : '';
  const reasons = p?.errors?.length ? `<ul>${p.errors.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : '';
  return `<div class="verify bad problem" role="alert"><b>${esc(status)}Refused.</b>${type} <span class="detail">${esc(msg)}</span>${reasons}</div>`;
}

const stepRole: Record<string, string[]> = { preparer: ['model-owner', 'admin'], reviewer: ['reviewer', 'admin'], approver: ['approver', 'admin'] };

/** The next sign-off step of an assessment, or '' when none is due. */
export function nextStep(a: Assessment): string {
  if (a.state !== 'draft' && a.state !== 'in-review') return '';
  return (a.gate.sign_offs || [])[(a.sign_offs || []).length] || '';
}

/** Whether p could sign a's next step as far as the console can tell (the server decides). */
export function forMe(a: Assessment, p: Principal): boolean {
  const step = nextStep(a);
  if (!step || !stepRole[step]?.includes(p.role)) return false;
  if (step === 'preparer') return a.preparer === p.name;
  return true;
}

function tierBadge(t?: string): string {
  return `<span class="tier ${esc(t || '')}">${esc(t || '—')}</span>`;
}

function stateBadge(s: string): string {
  const cls = s === 'approved' ? 'ok' : s === 'reassessment-due' ? 'alarm' : s === 'in-review' ? 'warn' : '';
  return `<span class="state-badge ${cls}">${esc(s)}</span>`;
}

function pct(v?: number): string { return v === undefined || v === null ? '—' : (v * 100).toFixed(1) + '%'; }
function hex(s: string, n = 12): string { return s ? `<span class="mono" title="${esc(s)}">${esc(s.slice(0, n))}…</span>` : '—'; }
function isoLocal(ms: number): string { return new Date(ms - new Date().getTimezoneOffset() * 60e3).toISOString().slice(0, 16); }

export class GovernanceView {
  page: Page = 'registry';
  arg = '';
  me: Principal | null = null;
  systems: System[] = [];
  assessments: Assessment[] = [];
  evaluations: Evaluation[] = [];
  shadows: ShadowStats[] = [];
  drift: DriftStatus[] = [];
  catalogue: Catalogue | null = null;
  checkpoint: Checkpoint | null = null;
  verified: VerifyResult | null = null;
  entries: AuditEntry[] = [];
  entriesFrom = -1;
  /** Only governance and token events (kinds with a dot), not twin, rule and alert changes. */
  govOnly = true;
  /** The report on screen (#gov/report/<id>). */
  report: { ev: Evaluation; body: BacktestReport | ComparisonReport | ShadowStats | unknown; html?: string } | null = null;
  /** Evidence chosen per criterion before the answer is sent. */
  private picked = new Map<string, Evidence[]>();
  private drafts = new Map<string, string>();
  private messages = new Map<string, string>();
  /** Data time now (the demo's simulated clock runs ahead of the wall clock). */
  clock: () => number = () => Date.now();
  private verifying = false;
  private busy = '';
  private error = '';

  constructor(private el: HTMLElement) {
    el.addEventListener('click', (e) => { void this.onClick(e); });
    el.addEventListener('submit', (e) => { e.preventDefault(); void this.onSubmit(e.target as HTMLFormElement); });
  }

  /** Reads the page from the URL fragment and loads it. */
  async load() {
    const m = /^#gov(?:\/([a-z]+))?(?:\/(.+))?$/.exec(location.hash);
    const p = (m?.[1] || 'registry') as Page;
    this.page = ['registry', 'assessments', 'assessment', 'queue', 'reports', 'report', 'audit'].includes(p) ? p : 'registry';
    this.arg = m?.[2] ? decodeURIComponent(m[2]) : '';
    this.report = null;
    this.error = '';
    this.renderShell('<p class="muted">Loading…</p>');
    try {
      this.me = await whoami();
      await this.fetchPage();
    } catch (e) {
      this.error = problemHTML(e);
    }
    this.render();
  }

  /** Navigates inside the view (the hashchange handler calls load). */
  go(hash: string) {
    if (location.hash === hash) void this.load(); else location.hash = hash;
  }

  private async fetchPage() {
    const need: Array<Promise<unknown>> = [];
    const sys = () => getJSON<{ items: System[] }>('/api/v1/governance/systems').then((r) => { this.systems = r.items || []; });
    const ass = () => getJSON<{ items: Assessment[] }>('/api/v1/governance/assessments').then((r) => { this.assessments = r.items || []; });
    const evs = () => getJSON<{ items: Evaluation[] }>('/api/v1/governance/evaluations').then((r) => { this.evaluations = (r.items || []).slice().sort((a, b) => b.created.localeCompare(a.created)); });
    const cat = () => this.catalogue ? Promise.resolve() : getJSON<Catalogue>('/api/v1/governance/principles').then((c) => { this.catalogue = c; });
    switch (this.page) {
      case 'registry': need.push(sys(), ass()); break;
      case 'assessments': need.push(sys(), ass(), cat()); break;
      case 'assessment': need.push(sys(), ass(), evs(), cat(), this.loadEntries(-1).catch(() => { /* the audit log needs reviewer or approver */ })); break;
      case 'queue': need.push(ass(), cat()); break;
      case 'reports':
        need.push(sys(), evs(),
          getJSON<{ items: ShadowStats[] }>('/api/v1/governance/shadows').then((r) => { this.shadows = r.items || []; }),
          getJSON<{ items: DriftStatus[] }>('/api/v1/governance/drift').then((r) => { this.drift = r.items || []; }).catch(() => { this.drift = []; }));
        break;
      case 'report': need.push(this.loadReport(this.arg)); break;
      case 'audit':
        need.push(getJSON<Checkpoint>('/api/v1/audit/checkpoint').then((c) => { this.checkpoint = c; return this.loadEntries(-1); }));
        break;
    }
    const res = await Promise.allSettled(need);
    const bad = res.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    if (bad) this.error = problemHTML(bad.reason);
  }

  /** Loads 1,000 entries from `from` (the newest 1,000 when negative). */
  private async loadEntries(from: number) {
    let start = from;
    if (start < 0) {
      const c = await getJSON<Checkpoint>('/api/v1/audit/checkpoint');
      this.checkpoint = c;
      start = Math.max(0, c.entries - 1000);
    }
    const r = await getJSON<{ items: AuditEntry[]; next?: number }>(`/api/v1/audit/entries?from=${start}&limit=1000`);
    this.entries = (r.items || []).slice().reverse();
    this.entriesFrom = start;
  }

  private async loadReport(id: string) {
    const ev = await getJSON<Evaluation>(`/api/v1/governance/evaluations/${encodeURIComponent(id)}`);
    const body = await getJSON<unknown>(`/api/v1/governance/evaluations/${encodeURIComponent(id)}/report`);
    this.report = { ev, body };
  }

  // --- events ---

  private async onClick(e: Event) {
    const t = (e.target as HTMLElement).closest<HTMLElement>('[data-act]');
    if (!t) return;
    const act = t.dataset.act!;
    const arg = t.dataset.arg || '';
    switch (act) {
      case 'nav': this.go(arg); return;
      case 'verify': await this.verify(); return;
      case 'older': await this.run(() => this.loadEntries(Math.max(0, this.entriesFrom - 1000))); return;
      case 'gov-only': this.govOnly = (t as HTMLInputElement).checked; this.render(); return;
      case 'newest': await this.run(() => this.loadEntries(-1)); return;
      case 'unpick': {
        const [crit, i] = arg.split('|');
        const list = this.picked.get(crit) || [];
        list.splice(Number(i), 1);
        this.render();
        return;
      }
      case 'pick': {
        const crit = arg;
        const form = this.el.querySelector<HTMLFormElement>(`form[data-criterion="${CSS.escape(crit)}"]`)!;
        this.saveDraft(form);
        const kind = (form.elements.namedItem('ev-kind') as HTMLSelectElement).value;
        const sel = form.querySelector<HTMLSelectElement>(`select[name="ev-${kind}"]`);
        const typed = form.querySelector<HTMLInputElement>(`input[name="ev-${kind}-ref"]`);
        const ref = (typed?.value.trim() || sel?.value || '').trim();
        if (!ref) { this.messages.set(crit, 'Choose an evaluation, an audit entry or a document first.'); this.render(); return; }
        const list = this.picked.get(crit) || [];
        if (!list.some((x) => x.kind === kind && x.ref === ref)) list.push({ kind, ref });
        this.picked.set(crit, list);
        this.messages.delete(crit);
        this.render();
        return;
      }
      case 'html': await this.run(async () => {
        if (this.report) this.report.html = await getText(`/api/v1/governance/evaluations/${encodeURIComponent(this.report.ev.id)}/report?format=html`);
      }); return;
      case 'stop-shadow': await this.run(() => sendJSON('DELETE', `/api/v1/governance/systems/${encodeURIComponent(arg)}/shadow`, undefined).then(() => this.fetchPage()), 'shadow:' + arg); return;
      case 'record-shadow': await this.run(async () => {
        const ev = await sendJSON<Evaluation>('POST', `/api/v1/governance/systems/${encodeURIComponent(arg)}/shadow/evaluation`, {});
        this.go(`#gov/report/${encodeURIComponent(ev.id)}`);
      }, 'shadow:' + arg); return;
      case 'rollback': await this.run(async () => {
        await sendJSON('POST', `/api/v1/governance/systems/${encodeURIComponent(arg)}/rollback`, { reason: 'rollback from the console' });
        await this.fetchPage();
      }, 'sys:' + arg); return;
    }
  }

  private async onSubmit(f: HTMLFormElement) {
    const kind = f.dataset.form || '';
    const v = (n: string) => ((f.elements.namedItem(n) as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement | null)?.value ?? '').trim();
    const key = f.dataset.key || kind;
    await this.run(async () => {
      switch (kind) {
        case 'answer': {
          const crit = f.dataset.criterion!;
          const body = { text: v('text'), evidence: (this.picked.get(crit) || []).map((x) => ({ kind: x.kind, ref: x.ref })) };
          const a = await sendJSON<Assessment>('PUT', `/api/v1/governance/assessments/${encodeURIComponent(this.arg)}/answers/${encodeURIComponent(crit)}`, body);
          this.replaceAssessment(a);
          this.picked.delete(crit);
          this.drafts.delete(crit);
          this.messages.set(crit, 'Saved.');
          return;
        }
        case 'document': {
          const crit = f.dataset.criterion!;
          const input = f.querySelector<HTMLInputElement>('input[type=file]')!;
          const file = input.files?.[0];
          if (!file) throw new Error('choose a file');
          const d = await sendBytes<{ sha256: string; name: string }>(`/api/v1/governance/documents?name=${encodeURIComponent(file.name)}`, await file.arrayBuffer());
          const list = this.picked.get(crit) || [];
          list.push({ kind: 'document', ref: d.sha256 });
          this.picked.set(crit, list);
          return;
        }
        case 'sign': {
          const a = await sendJSON<Assessment>('POST', `/api/v1/governance/assessments/${encodeURIComponent(f.dataset.id!)}/signoffs`, { step: f.dataset.step, comment: v('comment') });
          this.replaceAssessment(a);
          this.messages.set(key, `Signed as ${f.dataset.step}.`);
          return;
        }
        case 'start-assessment': {
          const s = this.systems.find((x) => x.id === f.dataset.system)!;
          const a = await sendJSON<Assessment>('POST', '/api/v1/governance/assessments', { system: s.id, version: v('version'), questionnaire: s.questionnaire || {} });
          this.go(`#gov/assessment/${encodeURIComponent(a.id)}`);
          return;
        }
        case 'version': {
          const cfg = v('config');
          const body: Record<string, unknown> = { version: v('version'), family: v('family') || undefined, artefact_hash: v('artefact_hash'), lineage: v('lineage') || undefined };
          if (cfg) {
            try { body.config = JSON.parse(cfg); } catch { throw new Error('configuration: not valid JSON'); }
          }
          await sendJSON('POST', `/api/v1/governance/systems/${encodeURIComponent(f.dataset.system!)}/versions`, body);
          this.messages.set(key, `Version ${v('version')} registered.`);
          await this.fetchPage();
          return;
        }
        case 'alias': {
          await sendJSON('POST', `/api/v1/governance/systems/${encodeURIComponent(f.dataset.system!)}/aliases/${encodeURIComponent(v('alias'))}`, { version: v('version'), reason: v('reason') });
          this.messages.set(key, `${v('alias')} is now ${v('version')}.`);
          await this.fetchPage();
          return;
        }
        case 'promote': {
          await sendJSON('POST', `/api/v1/governance/systems/${encodeURIComponent(f.dataset.system!)}/promote`, { version: v('version'), reason: v('reason') });
          this.messages.set(key, `${v('version')} is champion.`);
          await this.fetchPage();
          return;
        }
        case 'incident': {
          await sendJSON('POST', `/api/v1/governance/systems/${encodeURIComponent(f.dataset.system!)}/incidents`, { kind: v('kind'), detail: v('detail') });
          this.messages.set(key, 'Recorded; approved assessments of the system are now due for re-assessment.');
          await this.fetchPage();
          return;
        }
        case 'shadow': {
          await sendJSON('POST', `/api/v1/governance/systems/${encodeURIComponent(v('system'))}/shadow`, { version: v('version'), fraction: Number(v('fraction')) || 1 });
          await this.fetchPage();
          return;
        }
        case 'replay': {
          const what = v('kind');
          const from = Date.parse(v('from')), to = Date.parse(v('to'));
          if (!isFinite(from) || !isFinite(to)) throw new Error('from and to are required');
          const body: Record<string, unknown> = { system: v('system'), from: new Date(from).toISOString(), to: new Date(to).toISOString(), seed: Number(v('seed')) || 0 };
          const twins = v('twins').split(/[\s,]+/).filter(Boolean);
          if (twins.length) body.series = await seriesOf(twins);
          if (what === 'comparison') {
            body.challenger = v('version');
            if (v('champion')) body.champion = v('champion');
            body.resamples = Number(v('resamples')) || 1000;
          } else {
            body.version = v('version');
          }
          const r = await sendJSON<{ evaluation: Evaluation }>('POST', `/api/v1/governance/${what === 'comparison' ? 'comparisons' : 'backtests'}`, body);
          this.go(`#gov/report/${encodeURIComponent(r.evaluation.id)}`);
          return;
        }
      }
    }, key);
  }

  /** Runs an action; its refusal is shown next to the form it came from (key). */
  private async run(fn: () => Promise<unknown>, key = '') {
    this.busy = key || 'page';
    this.messages.delete(key);
    this.render();
    try {
      await fn();
    } catch (e) {
      this.messages.set(key, problemHTML(e));
      if (!key) this.error = problemHTML(e);
    }
    this.busy = '';
    this.render();
  }

  private replaceAssessment(a: Assessment) {
    const i = this.assessments.findIndex((x) => x.id === a.id);
    if (i >= 0) this.assessments[i] = a; else this.assessments.push(a);
  }

  private saveDraft(f: HTMLFormElement) {
    const t = f.elements.namedItem('text') as HTMLTextAreaElement | null;
    if (t) this.drafts.set(f.dataset.criterion!, t.value);
  }

  async verify() {
    this.verifying = true;
    this.render();
    try {
      this.verified = await sendJSON<VerifyResult>('POST', '/api/v1/audit/verify', {});
    } catch (e) {
      this.verified = { ok: false, entries: 0, checkpoints: 0, signed_size: 0, unsigned: 0, error: (e as Error).message };
    }
    this.verifying = false;
    try { this.checkpoint = await getJSON<Checkpoint>('/api/v1/audit/checkpoint'); } catch { /* keep the previous one */ }
    this.render();
    this.el.querySelector<HTMLButtonElement>('#audit-verify')?.focus();
  }

  // --- rendering ---

  private msg(key: string): string {
    const m = this.messages.get(key);
    if (!m) return '';
    return m.startsWith('<') ? m : `<p class="verify ok saved" role="status">${esc(m)}</p>`;
  }

  private renderShell(body: string) {
    const cur = this.page === 'assessment' ? 'assessments' : this.page === 'report' ? 'reports' : this.page;
    const nav = pages.map(([p, label]) => `<button type="button" class="btn" data-act="nav" data-arg="#gov/${p}" data-page="${p}" aria-current="${p === cur ? 'page' : 'false'}">${esc(label)}</button>`).join('');
    const me = this.me ? `<span class="muted whoami">Acting as <b>${esc(this.me.name)}</b> · ${esc(this.me.role || 'no role')} · tenant ${esc(this.me.tenant)}</span>` : '';
    this.el.innerHTML = `<div class="gov" data-page="${this.page}">
      <div class="gov-head"><h2>AI governance</h2>${me}</div>
      <nav class="gov-nav" aria-label="Governance pages">${nav}</nav>
      ${this.error}
      ${body}
    </div>`;
  }

  render() {
    let body = '';
    switch (this.page) {
      case 'registry': body = this.arg ? this.systemPage(this.arg) : this.registryPage(); break;
      case 'assessments': body = this.assessmentsPage(); break;
      case 'assessment': body = this.assessmentPage(this.arg); break;
      case 'queue': body = this.queuePage(); break;
      case 'reports': body = this.reportsPage(); break;
      case 'report': body = this.reportPage(); break;
      case 'audit': body = this.auditPage(); break;
    }
    // Keep answers being typed across re-renders.
    this.el.querySelectorAll<HTMLFormElement>('form[data-form="answer"]').forEach((f) => this.saveDraft(f));
    const focus = document.activeElement as HTMLElement | null;
    const fid = focus && this.el.contains(focus) ? focus.id : '';
    this.renderShell(body);
    if (fid) this.el.querySelector<HTMLElement>('#' + CSS.escape(fid))?.focus();
  }

  private registryPage(): string {
    const rows = this.systems.map((s) => {
      const n = this.assessments.filter((a) => a.system === s.id);
      const cur = n.find((a) => a.state === 'approved');
      const al = (k: string) => s.aliases?.[k] ? `<span class="mono">${esc(s.aliases[k])}</span>` : '—';
      return `<tr data-system="${esc(s.id)}"><th scope="row"><button type="button" class="link" data-act="nav" data-arg="#gov/registry/${esc(encodeURIComponent(s.id))}"><b>${esc(s.name)}</b></button><div class="muted mono">${esc(s.id)}</div></th>
        <td>${esc(s.stage || '—')}</td><td>${tierBadge(s.gate?.tier)}</td><td>${esc(s.oversight || '—')}</td>
        <td>${al('champion')}</td><td>${al('challenger')}</td><td>${al('shadow')}</td><td class="r">${s.versions?.length || 0}</td>
        <td>${cur ? `approved${cur.review_due ? `, review ${esc(when(cur.review_due))}` : ''}` : n.length ? stateBadge(n[n.length - 1].state) : '<span class="warn-text">none</span>'}</td></tr>
        <tr class="purpose"><td colspan="9" class="muted">${esc(s.purpose || '')}${s.gate?.reasons?.length ? ` · tier because: ${esc(s.gate.reasons.join('; '))}` : ''}</td></tr>`;
    }).join('');
    return `<section aria-labelledby="gov-systems"><h3 id="gov-systems">AI systems <span class="count">${this.systems.length}</span></h3>
      <table class="grid gov-systems"><thead><tr><th scope="col">System</th><th scope="col">Stage</th><th scope="col">Risk tier</th><th scope="col">Oversight</th><th scope="col">Champion</th><th scope="col">Challenger</th><th scope="col">Shadow</th><th scope="col" class="r">Versions</th><th scope="col">Assessment</th></tr></thead>
      <tbody>${rows || '<tr><td colspan="9" class="muted">No AI systems registered.</td></tr>'}</tbody></table></section>`;
  }

  private systemPage(id: string): string {
    const s = this.systems.find((x) => x.id === id);
    if (!s) return `<p class="muted">No AI system ${esc(id)}.</p>`;
    const vers = (s.versions || []);
    const opts = vers.map((v) => `<option value="${esc(v.version)}">${esc(v.version)}</option>`).join('');
    const aliasOf = (v: string) => Object.entries(s.aliases || {}).filter(([, x]) => x === v).map(([k]) => `<span class="alias ${esc(k)}">${esc(k)}</span>`).join(' ');
    const vrows = vers.map((v) => `<tr data-version="${esc(v.version)}"><td class="mono">${esc(v.version)} ${aliasOf(v.version)}</td><td>${esc(v.family || '—')}</td>
      <td>${hex(v.config_hash)}</td><td>${hex(v.artefact_hash)}</td><td>${esc(v.lineage || '—')}</td><td>${esc(v.created_by)}<div class="muted">${esc(when(v.created))}</div></td><td class="r">#${v.audit_seq}</td></tr>`).join('');
    const trows = (s.transitions || []).slice().reverse().map((t) => `<tr><td>${esc(t.alias)}</td><td class="mono">${esc(t.from || '—')} → ${esc(t.to || '—')}</td><td>${esc(t.by)}</td><td>${esc(t.reason)}</td><td>${esc(when(t.at))}</td><td class="r">#${t.audit_seq}</td></tr>`).join('');
    const irows = (s.incidents || []).slice().reverse().map((i) => `<tr><td>${esc(i.kind)}</td><td>${esc(i.detail)}</td><td>${esc(i.by)}</td><td>${esc(when(i.at))}</td><td class="r">#${i.audit_seq}</td></tr>`).join('');
    const as = this.assessments.filter((a) => a.system === s.id).map((a) => `<li><button type="button" class="link" data-act="nav" data-arg="#gov/assessment/${esc(encodeURIComponent(a.id))}">${esc(a.id)}</button> of <span class="mono">${esc(a.version)}</span> ${stateBadge(a.state)}</li>`).join('');
    const k = (x: string) => `${x}:${s.id}`;
    const b = (x: string) => this.busy === k(x) ? 'disabled' : '';
    return `<p><button type="button" class="link" data-act="nav" data-arg="#gov/registry">← All systems</button></p>
      <section class="gov-system" data-system="${esc(s.id)}"><h3>${esc(s.name)} <span class="mono muted">${esc(s.id)}</span> ${tierBadge(s.gate?.tier)}</h3>
      <table class="kv"><tr><th scope="row">Purpose</th><td>${esc(s.purpose || '—')}</td></tr><tr><th scope="row">Owner</th><td>${esc(s.owner || '—')}</td></tr>
        <tr><th scope="row">Oversight · stage</th><td>${esc(s.oversight || '—')} · ${esc(s.stage || '—')}</td></tr>
        <tr><th scope="row">Third-party vendor · personal data</th><td>${esc(s.vendor || 'none')} · ${s.personal_data ? 'yes' : 'no'}</td></tr>
        <tr><th scope="row">Gate</th><td>evaluations before promotion: ${esc((s.gate?.evaluations || []).join(', ') || 'backtest')}; sign-off: ${esc((s.gate?.sign_offs || []).join(' → '))}; review every ${s.gate?.review_interval_days ?? '—'} days</td></tr>
        <tr><th scope="row">Registered</th><td>${esc(s.created_by || '—')}, ${esc(when(s.created))}</td></tr></table>
      <h3>Versions <span class="count">${vers.length}</span></h3>
      <table class="grid versions"><thead><tr><th scope="col">Version</th><th scope="col">Family</th><th scope="col">Config SHA-256</th><th scope="col">Artefact SHA-256</th><th scope="col">Lineage</th><th scope="col">Registered</th><th scope="col" class="r">Audit</th></tr></thead><tbody>${vrows}</tbody></table>
      <h3>Alias transitions</h3>
      ${trows ? `<table class="grid transitions"><thead><tr><th scope="col">Alias</th><th scope="col">From → to</th><th scope="col">By</th><th scope="col">Reason</th><th scope="col">When</th><th scope="col" class="r">Audit</th></tr></thead><tbody>${trows}</tbody></table>` : '<p class="muted">No transitions.</p>'}
      <h3>Incidents, drift and changes</h3>
      ${irows ? `<table class="grid"><thead><tr><th scope="col">Kind</th><th scope="col">Detail</th><th scope="col">By</th><th scope="col">When</th><th scope="col" class="r">Audit</th></tr></thead><tbody>${irows}</tbody></table>` : '<p class="muted">None recorded.</p>'}
      <h3>Assessments</h3>${as ? `<ul class="plain">${as}</ul>` : '<p class="muted">None.</p>'}
      <div class="gov-forms">
        <form data-form="start-assessment" data-key="${esc(k('start'))}" data-system="${esc(s.id)}" class="gov-form"><h4>Start an impact assessment</h4>
          <label>Version <select name="version">${opts}</select></label><button type="submit" class="primary" ${b('start')}>Start assessment</button>${this.msg(k('start'))}</form>
        <form data-form="promote" data-key="${esc(k('promote'))}" data-system="${esc(s.id)}" class="gov-form"><h4>Promote to champion</h4>
          <label>Version <select name="version">${opts}</select></label><label>Reason <input name="reason" required></label>
          <button type="submit" class="primary" ${b('promote')}>Promote</button>
          <button type="button" class="btn" data-act="rollback" data-arg="${esc(s.id)}">Roll back to the previous champion</button>${this.msg(k('promote'))}${this.msg('sys:' + s.id)}</form>
        <form data-form="alias" data-key="${esc(k('alias'))}" data-system="${esc(s.id)}" class="gov-form"><h4>Move an alias</h4>
          <label>Alias <select name="alias"><option>challenger</option><option>shadow</option></select></label><label>Version <select name="version">${opts}</select></label>
          <label>Reason <input name="reason" required></label><button type="submit" class="btn" ${b('alias')}>Move</button>${this.msg(k('alias'))}</form>
        <form data-form="version" data-key="${esc(k('version'))}" data-system="${esc(s.id)}" class="gov-form"><h4>Register a version</h4>
          <label>Version <input name="version" required placeholder="e.g. my-model/1.1"></label><label>Family <input name="family" value="${esc(vers[0]?.family || '')}"></label>
          <label>Artefact SHA-256 <input name="artefact_hash" required pattern="[0-9a-f]{64}" placeholder="64 hex digits"></label>
          <label>Configuration (JSON) <textarea name="config" rows="2">${esc(vers.length && vers[vers.length - 1].config ? JSON.stringify(vers[vers.length - 1].config) : '')}</textarea></label>
          <label>Lineage <input name="lineage"></label><button type="submit" class="btn" ${b('version')}>Register</button>${this.msg(k('version'))}</form>
        <form data-form="incident" data-key="${esc(k('incident'))}" data-system="${esc(s.id)}" class="gov-form"><h4>Report an incident, drift or change</h4>
          <label>Kind <select name="kind"><option>incident</option><option>drift</option><option>change</option></select></label><label>Detail <input name="detail" required></label>
          <button type="submit" class="btn" ${b('incident')}>Record</button>${this.msg(k('incident'))}</form>
      </div></section>`;
  }

  private assessmentsPage(): string {
    const total = this.catalogue ? this.catalogue.principles.reduce((n, p) => n + p.criteria.length, 0) : 0;
    const rows = this.assessments.slice().reverse().map((a) => `<tr data-assessment="${esc(a.id)}"><td><button type="button" class="link" data-act="nav" data-arg="#gov/assessment/${esc(encodeURIComponent(a.id))}">${esc(a.id)}</button></td>
      <td>${esc(a.system)}</td><td class="mono">${esc(a.version)}</td><td>${tierBadge(a.gate.tier)}</td><td>${stateBadge(a.state)}${a.invalidated ? `<div class="muted">${esc(a.invalidated)}</div>` : ''}</td>
      <td class="r">${Object.keys(a.answers || {}).length}/${total || '—'}</td>
      <td>${esc((a.sign_offs || []).map((x) => `${x.step} (${x.by})`).join(', ') || '—')}</td><td>${esc(nextStep(a) || '—')}</td><td>${esc(when(a.review_due))}</td></tr>`).join('');
    return `<section aria-labelledby="gov-ass"><h3 id="gov-ass">Impact assessments <span class="count">${this.assessments.length}</span></h3>
      <p class="muted">Start one from a system in the <button type="button" class="link" data-act="nav" data-arg="#gov/registry">registry</button>.</p>
      ${rows ? `<table class="grid"><thead><tr><th scope="col">Id</th><th scope="col">System</th><th scope="col">Version</th><th scope="col">Tier</th><th scope="col">State</th><th scope="col" class="r">Answered</th><th scope="col">Sign-offs</th><th scope="col">Next</th><th scope="col">Review due</th></tr></thead><tbody>${rows}</tbody></table>`
        : '<p class="muted">No impact assessments yet.</p>'}</section>`;
  }

  private evidenceOptions(a: Assessment): string {
    const evs = this.evaluations.filter((e) => e.system === a.system);
    const evOpts = evs.map((e) => `<option value="${esc(e.id)}">${esc(e.kind)} of ${esc(e.version)} · ${e.pass ? 'pass' : 'FAIL'} · ${esc(e.summary.slice(0, 80))}</option>`).join('');
    const gov = this.entries.filter((e) => e.kind.includes('.')).slice(0, 200);
    const auOpts = gov.map((e) => `<option value="${e.seq}">#${e.seq} ${esc(e.kind)} ${esc(e.subject || '')} · ${esc(e.actor || '')}</option>`).join('');
    return `<label>Kind <select name="ev-kind"><option value="evaluation">evaluation</option><option value="audit-proof">audit entry (proof)</option><option value="document">document</option></select></label>
      <label>Evaluation <select name="ev-evaluation"><option value="">${evs.length ? '— choose —' : 'no evaluations of this system yet'}</option>${evOpts}</select></label>
      <label>Audit entry <select name="ev-audit-proof"><option value="">${gov.length ? '— choose —' : 'audit log not readable with this role; type the number'}</option>${auOpts}</select></label>
      <label>or entry # <input name="ev-audit-proof-ref" inputmode="numeric" size="6"></label>
      <label>Document SHA-256 <input name="ev-document-ref" size="20" placeholder="registered document"></label>`;
  }

  private assessmentPage(id: string): string {
    const a = this.assessments.find((x) => x.id === id);
    if (!a || !this.catalogue) return `<p class="muted">No assessment ${esc(id)}.</p>`;
    const draft = a.state === 'draft';
    const mine = this.me && a.preparer === this.me.name;
    const total = this.catalogue.principles.reduce((n, p) => n + p.criteria.length, 0);
    const answered = Object.keys(a.answers || {}).length;
    const principles = this.catalogue.principles.map((p) => {
      const crits = p.criteria.map((c) => {
        const ans = a.answers?.[c.id];
        const picked = this.picked.get(c.id) || [];
        const shown = ans ? `<div class="answer"><p>${esc(ans.text)}</p>${(ans.evidence || []).length ? `<ul class="evidence">${(ans.evidence || []).map((e) => `<li><span class="ev-kind">${esc(e.kind)}</span> <span class="mono">${esc(e.ref)}</span> — <span class="muted">${esc(e.detail || '')}</span></li>`).join('')}</ul>` : ''}
          <div class="muted">${esc(ans.by)}, ${esc(when(ans.at))}</div></div>` : '<p class="muted unanswered">Not answered.</p>';
        const form = draft && mine ? `<form data-form="answer" data-criterion="${esc(c.id)}" data-key="${esc(c.id)}" class="answer-form">
            <label>Answer <textarea name="text" rows="2" required>${esc(this.drafts.get(c.id) ?? ans?.text ?? '')}</textarea></label>
            <fieldset><legend>Evidence from the platform${c.evidence ? ' (required)' : ''}</legend>${this.evidenceOptions(a)}
              <button type="button" class="btn" data-act="pick" data-arg="${esc(c.id)}">Attach</button>
              ${picked.length ? `<ul class="picked">${picked.map((e, i) => `<li><span class="ev-kind">${esc(e.kind)}</span> <span class="mono">${esc(e.ref)}</span> <button type="button" class="link" data-act="unpick" data-arg="${esc(c.id)}|${i}" aria-label="Remove">✕</button></li>`).join('')}</ul>` : ''}
            </fieldset>
            <button type="submit" class="primary" ${this.busy === c.id ? 'disabled' : ''}>Save answer</button>${this.msg(c.id)}</form>
          <form data-form="document" data-criterion="${esc(c.id)}" data-key="doc:${esc(c.id)}" class="doc-form"><label>Register a document as evidence <input type="file" name="file"></label><button type="submit" class="btn">Upload and attach</button>${this.msg('doc:' + c.id)}</form>` : '';
        return `<li class="criterion ${ans ? 'done' : ''}" data-criterion="${esc(c.id)}"><div class="crit-head"><span class="mono">${esc(c.id)}</span>${c.evidence ? ' <span class="needs">evidence required</span>' : ''}</div>
          <p class="crit-text">${esc(c.text)}</p>${shown}${form}</li>`;
      }).join('');
      return `<section class="principle"><h4>${esc(p.name)}</h4><p class="muted">${esc(p.summary)}</p><ol class="criteria">${crits}</ol></section>`;
    }).join('');
    const chain = (a.gate.sign_offs || []).map((st, i) => {
      const so = (a.sign_offs || [])[i];
      return `<li class="${so ? 'signed' : i === (a.sign_offs || []).length ? 'next' : ''}"><b>${esc(st)}</b> ${so ? `${esc(so.by)} (${esc(so.role)}), ${esc(when(so.at))}${so.comment ? `: “${esc(so.comment)}”` : ''} · audit #${so.audit_seq}` : '<span class="muted">waiting</span>'}</li>`;
    }).join('');
    return `<p><button type="button" class="link" data-act="nav" data-arg="#gov/assessments">← All assessments</button></p>
      <section class="assessment" data-assessment="${esc(a.id)}"><h3>Impact assessment ${esc(a.id)} ${stateBadge(a.state)}</h3>
      <table class="kv"><tr><th scope="row">System · version</th><td>${esc(a.system)} · <span class="mono">${esc(a.version)}</span></td></tr>
        <tr><th scope="row">Risk tier</th><td>${tierBadge(a.gate.tier)} ${esc((a.gate.reasons || []).join('; '))}</td></tr>
        <tr><th scope="row">Evaluations before promotion</th><td>${esc((a.gate.evaluations || []).join(', ') || 'backtest')}</td></tr>
        <tr><th scope="row">Preparer</th><td>${esc(a.preparer || '—')}</td></tr><tr><th scope="row">Catalogue</th><td>${esc(this.catalogue.id)} ${esc(a.catalogue || '')}</td></tr>
        <tr><th scope="row">Answered</th><td><span class="answered">${answered}</span> of ${total}</td></tr>
        ${a.invalidated ? `<tr><th scope="row">Invalidated</th><td class="warn-text">${esc(a.invalidated)}</td></tr>` : ''}</table>
      <h3>Sign-off</h3><ol class="chain">${chain}</ol>${this.signForm(a)}
      ${draft && !mine ? `<p class="muted">Only the preparer (${esc(a.preparer || '')}) answers; you act as ${esc(this.me?.name || '')}.</p>` : ''}
      <h3>Criteria</h3>${principles}</section>`;
  }

  private signForm(a: Assessment, key = 'sign:' + a.id): string {
    const step = nextStep(a);
    if (!step) return this.msg(key);
    return `<form data-form="sign" data-key="${esc(key)}" data-id="${esc(a.id)}" data-step="${esc(step)}" class="sign-form">
      <label>Comment <input name="comment" id="${esc(key.replace(/[^a-z0-9-]/gi, '-'))}-c"></label>
      <button type="submit" class="primary" ${this.busy === key ? 'disabled' : ''}>Sign as ${esc(step)}</button>${this.msg(key)}</form>`;
  }

  private queuePage(): string {
    const me = this.me!;
    const open = this.assessments.filter((a) => nextStep(a));
    const mineRows = open.filter((a) => forMe(a, me));
    const others = open.filter((a) => !forMe(a, me));
    const total = this.catalogue ? this.catalogue.principles.reduce((n, p) => n + p.criteria.length, 0) : 0;
    const row = (a: Assessment, sign: boolean) => `<tr data-assessment="${esc(a.id)}"><td><button type="button" class="link" data-act="nav" data-arg="#gov/assessment/${esc(encodeURIComponent(a.id))}">${esc(a.id)}</button></td>
      <td>${esc(a.system)} <span class="mono">${esc(a.version)}</span></td><td>${tierBadge(a.gate.tier)}</td><td>${stateBadge(a.state)}</td><td class="r">${Object.keys(a.answers || {}).length}/${total}</td>
      <td>${esc((a.sign_offs || []).map((x) => `${x.step}: ${x.by}`).join(', ') || '—')}</td><td><b>${esc(nextStep(a))}</b> <span class="muted">(${esc(stepRole[nextStep(a)]?.join(' or ') || '')})</span></td>
      <td>${sign ? this.signForm(a, 'q:' + a.id) : this.msg('q:' + a.id) || '<span class="muted">another role</span>'}</td></tr>`;
    const head = '<thead><tr><th scope="col">Assessment</th><th scope="col">System, version</th><th scope="col">Tier</th><th scope="col">State</th><th scope="col" class="r">Answered</th><th scope="col">Signed</th><th scope="col">Next step</th><th scope="col">Sign</th></tr></thead>';
    return `<section aria-labelledby="gov-queue"><h3 id="gov-queue">Waiting for you (${esc(me.role || 'no role')}) <span class="count">${mineRows.length}</span></h3>
      ${mineRows.length ? `<table class="grid queue mine">${head}<tbody>${mineRows.map((a) => row(a, true)).join('')}</tbody></table>` : '<p class="muted">Nothing waits for your role.</p>'}
      <h3>Waiting for others <span class="count">${others.length}</span></h3>
      ${others.length ? `<table class="grid queue others">${head}<tbody>${others.map((a) => row(a, false)).join('')}</tbody></table>` : '<p class="muted">Nothing else is open.</p>'}
      <p class="muted">The server decides: the preparer signs only with every criterion answered; the reviewer and approver may not be the preparer, nor anyone who already signed.</p></section>`;
  }

  private reportsPage(): string {
    const drift = this.drift.map((d) => `<tr data-drift="${esc(d.system)}"><td>${esc(d.system)} <span class="mono">${esc(d.version || '')}</span></td><td>${esc(d.assessment || '—')}</td>
      <td><span class="state-badge ${d.state === 'drift' ? 'alarm' : d.state === 'stable' ? 'ok' : ''}">${esc(d.state)}</span>${d.detail ? `<div class="muted">${esc(d.detail)}</div>` : ''}</td>
      <td class="r">${fmtNum(d.psi, 3)}</td><td class="r">${fmtNum(d.ks, 3)}</td><td class="r">${fmtNum(d.threshold, 2)}</td>
      <td class="r">${fmtNum(d.tail_psi, 3)}</td><td class="r">${d.tail_rate && d.baseline ? `${(d.tail_rate[0] * 100).toFixed(2)}% → ${(d.tail_rate[1] * 100).toFixed(2)}%` : '—'}</td>
      <td class="r">${fmtNum(d.baseline?.count, 0)}</td><td class="r">${fmtNum(d.recent?.count, 0)}</td><td>${esc(d.window)}</td></tr>`).join('');
    const sh = this.shadows.map((s) => `<tr data-shadow="${esc(s.system)}"><td>${esc(s.system)} <span class="mono">${esc(s.version)}</span></td><td class="r">${fmtNum(s.fraction, 2)}</td><td>${esc(when(s.started))}</td>
      <td class="r">${fmtNum(s.seen, 0)}</td><td class="r">${fmtNum(s.sampled, 0)}</td><td class="r">${fmtNum(s.scored, 0)}</td><td class="r">${fmtNum(s.dropped, 0)}</td><td class="r">${fmtNum(s.alerts, 0)}</td><td class="r">${fmtNum(s.errors, 0)}</td><td class="r">${fmtNum(s.panics, 0)}</td>
      <td><button type="button" class="btn" data-act="record-shadow" data-arg="${esc(s.system)}">Record as evaluation</button> <button type="button" class="btn" data-act="stop-shadow" data-arg="${esc(s.system)}">Stop</button>${this.msg('shadow:' + s.system)}</td></tr>
      ${s.recent?.length ? `<tr class="purpose"><td colspan="11"><details><summary>${s.recent.length} recent outputs that would have alerted (never raised)</summary><table class="grid"><tbody>${s.recent.slice(-20).reverse().map((o) => `<tr><td>${esc(o.twin)}</td><td>${esc(o.channel)}</td><td>${esc(when(o.ts))}</td><td class="r">${fmtNum(o.score, 3)}</td></tr>`).join('')}</tbody></table></details></td></tr>` : ''}`).join('');
    const evs = this.evaluations.map((e) => `<tr data-evaluation="${esc(e.id)}"><td><button type="button" class="link" data-act="nav" data-arg="#gov/report/${esc(encodeURIComponent(e.id))}">${esc(e.id)}</button></td><td>${esc(e.kind)}</td><td>${esc(e.system)}</td>
      <td class="mono">${esc(e.version)}${e.against ? ` vs ${esc(e.against)}` : ''}</td><td>${e.pass ? '<span class="state-badge ok">pass</span>' : '<span class="state-badge alarm">fail</span>'}</td><td>${esc(e.summary)}</td><td>${esc(e.by)}</td><td>${esc(when(e.created))}</td></tr>`).join('');
    const sysOpts = this.systems.filter((s) => (s.versions || []).some((v) => v.family)).map((s) => `<option value="${esc(s.id)}">${esc(s.id)}</option>`).join('');
    const verOpts = this.systems.flatMap((s) => (s.versions || []).filter((v) => v.family).map((v) => `<option value="${esc(v.version)}">${esc(s.id)}: ${esc(v.version)}</option>`)).join('');
    const now = this.clock();
    return `<section aria-labelledby="gov-drift"><h3 id="gov-drift">Drift of live models</h3>
      <p class="muted">Each live champion's output scores over the recent window against the baseline recorded when its current assessment was approved (population stability index; above the threshold a drift incident is recorded and the assessment becomes due).</p>
      ${drift ? `<table class="grid drift"><thead><tr><th scope="col">System</th><th scope="col">Assessment</th><th scope="col">State</th><th scope="col" class="r">PSI</th><th scope="col" class="r">KS</th><th scope="col" class="r">Threshold</th><th scope="col" class="r" title="PSI of the non-zero scores (shown, not decided on)">Tail PSI</th><th scope="col" class="r">Non-zero share</th><th scope="col" class="r">Baseline n</th><th scope="col" class="r">Recent n</th><th scope="col">Window</th></tr></thead><tbody>${drift}</tbody></table>` : '<p class="muted">No drift monitor on this server.</p>'}</section>
      <section aria-labelledby="gov-shadows"><h3 id="gov-shadows">Shadow trials <span class="count">${this.shadows.length}</span></h3>
      ${sh ? `<table class="grid shadows"><thead><tr><th scope="col">System, version</th><th scope="col" class="r">Fraction</th><th scope="col">Started</th><th scope="col" class="r">Seen</th><th scope="col" class="r">Sampled</th><th scope="col" class="r">Scored</th><th scope="col" class="r">Dropped</th><th scope="col" class="r">Would alert</th><th scope="col" class="r">Errors</th><th scope="col" class="r">Panics</th><th scope="col"></th></tr></thead><tbody>${sh}</tbody></table>` : '<p class="muted">No shadow trial running.</p>'}
      <form data-form="shadow" class="gov-form inline"><label>System <select name="system">${sysOpts}</select></label><label>Version <select name="version">${verOpts}</select></label>
        <label>Fraction <input name="fraction" type="number" min="0.01" max="1" step="0.01" value="1"></label><button type="submit" class="btn">Start a shadow trial</button>${this.msg('shadow')}</form></section>
      <section aria-labelledby="gov-replay"><h3 id="gov-replay">Replay: backtest or champion-challenger comparison</h3>
      <form data-form="replay" class="gov-form replay"><label>Kind <select name="kind"><option value="backtest">backtest</option><option value="comparison">comparison</option></select></label>
        <label>System <select name="system">${sysOpts}</select></label><label>Version (challenger) <select name="version">${verOpts}</select></label>
        <label>Champion <input name="champion" placeholder="the current champion"></label>
        <label>From <input type="datetime-local" name="from" value="${isoLocal(now - 3600e3)}"></label><label>To <input type="datetime-local" name="to" value="${isoLocal(now)}"></label>
        <label>Twins <input name="twins" placeholder="all; or ids, comma separated"></label><label>Seed <input name="seed" type="number" value="1"></label>
        <label>Resamples <input name="resamples" type="number" value="1000" min="100"></label>
        <button type="submit" class="primary" ${this.busy === 'replay' ? 'disabled' : ''}>${this.busy === 'replay' ? 'Replaying…' : 'Run'}</button>${this.msg('replay')}</form></section>
      <section aria-labelledby="gov-evs"><h3 id="gov-evs">Evaluations <span class="count">${this.evaluations.length}</span></h3>
      ${evs ? `<table class="grid evaluations"><thead><tr><th scope="col">Id</th><th scope="col">Kind</th><th scope="col">System</th><th scope="col">Version</th><th scope="col">Result</th><th scope="col">Summary</th><th scope="col">By</th><th scope="col">When</th></tr></thead><tbody>${evs}</tbody></table>` : '<p class="muted">No evaluations yet.</p>'}</section>`;
  }

  private reportPage(): string {
    const r = this.report;
    if (!r) return '<p class="muted">No report.</p>';
    const ev = r.ev;
    const head = `<p><button type="button" class="link" data-act="nav" data-arg="#gov/reports">← Trials and reports</button></p>
      <h3>${esc(ev.kind)} ${esc(ev.id)} ${ev.pass ? '<span class="state-badge ok">pass</span>' : '<span class="state-badge alarm">fail</span>'}</h3>
      <table class="kv"><tr><th scope="row">System · version</th><td>${esc(ev.system)} · <span class="mono">${esc(ev.version)}</span>${ev.against ? ` against <span class="mono">${esc(ev.against)}</span>` : ''}</td></tr>
      <tr><th scope="row">Summary</th><td>${esc(ev.summary)}</td></tr><tr><th scope="row">Report SHA-256</th><td class="mono">${esc(ev.report_hash)}</td></tr>
      <tr><th scope="row">By · when · audit</th><td>${esc(ev.by)} · ${esc(when(ev.created))} · #${ev.audit_seq}</td></tr></table>`;
    const metricRows: Array<[string, (m: Metrics) => string]> = [['samples', (m) => fmtNum(m.samples, 0)], ['errors', (m) => fmtNum(m.errors, 0)], ['alerts', (m) => fmtNum(m.alerts, 0)], ['series-days', (m) => fmtNum(m.series_days, 0)],
      ['true positives', (m) => fmtNum(m.true_positives, 0)], ['false positives', (m) => fmtNum(m.false_positives, 0)], ['label windows', (m) => fmtNum(m.windows, 0)], ['detected', (m) => fmtNum(m.detected, 0)],
      ['precision', (m) => pct(m.precision)], ['recall', (m) => pct(m.recall)], ['F1', (m) => pct(m.f1)]];
    const onsets = (xs: Onset[] | undefined, n: number) => xs?.length ? `<table class="grid onsets"><thead><tr><th scope="col">Twin</th><th scope="col">Channel</th><th scope="col">When</th><th scope="col" class="r">Score</th></tr></thead><tbody>${xs.slice(0, n).map((o) => `<tr><td>${esc(o.twin)}</td><td>${esc(o.channel)}</td><td>${esc(when(o.ts))}</td><td class="r">${fmtNum(o.score, 3)}</td></tr>`).join('')}</tbody></table>${xs.length > n ? `<p class="muted">… and ${xs.length - n} more in the JSON.</p>` : ''}` : '<p class="muted">None.</p>';
    let body = '';
    if (ev.kind === 'comparison') {
      const c = r.body as ComparisonReport;
      body = `<table class="kv"><tr><th scope="row">Range</th><td>${esc(when(c.from))} – ${esc(when(c.to))}</td></tr><tr><th scope="row">Series · labels · blocks</th><td>${c.series} · ${c.labels} · ${c.blocks} (series, day) blocks, ${c.resamples} paired resamples, seed ${c.seed}</td></tr>
        <tr><th scope="row">Criteria</th><td>${esc(c.criteria)}</td></tr>${c.rejected?.length ? `<tr><th scope="row">Rejected</th><td class="warn-text">${esc(c.rejected.join('; '))}</td></tr>` : ''}</table>
        <h4>Metrics side by side</h4><table class="grid metrics"><thead><tr><th scope="col">Metric</th><th scope="col" class="r">Champion <span class="mono">${esc(c.champion.version)}</span></th><th scope="col" class="r">Challenger <span class="mono">${esc(c.challenger.version)}</span></th></tr></thead>
        <tbody>${metricRows.map(([n, f]) => `<tr><th scope="row">${esc(n)}</th><td class="r">${f(c.metrics[0])}</td><td class="r">${f(c.metrics[1])}</td></tr>`).join('')}</tbody></table>
        <h4>Differences with 95% paired bootstrap intervals (challenger − champion)</h4>
        <table class="grid intervals"><thead><tr><th scope="col">Metric</th><th scope="col" class="r">Champion</th><th scope="col" class="r">Challenger</th><th scope="col" class="r">Difference</th><th scope="col" class="r">95% interval</th></tr></thead>
        <tbody>${(c.intervals || []).map((i) => `<tr><th scope="row">${esc(i.metric)}</th><td class="r">${fmtNum(i.champion, 3)}</td><td class="r">${fmtNum(i.challenger, 3)}</td><td class="r">${fmtNum(i.diff, 3)}</td><td class="r">[${fmtNum(i.low, 3)}, ${fmtNum(i.high, 3)}]</td></tr>`).join('')}</tbody></table>
        <h4>Alerts</h4><p>Both raised ${c.both}; only the champion ${c.n_only_champion}; only the challenger ${c.n_only_challenger}.</p>
        <details><summary>Only the champion (${c.n_only_champion})</summary>${onsets(c.only_champion, 100)}</details>
        <details><summary>Only the challenger (${c.n_only_challenger})</summary>${onsets(c.only_challenger, 100)}</details>
        <p><button type="button" class="btn" data-act="html">Show the HTML report</button></p>
        ${r.html !== undefined ? `<iframe class="html-report" title="HTML report" sandbox srcdoc="${esc(r.html)}"></iframe>` : ''}`;
    } else if (ev.kind === 'backtest') {
      const b = r.body as BacktestReport;
      body = `<table class="kv"><tr><th scope="row">Range</th><td>${esc(when(b.from))} – ${esc(when(b.to))}</td></tr><tr><th scope="row">Series · labels · seed</th><td>${b.series} · ${b.labels} · ${b.seed}</td></tr>
        <tr><th scope="row">Model</th><td class="mono">${esc(b.model.version)} (${esc(b.model.family)}, config ${esc(b.model.config_hash.slice(0, 12))}…)</td></tr>
        <tr><th scope="row">Criteria</th><td>${esc(b.criteria)}</td></tr>${b.rejected ? `<tr><th scope="row">Rejected</th><td class="warn-text">${esc(b.rejected)}</td></tr>` : ''}</table>
        <h4>Metrics</h4><table class="grid metrics"><tbody>${metricRows.map(([n, f]) => `<tr><th scope="row">${esc(n)}</th><td class="r">${f(b.metrics)}</td></tr>`).join('')}</tbody></table>
        <h4>Alerts it would have raised</h4>${onsets(b.alerts, 100)}`;
    } else {
      const s = r.body as ShadowStats;
      body = `<table class="grid metrics"><tbody>${(['seen', 'sampled', 'scored', 'dropped', 'alerts', 'errors', 'panics'] as const).map((k) => `<tr><th scope="row">${k}</th><td class="r">${fmtNum(s[k], 0)}</td></tr>`).join('')}</tbody></table>`;
    }
    return `<section class="report" data-kind="${esc(ev.kind)}">${head}${body}<details><summary>The report's exact JSON</summary><pre class="json">${esc(JSON.stringify(r.body, null, 1))}</pre></details></section>`;
  }

  private auditPage(): string {
    const cp = this.checkpoint;
    const v = this.verified;
    const vHtml = this.verifying ? '<p class="muted">Verifying the whole log…</p>'
      : v ? (v.ok
        ? `<p class="verify ok"><b>Verified.</b> ${fmtNum(v.entries, 0)} entries and ${v.checkpoints} checkpoints check out; ${fmtNum(v.signed_size, 0)} entries signed${v.unsigned ? `, ${v.unsigned} not yet signed` : ''}${v.key_pinned ? '; signing key pinned' : ''}.</p>`
        : `<p class="verify bad"><b>Verification failed.</b> ${esc(v.error || v.detail || JSON.stringify(v))}</p>`)
        : '<p class="muted">Checks every entry’s hash chain and every checkpoint’s signature on the server.</p>';
    const shown = this.entries.filter((e) => !this.govOnly || e.kind.includes('.'));
    const rows = shown.slice(0, 300).map((e) => `<tr data-seq="${e.seq}"><td class="r">${e.seq}</td><td>${esc(when(e.time))}</td><td>${esc(e.kind)}</td><td>${esc(e.actor || '—')}</td><td class="mono">${esc(e.subject || '')}</td></tr>`).join('');
    return `<section aria-labelledby="gov-audit"><h3 id="gov-audit">Audit log</h3>
        ${cp ? `<table class="kv"><tr><th scope="row">Entries</th><td>${fmtNum(cp.entries, 0)}</td></tr>
          <tr><th scope="row">Latest checkpoint</th><td>size ${fmtNum(cp.checkpoint.size, 0)} · ${esc(when(cp.checkpoint.time))}</td></tr>
          <tr><th scope="row">Root hash</th><td class="mono">${esc(cp.checkpoint.root)}</td></tr>
          <tr><th scope="row">Signing key</th><td class="mono">${esc(cp.checkpoint.key_id)} · ${esc(cp.public_key.slice(0, 16))}…</td></tr>
          <tr><th scope="row">Origin</th><td class="mono">${esc(cp.checkpoint.origin)}</td></tr></table>` : '<p class="muted">No checkpoint.</p>'}
        <div class="verify-row"><button type="button" id="audit-verify" class="primary" data-act="verify" ${this.verifying ? 'disabled' : ''}>Verify the audit log</button></div>
        <div id="audit-result" aria-live="polite">${vHtml}</div>
        <h3>Entries of this tenant, newest first</h3>
        <div class="row"><button type="button" class="btn" data-act="newest">Newest</button> <button type="button" class="btn" data-act="older" ${this.entriesFrom <= 0 ? 'disabled' : ''}>Older</button>
          <label><input type="checkbox" data-act="gov-only" ${this.govOnly ? 'checked' : ''}> Governance and token events only</label>
          <span class="muted">${shown.length} of ${this.entries.length} entries from #${Math.max(0, this.entriesFrom)}${shown.length > 300 ? ', newest 300 shown' : ''}</span></div>
        ${rows ? `<table class="grid audit-entries"><thead><tr><th scope="col" class="r">#</th><th scope="col">Time</th><th scope="col">Kind</th><th scope="col">Actor</th><th scope="col">Subject</th></tr></thead><tbody>${rows}</tbody></table>` : '<p class="muted">No entries.</p>'}</section>`;
  }
}

/** The telemetry series of some twins (score series left out), for a replay request. */
async function seriesOf(twins: string[]): Promise<Array<{ twin: string; channel: string }>> {
  const out: Array<{ twin: string; channel: string }> = [];
  for (const id of twins) {
    const r = await getJSON<{ channels?: Record<string, unknown> }>(`/api/v1/twins/${encodeURIComponent(id)}/latest`);
    for (const ch of Object.keys(r.channels || {}).sort()) if (!ch.endsWith('.anomaly')) out.push({ twin: id, channel: ch });
  }
  if (!out.length) throw new Error(`no telemetry series for ${twins.join(', ')}`);
  return out;
}
