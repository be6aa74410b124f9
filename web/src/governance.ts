// The governance view: the registered AI systems, their impact
// assessments, and the audit log's latest signed checkpoint with a button
// that verifies the whole log on the server.
import { getJSON, sendJSON } from './api';
import { esc, fmtNum } from './state';

interface System {
  id: string; name: string; purpose?: string; owner?: string; oversight?: string; stage?: string;
  gate?: { tier?: string; reasons?: string[]; review_interval_days?: number };
  versions?: Array<{ version: string }>; aliases?: Record<string, string>;
}
interface Assessment { id: string; system: string; version: string; state: string; preparer?: string; created?: string; review_due?: string; sign_offs?: Array<{ step: string; by: string }> }
interface Checkpoint { checkpoint: { origin: string; size: number; root: string; time: string; key_id: string }; entries: number; public_key: string }
export interface VerifyResult { ok: boolean; entries: number; checkpoints: number; trusted_checkpoints?: number; signed_size: number; unsigned: number; key_id?: string; key_pinned?: boolean; error?: string; detail?: string }

function when(t?: string): string {
  if (!t) return '—';
  const d = new Date(Date.parse(t) + 8 * 3600e3);
  return d.toISOString().slice(0, 16).replace('T', ' ') + ' HKT';
}

export class GovernanceView {
  systems: System[] = [];
  assessments: Assessment[] = [];
  checkpoint: Checkpoint | null = null;
  verified: VerifyResult | null = null;
  private verifying = false;
  private error = '';

  constructor(private el: HTMLElement) {}

  async load() {
    this.error = '';
    const [s, a, c] = await Promise.allSettled([
      getJSON<{ items: System[] }>('/api/v1/governance/systems'),
      getJSON<{ items: Assessment[] }>('/api/v1/governance/assessments'),
      getJSON<Checkpoint>('/api/v1/audit/checkpoint'),
    ]);
    if (s.status === 'fulfilled') this.systems = s.value.items || []; else this.error = `AI systems: ${(s.reason as Error).message}`;
    if (a.status === 'fulfilled') this.assessments = a.value.items || []; else this.error ||= `Assessments: ${(a.reason as Error).message}`;
    if (c.status === 'fulfilled') this.checkpoint = c.value; else this.error ||= `Audit checkpoint: ${(c.reason as Error).message}`;
    this.render();
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

  render() {
    const sys = this.systems.map((s) => {
      const champ = s.aliases?.champion || '—';
      const n = this.assessments.filter((a) => a.system === s.id);
      const cur = n.find((a) => a.state === 'approved');
      return `<tr data-system="${esc(s.id)}"><th scope="row"><b>${esc(s.name)}</b><div class="muted mono">${esc(s.id)}</div></th>
        <td>${esc(s.stage || '—')}</td><td><span class="tier ${esc(s.gate?.tier || '')}">${esc(s.gate?.tier || '—')}</span></td>
        <td>${esc(s.oversight || '—')}</td><td class="mono">${esc(champ)}</td>
        <td>${cur ? `approved${cur.review_due ? `, review ${esc(when(cur.review_due))}` : ''}` : n.length ? esc(n[0].state) : '<span class="warn-text">none</span>'}</td></tr>
        <tr class="purpose"><td colspan="6" class="muted">${esc(s.purpose || '')}${s.gate?.reasons?.length ? ` · tier because: ${esc(s.gate.reasons.join('; '))}` : ''}</td></tr>`;
    }).join('');
    const ass = this.assessments.map((a) => `<tr><td class="mono">${esc(a.id)}</td><td>${esc(a.system)}</td><td class="mono">${esc(a.version)}</td><td>${esc(a.state)}</td>
      <td>${esc((a.sign_offs || []).map((x) => `${x.step} (${x.by})`).join(', ') || '—')}</td><td>${esc(when(a.review_due))}</td></tr>`).join('');
    const cp = this.checkpoint;
    const v = this.verified;
    const vHtml = this.verifying ? '<p class="muted">Verifying the whole log…</p>'
      : v ? (v.ok
        ? `<p class="verify ok"><b>Verified.</b> ${fmtNum(v.entries, 0)} entries and ${v.checkpoints} checkpoints check out; ${fmtNum(v.signed_size, 0)} entries signed${v.unsigned ? `, ${v.unsigned} not yet signed` : ''}${v.key_pinned ? '; signing key pinned' : ''}.</p>`
        : `<p class="verify bad"><b>Verification failed.</b> ${esc(v.error || v.detail || JSON.stringify(v))}</p>`)
        : '<p class="muted">Checks every entry’s hash chain and every checkpoint’s signature on the server.</p>';
    this.el.innerHTML = `<div class="gov">
      <h2>AI governance</h2>
      ${this.error ? `<p class="verify bad">${esc(this.error)}</p>` : ''}
      <section aria-labelledby="gov-systems"><h3 id="gov-systems">AI systems <span class="count">${this.systems.length}</span></h3>
        <table class="grid gov-systems"><thead><tr><th scope="col">System</th><th scope="col">Stage</th><th scope="col">Risk tier</th><th scope="col">Oversight</th><th scope="col">Champion</th><th scope="col">Assessment</th></tr></thead>
        <tbody>${sys || '<tr><td colspan="6" class="muted">No AI systems registered.</td></tr>'}</tbody></table></section>
      <section aria-labelledby="gov-ass"><h3 id="gov-ass">Impact assessments <span class="count">${this.assessments.length}</span></h3>
        ${ass ? `<table class="grid"><thead><tr><th scope="col">Id</th><th scope="col">System</th><th scope="col">Version</th><th scope="col">State</th><th scope="col">Sign-offs</th><th scope="col">Review due</th></tr></thead><tbody>${ass}</tbody></table>`
          : '<p class="muted">No impact assessments yet (<code>POST /api/v1/governance/assessments</code>).</p>'}</section>
      <section aria-labelledby="gov-audit"><h3 id="gov-audit">Audit log</h3>
        ${cp ? `<table class="kv"><tr><th scope="row">Entries</th><td>${fmtNum(cp.entries, 0)}</td></tr>
          <tr><th scope="row">Latest checkpoint</th><td>size ${fmtNum(cp.checkpoint.size, 0)} · ${esc(when(cp.checkpoint.time))}</td></tr>
          <tr><th scope="row">Root hash</th><td class="mono">${esc(cp.checkpoint.root)}</td></tr>
          <tr><th scope="row">Signing key</th><td class="mono">${esc(cp.checkpoint.key_id)} · ${esc(cp.public_key.slice(0, 16))}…</td></tr>
          <tr><th scope="row">Origin</th><td class="mono">${esc(cp.checkpoint.origin)}</td></tr></table>` : '<p class="muted">No checkpoint.</p>'}
        <div class="verify-row"><button type="button" id="audit-verify" class="primary" ${this.verifying ? 'disabled' : ''}>Verify the audit log</button></div>
        <div id="audit-result" aria-live="polite">${vHtml}</div></section>
    </div>`;
    this.el.querySelector<HTMLButtonElement>('#audit-verify')!.addEventListener('click', () => { void this.verify(); });
  }
}
