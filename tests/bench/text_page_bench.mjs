// Benchmark of the page's language side (not a test): what the first text use downloads, the time
// from the first search to its answer (download + load), loading the text tower again from the
// device's cache, one sentence embedded in the worker (search: sentence encoder + text head + both
// indexes), and the peak memory of the renderer process that runs the page and its analyser worker
// with both towers loaded. Run after `trunk build --release`:
//
//     node tests/bench/text_page_bench.mjs [RUNS=20]
//
// Prints a Markdown table (also written to tests/artifacts/text-page-bench.md).
import { readFileSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { DIST, serveDist, launch, artifactsDir } from '../browser/lib.mjs';

const runs = Number(process.argv[2] || 20);
const QUERIES = [
  'expiratory wheezes in an asthmatic child', 'fine crackles at both lung bases', 'a dry cough with fever',
  'a systolic heart murmur', 'normal vesicular breath sounds', 'COVID-19 positive cough without symptoms',
];

function size(rel) {
  const body = readFileSync(join(DIST, rel));
  return { raw: body.length, gzip: gzipSync(body, { level: 9 }).length };
}

/** Peak resident memory (VmHWM) of Chromium's renderer processes, in MB (the largest). */
function rendererPeakMb() {
  let best = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      if (!cmd.includes('--type=renderer')) continue; // only the benchmark's Chromium runs meanwhile
      const hwm = readFileSync(`/proc/${pid}/status`, 'latin1').match(/VmHWM:\s+(\d+) kB/);
      if (hwm) best = Math.max(best, Number(hwm[1]) / 1024);
    } catch { /* the process ended */ }
  }
  return best;
}

async function search(page, text) {
  await page.evaluate(() => { window.aculaSearch = undefined; });
  await page.fill('#search-input', text);
  const t0 = Date.now();
  await page.press('#search-input', 'Enter');
  await page.waitForFunction((q) => window.aculaSearch?.query === q || document.querySelector('#search-error'), text, { timeout: 300_000, polling: 5 });
  const ms = Date.now() - t0;
  const worker = Number(await page.getAttribute('#search-results', 'data-ms'));
  return { ms, worker };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const server = await serveDist();
const rows = [];
const tower = JSON.parse(readFileSync(join(DIST, 'text', 'tower.json')));
let raw = 0;
let gz = 0;
for (const f of [...Object.keys(tower.files).map((n) => `text/${n}`), ...Object.keys(tower.module), 'models/default/text.safetensors']) {
  const s = size(f);
  raw += s.raw;
  gz += s.gzip;
}
rows.push(['first text use downloads (text tower, its module, the bundle\'s text side)', `${(raw / 1e6).toFixed(1)} MB raw, ${(gz / 1e6).toFixed(1)} MB gzip`]);
const pageWasm = 'acula-analyser_bg.wasm'; // the analyser's module, which the text tower is compared with
const textWasm = size('acula-text_bg.wasm');
rows.push(['the analyser\'s wasm / the text module\'s wasm', `${(statSync(join(DIST, pageWasm)).size / 1e6).toFixed(1)} MB / ${(textWasm.raw / 1e6).toFixed(1)} MB raw (${(textWasm.gzip / 1e6).toFixed(1)} MB gzip)`]);

for (const [name, args, query] of [
  ['CPU (wasm)', [], '?backend=cpu'],
  ['WebGPU (Chromium software adapter)', ['--enable-unsafe-webgpu'], '?backend=webgpu'],
]) {
  const context = await launch(args);
  const page = await context.newPage();
  await page.goto(server.url + query);
  await page.waitForFunction(() => /^Model |could not be loaded/.test(document.querySelector('#model-line')?.textContent || ''), null, { timeout: 180_000 });
  const line = await page.textContent('#model-line');
  if (name.startsWith('WebGPU') && !/WebGPU/.test(line)) {
    rows.push([`search, ${name}`, `not measured: ${line}`]);
    await context.close();
    continue;
  }
  const first = await search(page, QUERIES[0]);
  const firstLoad = (await page.textContent('#text-line')).match(/ready in ([\d.]+) s/)?.[1];
  rows.push([`${name}: first search, Enter → results (download from localhost + load + search)`, `${first.ms} ms (text tower ready in ${firstLoad} s)`]);
  const worker = [];
  const onPage = [];
  for (let i = 0; i < runs; i++) {
    const r = await search(page, `${QUERIES[i % QUERIES.length]} ${i}`);
    worker.push(r.worker);
    onPage.push(r.ms);
  }
  rows.push([`${name}: one sentence, in the worker (encoder + head + search), median of ${runs}`, `${median(worker).toFixed(1)} ms (min ${Math.min(...worker).toFixed(1)}, max ${Math.max(...worker).toFixed(1)}); Enter → results on the page ${median(onPage)} ms`]);
  if (name.startsWith('CPU')) {
    rows.push(['peak memory of the renderer (page + analyser worker, both towers loaded)', `${rendererPeakMb().toFixed(0)} MB (VmHWM)`]);
    // The text tower again from the device's cache: a new page in the same profile.
    const p2 = await context.newPage();
    await p2.goto(server.url + query);
    await p2.waitForFunction(() => /^Model /.test(document.querySelector('#model-line')?.textContent || ''), null, { timeout: 180_000 });
    await search(p2, QUERIES[1]);
    const again = (await p2.textContent('#text-line')).match(/ready in ([\d.]+) s/)?.[1];
    rows.push(['text tower loaded again from the cache (second visit, first search)', `${again} s`]);
  }
  await context.close();
}
await server.close();

const md = ['| measure | value |', '|---|---|', ...rows.map(([a, b]) => `| ${a} | ${b} |`)].join('\n');
console.log(md);
writeFileSync(join(await artifactsDir(), 'text-page-bench.md'), md + '\n');
