// What the screening journeys share across browsers: the real recordings they upload, the native CLI's
// answer on the same files, the comparison, and the bad-input matrix with each file's documented outcome.
// The Chromium tests (screen.test.mjs, Playwright) and the Firefox tests (firefox.test.mjs, puppeteer over
// WebDriver BiDi) drive the page differently but hold it to these same expectations.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { DATA, ROOT, ACULA, floatWav } from './lib.mjs';

export const KAUH = join(DATA, 'kauh-subset', 'Audio Files');
export const COUGHS = join(DATA, 'covid19-cough');
export const BUNDLE = join(ROOT, 'www', 'models', 'default');
export const HAVE_DATA = existsSync(KAUH) && existsSync(COUGHS);

/** Real recordings with their kind: 2 KAUH lung sounds (WAV, 4 kHz) and 2 coughs as the CLI hears
 *  them (MP3 → `acula decode` → 16 kHz float WAV, written into `tmp`), so the page and the CLI decode
 *  identical PCM. */
export function recordings(tmp) {
  const lungs = readdirSync(KAUH).filter((f) => f.endsWith('.wav')).sort().slice(0, 2)
    .map((f) => ({ path: join(KAUH, f), kind: 'lung' }));
  const meta = JSON.parse(readFileSync(join(COUGHS, 'metadata.json')));
  const mp3s = meta.map((m) => m.filename).sort().slice(0, 2);
  const coughs = mp3s.map((f, i) => {
    const out = join(tmp, `cough-${i}.wav`);
    if (!existsSync(out)) execFileSync(ACULA, ['decode', join(COUGHS, 'raw', f), '--out', out]);
    return { path: out, kind: 'cough' };
  });
  return [...lungs, ...coughs];
}

/** `acula predict --json` on one file with the default bundle. */
export function predict(file, kind) {
  const out = execFileSync(ACULA, ['predict', file, '--bundle', BUNDLE, '--recording', kind, '--json']);
  const [r] = JSON.parse(out.toString());
  // The CLI keys scores by task (in the bundle's task order); the page keeps them as a list.
  r.scores = Object.entries(r.scores).map(([task, s]) => ({ task, ...s }));
  return r;
}

/** Scores and report similarities within `tol`, the same verdict, tasks and reports in the same order. */
export function assertSame(page, cli, label, tol = 1e-3) {
  assert.equal(page.quality.verdict, cli.quality.verdict, `${label}: verdict`);
  assert.deepEqual(page.scores.map((s) => s.task), cli.scores.map((s) => s.task), `${label}: tasks`);
  let worst = 0;
  for (const [i, s] of page.scores.entries()) worst = Math.max(worst, Math.abs(s.score - cli.scores[i].score));
  assert.ok(worst <= tol, `${label}: max |Δscore| ${worst}`);
  // The same reports in the same order, except that reports whose similarities lie within `tol` of
  // each other may trade places (a lossy decoder's difference can reorder a near-tie).
  assert.equal(page.reports.length, cli.reports.length, `${label}: reports`);
  for (const [i, r] of page.reports.entries()) {
    const j = cli.reports.findIndex((c) => c.record_id === r.record_id);
    const tie = j >= 0 ? Math.abs(cli.reports[j].similarity - cli.reports[i].similarity) <= tol
      : i === page.reports.length - 1 && Math.abs(r.similarity - cli.reports[i].similarity) <= tol;
    assert.ok(j === i || tie, `${label}: report ${i} is ${r.record_id} (similarity ${r.similarity}); the CLI's: ${JSON.stringify(cli.reports.map((c) => [c.record_id, c.similarity]))}`);
  }
  let worstSim = 0;
  for (const [i, r] of page.reports.entries()) worstSim = Math.max(worstSim, Math.abs(r.similarity - cli.reports[i].similarity));
  assert.ok(worstSim <= tol, `${label}: max |Δsimilarity| ${worstSim}`);
  return { worst, worstSim };
}

