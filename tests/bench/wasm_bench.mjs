// Times the wasm front end in headless Chromium on the benchmark clips: resample + log-mel from PCM
// (what the page runs after decodeAudioData), single-threaded, via window.wasmBindings.benchFrontEnd.
// Prints JSON {clip: {mean_ms, iterations}}. Usage: node tests/bench/wasm_bench.mjs CLIP.wav ...
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
  console.log(JSON.stringify(out));
} finally {
  await context.close();
  await server.close();
}
