// Test harness: builds the tsingma binary, starts `tsingma demo` on free
// ports, and launches Debian's Chromium through playwright-core.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const shots = join(repo, 'docs', 'screenshots');
export const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

/** Returns a reason to skip, or '' to run. With CI=true a missing browser fails. */
export function browserMissing() {
  if (existsSync(chromiumPath)) return '';
  const msg = `chromium not found at ${chromiumPath} (apt-get install chromium, or set CHROMIUM)`;
  if (process.env.CI === 'true') throw new Error(msg);
  return msg;
}

export async function startDemo(extra = []) {
  const dir = mkdtempSync(join(tmpdir(), 'tsingma-e2e-'));
  const bin = join(dir, 'tsingma');
  execFileSync('go', ['build', '-o', bin, './cmd/tsingma'], { cwd: repo, stdio: 'inherit' });
  const args = ['demo', '--no-auth', '--http', '127.0.0.1:0', '--mqtt', '127.0.0.1:0', '--data', join(dir, 'data'), '--speed', '60', '--log-level', 'warn', ...extra];
  const proc = spawn(bin, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (b) => { stderr += b; if (stderr.length > 20000) stderr = stderr.slice(-20000); });
  const lines = createInterface({ input: proc.stdout });
  const first = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('tsingma demo printed nothing in 120 s; stderr:\n' + stderr)), 120000);
    lines.once('line', (l) => { clearTimeout(timer); resolve(l); });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`tsingma demo exited ${code}; stderr:\n${stderr}`)); });
  });
  const m = /http=(http:\/\/\S+)/.exec(first);
  if (!m) throw new Error(`unexpected first line: ${first}`);
  lines.on('line', () => {});
  return {
    url: m[1], proc, stderr: () => stderr,
    async stop() {
      proc.kill('SIGINT');
      await new Promise((r) => { if (proc.exitCode !== null) r(); else proc.once('exit', r); setTimeout(r, 20000); });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launch() {
  const { chromium } = await import('playwright-core');
  mkdirSync(shots, { recursive: true });
  return chromium.launch({
    executablePath: chromiumPath, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--enable-unsafe-swiftshader'],
  });
}

export async function waitFor(fn, what, timeoutMs = 60000, everyMs = 250) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}
