// Benchmark of the built page (not a test): bytes transferred on a first and a second visit, and the
// time from choosing an 8 s recording to seeing its results, on the wasm CPU backend and on WebGPU
// (when Chromium offers an adapter). Run after `trunk build --release` and
// `cargo build --release -p acula-trainer`:
//
//     node tests/bench/page_bench.mjs [RUNS=5]
//
// Prints a Markdown table (also written to tests/artifacts/page-bench.md).
import { readFileSync, writeFileSync, readdirSync, mkdtempSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { DATA, DIST, ACULA, serveDist, launch, readWav, floatWav, artifactsDir } from '../browser/lib.mjs';

const runs = Number(process.argv[2] || 5);
const KAUH = join(DATA, 'kauh-subset', 'Audio Files');
const tmp = mkdtempSync(join(tmpdir(), 'acula-bench-'));

// An 8 s clip of a real lung recording, as 16 kHz float WAV.
const src = join(KAUH, readdirSync(KAUH).filter((f) => f.endsWith('.wav')).sort()[0]);
execFileSync(ACULA, ['decode', src, '--out', join(tmp, 'full.wav')]);
const pcm = readWav(readFileSync(join(tmp, 'full.wav')));
const clip = join(tmp, 'clip-8s.wav');
writeFileSync(clip, floatWav(pcm.samples.subarray(0, 8 * pcm.rate), pcm.rate));

function distSizes() {
  const out = {};
  const walk = (d) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const body = readFileSync(p);
        out[relative(DIST, p)] = { raw: body.length, gzip: gzipSync(body, { level: 9 }).length };
      }
    }
  };
  walk(DIST);
  return out;
}

/** Records, in the page, when the model line first says the model is ready: milliseconds from the
 *  navigation's start (performance.now()), so the wait for the service worker and polling from here
 *  do not count. */
const READY_PROBE = () => {
  const id = setInterval(() => {
    if (/^Model /.test(document.querySelector('#model-line')?.textContent || '')) {
      window.aculaReadyMs = performance.now();
      clearInterval(id);
    }
  }, 5);
};

async function visit(context, url, seen) {
  const page = await context.newPage();
  await page.addInitScript(READY_PROBE);
  await page.goto(url);
  await page.waitForFunction(() => /^Model |could not be loaded/.test(document.querySelector('#model-line')?.textContent || ''), null, { timeout: 180_000 });
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForTimeout(500);
  return { page, line: await page.textContent('#model-line'), seen };
}

async function timeToResult(page) {
  const times = [];
  await page.check('input[name="kind"][value="lung"]');
  for (let i = 0; i < runs + 1; i++) {
    await page.evaluate(() => { window.aculaResult = undefined; });
    const t0 = Date.now();
    await page.setInputFiles('#file', clip);
    await page.waitForFunction(() => window.aculaResult !== undefined || /Could not/.test(document.querySelector('#status').textContent), null, { timeout: 120_000, polling: 5 });
    const t = Date.now() - t0;
    if (i > 0) times.push(t); // the first run warms caches
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], min: times[0], max: times[times.length - 1] };
}

/** The page's main-thread time from choosing the clip to its results: the renderer main thread's
 *  TaskDuration (Chromium's Performance.getMetrics) before and after, waiting through a
 *  MutationObserver rather than polling, so the wait itself costs next to nothing. Median of `runs`. */
