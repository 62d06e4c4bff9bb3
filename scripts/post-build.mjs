// Trunk post-build hook (Trunk.toml): runs on the staged site before it replaces dist/.
// 1. Adds the Content-Security-Policy to index.html: everything from the page's own origin only,
//    'wasm-unsafe-eval' for WebAssembly, and the sha256 of Trunk's inline loader script (the only
//    inline script) instead of 'unsafe-inline'.
// 2. Fills the service worker's file list and version (sw.js) with the built files.
// 3. Lists the text tower's wasm module (acula-text_bg.wasm) with its size and sha256 in
//    text/tower.json: the analyser downloads it only when a text feature is first used and checks it.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error('post-build: TRUNK_STAGING_DIR is not set; run this through trunk build');
  process.exit(2);
}
const indexPath = join(dir, 'index.html');
let html = readFileSync(indexPath, 'utf8');

const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
if (inline.length === 0) {
  console.error('post-build: no inline loader script found in index.html (did Trunk change?)');
  process.exit(1);
}
const hashes = inline.map((s) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`);
const csp = [
  "default-src 'self'",
  `script-src 'self' 'wasm-unsafe-eval' ${hashes.join(' ')}`,
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');
html = html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>\s*/g, '');
html = html.replace(/(<meta charset="utf-8"\s*\/?>)/i, `$1\n    <meta http-equiv="Content-Security-Policy" content="${csp}" />`);
if (!html.includes('Content-Security-Policy')) {
  console.error('post-build: could not place the CSP (no <meta charset="utf-8"> in index.html)');
  process.exit(1);
}
writeFileSync(indexPath, html);

// Every file of the page except the model bundles (cached by the analyser) and sw.js itself.
const files = [];
const walk = (d) => {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p);
    else files.push(relative(dir, p).split(sep).join('/'));
  }
};
walk(dir);
// The text tower (text/, its module acula-text*) is fetched on first use only, by the analyser (the
// wasm and the weights, kept in its cache) and by the worker's import (the JS glue, kept by sw.js at
// first use): a visitor who never uses text downloads none of it.
const lazy = (f) => f.startsWith('text/') || f.startsWith('acula-text');
const towerPath = join(dir, 'text', 'tower.json');
let tower;
try {
  tower = JSON.parse(readFileSync(towerPath, 'utf8'));
} catch (err) {
  console.error(`post-build: cannot read text/tower.json (${err.message}); run scripts/setup.sh web`);
  process.exit(1);
}
tower.module = {};
for (const name of ['acula-text_bg.wasm', 'acula-text.js']) {
  let bytes;
  try {
    bytes = readFileSync(join(dir, name));
  } catch {
    console.error(`post-build: the text module ${name} was not built (index.html's acula-text link)`);
    process.exit(1);
  }
  tower.module[name] = { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}
writeFileSync(towerPath, `${JSON.stringify(tower, null, 2)}\n`);
// The page says the text model's size on its buttons before anything is downloaded.
const towerBytes = [...Object.values(tower.files), ...Object.values(tower.module)].reduce((n, e) => n + e.bytes, 0);
html = html.replace(/<meta name="acula-text-tower"[^>]*>\s*/g, '');
html = html.replace(/(<meta charset="utf-8"\s*\/?>)/i, `$1\n    <meta name="acula-text-tower" content="${towerBytes}" />`);
writeFileSync(indexPath, html);
const assets = files.filter((f) => !f.startsWith('models/') && !lazy(f) && f !== 'sw.js' && f !== 'index.html').sort();
const lazyAssets = files.filter((f) => f === 'acula-text.js');
const version = createHash('sha256');
for (const f of [...assets, ...lazyAssets, 'index.html']) version.update(f).update(readFileSync(join(dir, f)));
const swPath = join(dir, 'sw.js');
const sw = readFileSync(swPath, 'utf8')
  .replace('__VERSION__', version.digest('hex').slice(0, 16))
  .replace('__ASSETS__', JSON.stringify(['./', ...assets]))
  .replace('__LAZY__', JSON.stringify(lazyAssets));
writeFileSync(swPath, sw);
console.log(`post-build: CSP with ${hashes.length} script hash(es); service worker lists ${assets.length + 1} files`);
