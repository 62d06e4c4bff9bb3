// Shared helpers of the browser tests: a static server for dist/, Chromium and Firefox launch, .npy and
// WAV I/O, and running the native CLI. Everything is real: Debian's Chromium and Firefox ESR, the built
// page, real recordings.
import { createServer } from 'node:http';
import { readFile, mkdir, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join, normalize, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = join(ROOT, 'dist');
export const DATA = resolve(ROOT, '..', 'shared', 'data');
export const ARTIFACTS = join(ROOT, 'tests', 'artifacts');
export const ACULA = process.env.ACULA_BIN || join(ROOT, 'target', 'release', 'acula');

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** Serves dist/ on 127.0.0.1 at a free port under `prefix` (a sub-path such as `/a/b/`, as on
 *  GitHub Pages); `replace` maps a path inside the site (`text/model.safetensors`) to the bytes served
 *  instead (a damaged file); resolves to { url, close, setOffline }. `setOffline(true)` makes the site
 *  unreachable as a lost network does (every connection is dropped unanswered), in any browser. */
export async function serveDist(prefix = '/', replace = {}) {
  if (!existsSync(join(DIST, 'index.html'))) {
    throw new Error(`${DIST}/index.html is missing: build the page first (trunk build --release)`);
  }
  let offline = false;
  const server = createServer(async (req, res) => {
    if (offline) {
      req.socket.destroy();
      return;
    }
    try {
      const full = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      if (!full.startsWith(prefix)) throw new Error('outside the site');
      const path = '/' + full.slice(prefix.length);
      const rel = normalize(path === '/' ? '/index.html' : path).replace(/^(\.\.[/\\])+/, '');
      const file = join(DIST, rel);
      const replaced = replace[rel.replace(/^[/\\]+/, '')];
      const body = replaced ?? await readFile(file);
      // The caching headers GitHub Pages sends: ten minutes fresh, then revalidated; a revalidation of
      // an unchanged file is answered 304 without a body, as there.
      const modified = (await stat(file)).mtime;
      modified.setMilliseconds(0);
      const since = Date.parse(req.headers['if-modified-since'] || '');
      if (replaced === undefined && !Number.isNaN(since) && modified.getTime() <= since) {
        res.writeHead(304, { 'cache-control': 'max-age=600', 'last-modified': modified.toUTCString() });
        res.end();
        return;
      }
      res.writeHead(200, {
        'content-type': MIME[extname(rel)] || 'application/octet-stream',
        'cache-control': 'max-age=600',
        'last-modified': modified.toUTCString(),
      });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(ok); }),
    setOffline: (on) => {
      offline = on;
      if (on) server.closeAllConnections();
    },
  };
}

/** Launches Debian's headless Chromium with the flags this machine needs; `options` go to Playwright
 *  (`locale: 'ru-RU'` sets the browser's language). */
export async function launch(extraArgs = [], options = {}) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'acula-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    ...options,
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      ...extraArgs,
    ],
  });
  return context;
}

/** Launches Debian's Firefox ESR headless through puppeteer-core over WebDriver BiDi, with `prefs`
 *  set in its fresh profile. */
export async function launchFirefox(prefs = {}) {
  const executablePath = process.env.FIREFOX || '/usr/bin/firefox-esr';
  if (!existsSync(executablePath)) {
    throw new Error(`${executablePath} is missing: install Firefox ESR (scripts/setup.sh browser)`);
  }
  const { default: puppeteer } = await import('puppeteer-core');
  return puppeteer.launch({
    browser: 'firefox',
    executablePath,
    headless: true,
    extraPrefsFirefox: { 'datareporting.policy.dataSubmissionEnabled': false, ...prefs },
  });
}

/** Opens the page and records console errors and every request's URL. */
export async function openPage(context, url) {
  const page = await context.newPage();
  const consoleErrors = [];
  const requests = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(url);
  await page.waitForFunction(() => window.wasmBindings !== undefined, null, { timeout: 60_000 });
  return { page, consoleErrors, requests };
}

/** Opens the page at `url`, records console errors and every request of the context (the workers'
 *  included), and waits until the model is loaded or has failed. */