/** A 16-bit PCM WAV of `seconds` of a chirp with noise on each of `channels` channels. */
export function pcmWav(channels, rate, seconds) {
  const frames = Math.round(rate * seconds);
  const buf = Buffer.alloc(44 + frames * channels * 2);
  buf.write('RIFF', 0, 'latin1'); buf.writeUInt32LE(36 + frames * channels * 2, 4); buf.write('WAVE', 8, 'latin1');
  buf.write('fmt ', 12, 'latin1'); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(channels, 22);
  buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(rate * channels * 2, 28); buf.writeUInt16LE(channels * 2, 32);
  buf.writeUInt16LE(16, 34); buf.write('data', 36, 'latin1'); buf.writeUInt32LE(frames * channels * 2, 40);
  let seed = 1;
  for (let i = 0; i < frames; i++) {
    const t = i / rate;
    for (let c = 0; c < channels; c++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const v = 0.4 * Math.sin(2 * Math.PI * (200 + 400 * t) * t) + 0.1 * (seed / 2147483648 - 0.5);
      buf.writeInt16LE(Math.round(v * 32767 / (c + 1)), 44 + (i * channels + c) * 2);
    }
  }
  return buf;
}

/** The bad-input matrix: [file name, bytes, expected], where expected is 'error' (one line "Could not
 *  analyse…"), 'quality' (analysed; the quality verdict, the CLI's, says why it is not screened) or 'ok'
 *  (screened). */
export function badInputs() {
  const good = pcmWav(1, 16000, 3);
  const tone = Array.from({ length: 16000 }, (_, i) => 0.3 * Math.sin(i / 5));
  const withNaN = tone.slice(); withNaN[500] = NaN;
  const huge = tone.slice(); huge[700] = 3e38; // found by fuzzing: overflowed the resampler natively
  return [
    ['noise.wav', Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) % 251)), 'error'],
    ['empty.mp3', Buffer.alloc(0), 'error'],
    ['notes.wav', Buffer.from('These are my notes, not a recording.\n'.repeat(20)), 'error'],
    ['header-only.wav', good.subarray(0, 12), 'error'],
    ['cut-in-fmt.wav', good.subarray(0, 30), 'error'],
    ['cut-before-first-frame.wav', good.subarray(0, 44), 'error'],
    ['nan.wav', floatWav(withNaN, 16000), 'error'],
    ['huge-sample.wav', floatWav(huge, 16000), 'error'],
    // No sound: the quality check's verdict, as `acula predict` gives it, not a front-end error.
    ['silence.wav', floatWav(new Array(16000).fill(0), 16000), 'quality'],
    ['near-silence.wav', floatWav(tone.map((v) => v * 1e-5), 16000), 'quality'],
    ['dc.wav', floatWav(new Array(16000).fill(0.25), 16000), 'quality'],
    ['clipped.wav', floatWav(tone.map((v) => Math.max(-0.05, Math.min(0.05, v)) * 20), 16000), 'quality'],
    ['wav-named.mp3', good, 'ok'],
    ['six-channels-192k.wav', pcmWav(6, 192000, 1), 'ok'],
  ];
}

/** Holds one bad-input file's outcome to what `badInputs` documents: `status` is the page's one-line
 *  status, `verdict` its quality verdict when the file was analysed (the CLI is asked for its own on the
 *  'quality' files). */
export function assertOutcome(name, path, expected, status, verdict) {
  assert.ok(!status.includes('\n'), `${name}: one line`);
  if (expected === 'error') {
    assert.match(status, /^Could not analyse the recording: /, `${name}: ${status}`);
    return;
  }
  assert.match(status, /Analysis finished/, `${name}: ${status}`);
  assert.equal(verdict === 'ok', expected === 'ok', `${name}: quality verdict ${verdict}`);
  if (expected === 'quality') assert.equal(verdict, predict(path, 'lung').quality.verdict, `${name}: the page's verdict is the CLI's`);
}

/** A page's status line after a file was chosen: settled once it says "Could not…" or "Analysis
 *  finished" with the result published. Runs in the page. */
export function settled() {
  const t = document.querySelector('#status')?.textContent || '';
  return /Could not/.test(t) || (/Analysis finished/.test(t) && window.aculaResult !== undefined);
}

/** What Safari records (MediaRecorder `audio/mp4`: fragmented MP4, AAC-LC, 48 kHz mono), made from a
 *  real covid19-cough recording by FFmpeg through PyAV (tests/browser/safari_m4a.py, in the reference
 *  Python environment), and named as the page names a Safari recording. */
export function safariRecording(tmp) {
  const out = join(tmp, 'recording.m4a');
  if (!existsSync(out)) {
    const python = execFileSync(join(ROOT, 'scripts', 'pyenv.sh')).toString().trim();
    const meta = JSON.parse(readFileSync(join(COUGHS, 'metadata.json')));
    const src = join(COUGHS, 'raw', meta.map((m) => m.filename).sort()[2]);
    execFileSync(python, [join(ROOT, 'tests', 'browser', 'safari_m4a.py'), src, out]);
  }
  return { path: out, kind: 'cough' };
}