async function mainThreadTime(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const metric = async () => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    const get = (n) => metrics.find((m) => m.name === n)?.value ?? NaN;
    return { task: get('TaskDuration') * 1e3, script: get('ScriptDuration') * 1e3 };
  };
  const tasks = [];
  const scripts = [];
  for (let i = 0; i < runs + 1; i++) {
    await page.evaluate(() => { window.aculaResult = undefined; });
    await page.waitForTimeout(200);
    const before = await metric();
    const done = page.evaluate(() => new Promise((ok) => {
      const finished = () => window.aculaResult !== undefined || /Could not/.test(document.querySelector('#status').textContent);
      if (finished()) { ok(); return; }
      const mo = new MutationObserver(() => { if (finished()) { mo.disconnect(); ok(); } });
      mo.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    }));
    await page.setInputFiles('#file', clip);
    await done;
    const after = await metric();
    if (i > 0) { tasks.push(after.task - before.task); scripts.push(after.script - before.script); }
  }
  await cdp.detach();
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { task: median(tasks), script: median(scripts), min: Math.min(...tasks), max: Math.max(...tasks) };
}

const server = await serveDist();
const sizes = distSizes();
const rows = [];

// Transferred bytes: every response from the network (the worker's included), first then second visit.
{
  const context = await launch();
  const net = [];
  let unreadable = 0;
  context.on('requestfinished', async (r) => {
    try {
      const resp = await r.response();
      if (!resp || resp.fromServiceWorker()) return;
      const s = await r.sizes();
      net.push({ url: r.url(), body: s.responseBodySize, headers: s.responseHeadersSize });
    } catch {
      // A request of a worker that has since closed can no longer be read; counted and reported.
      unreadable += 1;
    }
  });
  // Time to interactive: from navigation until the model line says the model is ready to screen.
  const { page: p1 } = await visit(context, server.url + '?backend=cpu');
  const tti1 = Math.round(await p1.evaluate(() => window.aculaReadyMs));
  const first = net.splice(0);
  // What the same responses weigh gzip-compressed (GitHub Pages compresses text and wasm; the
  // bundle's binary files barely shrink): only responses that carried a body count.
  const gz = first.filter((r) => r.body > 0).reduce((a, r) => {
    const rel = decodeURIComponent(new URL(r.url).pathname).slice(1) || 'index.html';
    return a + r.headers + (sizes[rel]?.gzip ?? r.body);
  }, 0);
  const raw = first.reduce((a, r) => a + r.body + r.headers, 0);
  const wasmOf = (prefix) => Object.entries(sizes).find(([k]) => k.startsWith(prefix) && k.endsWith('.wasm'));
  const wasm = { page: wasmOf('acula-app'), analyser: wasmOf('acula-analyser') };
  const bundle = Object.entries(sizes).filter(([k]) => k.startsWith('models/')).reduce((a, [, v]) => a + v.raw, 0);
  const p2 = await context.newPage();
  await p2.addInitScript(READY_PROBE);
  await p2.goto(server.url + '?backend=cpu');
  await p2.waitForFunction(() => window.aculaReadyMs !== undefined, null, { timeout: 180_000 });
  const tti2 = Math.round(await p2.evaluate(() => window.aculaReadyMs));
  await p2.waitForTimeout(500);
  const second = net.splice(0).reduce((a, r) => a + r.body + r.headers, 0);
  rows.push(['first visit, as served here (no compression)', `${(raw / 1e6).toFixed(2)} MB in ${first.filter((r) => r.body > 0).length} responses with a body (${first.length} requests)`]);
  rows.push(['first visit, gzip-compressed files (as GitHub Pages serves them)', `${(gz / 1e6).toFixed(2)} MB`]);
  for (const [who, w] of [['the page\'s', wasm.page], ['the analyser\'s', wasm.analyser]]) {
    rows.push([`of which ${who} wasm`, `${(w[1].raw / 1e6).toFixed(2)} MB raw, ${(w[1].gzip / 1e6).toFixed(2)} MB gzip`]);
  }
  rows.push(['of which the model bundle', `${(bundle / 1e6).toFixed(2)} MB`]);
  rows.push(['second visit', `${(second / 1e3).toFixed(1)} kB (page and model from the caches)`]);
  if (unreadable > 0) rows.push(['requests whose size could not be read (their worker had closed)', `${unreadable}`]);
  // More first visits, each in a fresh browser profile: one visit alone is too noisy to compare.
  const ttis = [tti1];
  for (let i = 1; i < runs; i++) {
    const fresh = await launch();
    const { page } = await visit(fresh, server.url + '?backend=cpu');
    ttis.push(Math.round(await page.evaluate(() => window.aculaReadyMs)));
    await fresh.close();
  }
  ttis.sort((a, b) => a - b);
  rows.push(['time to interactive (navigation → model ready), first visit, localhost', `median ${ttis[Math.floor(ttis.length / 2)]} ms (min ${ttis[0]}, max ${ttis[ttis.length - 1]}; ${ttis.length} fresh profiles)`]);
  rows.push(['time to interactive, second visit (caches)', `${tti2} ms`]);
  await context.close();
}