export async function openModel(context, url) {
  const page = await context.newPage();
  const consoleErrors = [];
  const requests = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  context.on('request', (r) => requests.push(r.url()));
  await page.goto(url);
  await page.waitForFunction(() => /^Model |could not be loaded/.test(document.querySelector('#model-line')?.textContent || ''), null, { timeout: 120_000 });
  return { page, consoleErrors, requests };
}

/** Parses a little-endian float32 C-order .npy file. */
export function parseNpy(buf) {
  if (buf.readUInt8(0) !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error('not an .npy file');
  const major = buf.readUInt8(6);
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  if (!header.includes("'<f4'")) throw new Error(`unsupported dtype in ${header}`);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const off = start + hlen;
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + buf.length));
  return { shape, data };
}

/** Runs `acula features AUDIO --out TMP.npy [flags]` and returns the parsed matrix. */
export async function cliFeatures(audio, flags = []) {
  if (!existsSync(ACULA)) throw new Error(`${ACULA} is missing: cargo build --release -p acula-trainer`);
  const dir = mkdtempSync(join(tmpdir(), 'acula-cli-'));
  const out = join(dir, 'f.npy');
  execFileSync(ACULA, ['features', audio, '--out', out, ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  return parseNpy(await readFile(out));
}

/** Reads a 16-bit PCM or 32-bit float WAV into mono float32 samples (mean of channels). */
export function readWav(buf) {
  if (buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') throw new Error('not a WAV file');
  let pos = 12, fmt = null, data = null;
  while (pos + 8 <= buf.length) {
    const id = buf.toString('latin1', pos, pos + 4);
    const size = buf.readUInt32LE(pos + 4);
    if (id === 'fmt ') fmt = { tag: buf.readUInt16LE(pos + 8), channels: buf.readUInt16LE(pos + 10), rate: buf.readUInt32LE(pos + 12), bits: buf.readUInt16LE(pos + 22) };
    if (id === 'data') data = buf.subarray(pos + 8, pos + 8 + size);
    pos += 8 + size + (size % 2);
  }
  if (!fmt || !data) throw new Error('WAV without fmt or data chunk');
  const bytes = fmt.bits / 8;
  const frames = Math.floor(data.length / (bytes * fmt.channels));
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let acc = 0;
    for (let c = 0; c < fmt.channels; c++) {
      const o = (i * fmt.channels + c) * bytes;
      acc += fmt.bits === 16 ? data.readInt16LE(o) / 32768 : data.readFloatLE(o);
    }
    out[i] = acc / fmt.channels;
  }
  return { rate: fmt.rate, samples: out };
}

/** Encodes mono float32 samples as a 32-bit float WAV (format tag 3). */
export function floatWav(samples, rate) {
  const buf = Buffer.alloc(44 + samples.length * 4);
  buf.write('RIFF', 0, 'latin1'); buf.writeUInt32LE(36 + samples.length * 4, 4); buf.write('WAVE', 8, 'latin1');
  buf.write('fmt ', 12, 'latin1'); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(3, 20); buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(rate * 4, 28); buf.writeUInt16LE(4, 32); buf.writeUInt16LE(32, 34);
  buf.write('data', 36, 'latin1'); buf.writeUInt32LE(samples.length * 4, 40);
  samples.forEach((v, i) => buf.writeFloatLE(v, 44 + i * 4));
  return buf;
}

export async function artifactsDir() {
  await mkdir(ARTIFACTS, { recursive: true });
  return ARTIFACTS;
}

/** max and mean absolute difference of two equal-length arrays. */
export function diff(a, b) {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0, sum = 0;
  for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i] - b[i]); max = Math.max(max, d); sum += d; }
  return { max, mean: sum / a.length };
}

/** Waits for the answer to a screening started by `action`; returns window.aculaResult. */
export async function screened(page, action) {
  await page.evaluate(() => { window.aculaResult = undefined; });
  await action();
  await page.waitForFunction(() => /Could not/.test(document.querySelector('#status')?.textContent || '')
    || (/Analysis finished/.test(document.querySelector('#status')?.textContent || '') && window.aculaResult !== undefined),
  null, { timeout: 120_000 });
  assert.match(await page.textContent('#status'), /Analysis finished/);
  return page.evaluate(() => window.aculaResult);
}
