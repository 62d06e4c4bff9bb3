// Times the wasm front end in headless Chromium on the benchmark clips: resample + log-mel from PCM
// (what the page runs after decodeAudioData), single-threaded, via window.wasmBindings.benchFrontEnd.
// Also times a top-10 search over 100,000 × 512 embeddings and gt-tiny's forward pass on one chunk in wasm,
// with the analyser's module (acula-analyser.js, which the page's worker runs) imported into the page.
// Prints JSON {clip: {mean_ms, iterations}, retrieval_top10_100000x512: {…}}. Usage: node tests/bench/wasm_bench.mjs CLIP.wav ...
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { serveDist, launch, openPage, readWav } from '../browser/lib.mjs';

const server = await serveDist();
const context = await launch();
try {
  const { page } = await openPage(context, server.url);
  const out = {};
  for (const path of process.argv.slice(2)) {
    const { rate, samples } = readWav(readFileSync(path));
    const iterations = 20;
    const ms = await page.evaluate(([pcm, r, n]) => {
      const x = new Float32Array(pcm);
      window.wasmBindings.benchFrontEnd(x, r, 3); // warm-up
      return window.wasmBindings.benchFrontEnd(x, r, n);
    }, [Array.from(samples), rate, iterations]);
    out[basename(path)] = { mean_ms: ms, iterations };
  }
  await page.evaluate(async () => {
    const m = await import('./acula-analyser.js');
    await m.default({ module_or_path: './acula-analyser_bg.wasm' });
    window.aculaAnalyser = m;
  });
  const retrieval = await page.evaluate(() => window.aculaAnalyser.benchRetrieval(100000, 512, 10, 10));
  out.retrieval_top10_100000x512 = { mean_ms: retrieval, iterations: 10 };
  // gt-tiny on one 8 s chunk on the CPU backend (one thread in wasm).
  const encoder = await page.evaluate(() => window.aculaAnalyser.benchEncoder(20));
  out.encoder_gt_tiny_chunk = { mean_ms: encoder, iterations: 20 };
  console.log(JSON.stringify(out));
} finally {
  await context.close();
  await server.close();
}