for (const [name, args, query] of [
  ['CPU (wasm)', [], '?backend=cpu'],
  ['WebGPU (Chromium software adapter)', ['--enable-unsafe-webgpu'], '?backend=webgpu'],
]) {
  const context = await launch(args);
  const { page, line } = await visit(context, server.url + query, null);
  if (name.startsWith('WebGPU') && !/WebGPU/.test(line)) {
    rows.push([`8 s clip, file chosen → results, ${name}`, `not measured: ${line}`]);
  } else {
    const t = await timeToResult(page);
    const inWorker = await page.evaluate(() => document.querySelector('#results')?.textContent.match(/Analysed in (\d+) ms/)?.[1]);
    rows.push([`8 s clip, file chosen → results, ${name}`, `median ${t.median} ms (min ${t.min}, max ${t.max}; ${runs} runs; last analysis in the worker ${inWorker} ms)`]);
    const m = await mainThreadTime(page);
    rows.push([`8 s clip, main-thread time from file chosen to results, ${name}`, `median ${m.task.toFixed(0)} ms (min ${m.min.toFixed(0)}, max ${m.max.toFixed(0)}; of it script ${m.script.toFixed(0)} ms; ${runs} runs)`]);
    if (name.startsWith('CPU')) {
      // The analyser worker's wasm memory (its peak: wasm memory only grows), after the 8 s clips, after
      // the longest recording that is screened (the quality check's limit is 300 s) and after the
      // longest the page takes at all (600 s, refused as too long), at 48 kHz, the rate phones record at.
      const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
      rows.push(['analyser worker wasm memory (peak) after the 8 s clips, CPU', mib(await page.evaluate(() => window.aculaWorker.memoryBytes))]);
      for (const seconds of [299, 600]) {
        const long = join(tmp, `long-${seconds}s-48k.wav`);
        const pcm48 = new Float32Array(seconds * 48000);
        for (let i = 0; i < pcm48.length; i++) pcm48[i] = pcm.samples[Math.floor(i / 3) % pcm.samples.length];
        writeFileSync(long, floatWav(pcm48, 48000));
        await page.evaluate(() => { window.aculaResult = undefined; });
        await page.setInputFiles('#file', long);
        await page.waitForFunction(() => window.aculaResult !== undefined || /Could not/.test(document.querySelector('#status').textContent), null, { timeout: 600_000 });
        const status = await page.textContent('#status');
        const [worker, verdict] = await page.evaluate(() => [window.aculaWorker, window.aculaResult?.quality.verdict]);
        const heap = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? 0);
        rows.push([`analyser worker wasm memory (peak) after a ${seconds} s recording at 48 kHz, CPU`, /Could not/.test(status) ? `not measured: ${status.trim()}` : `${mib(worker.memoryBytes)} (verdict ${verdict}; ${worker.ms.toFixed(0)} ms in the worker); page JS heap ${mib(heap)}`]);
      }
    }
  }
  await context.close();
}
await server.close();

const md = ['| measure | value |', '|---|---|', ...rows.map(([a, b]) => `| ${a} | ${b} |`)].join('\n');
console.log(md);
writeFileSync(join(await artifactsDir(), 'page-bench.md'), md + '\n');
