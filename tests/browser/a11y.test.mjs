// Accessibility of the page in each state, in Debian's headless Chromium: an automated scan with
// axe-core (pinned in package-lock.json) finds no serious or critical violation, the page fits a
// 360 px screen, and every control is a touch target of at least 44 × 44 CSS px (WCAG 2.2's 2.5.5
// size; a control inside a label counts by its label, which takes the tap).
// Run after `trunk build --release` and `cargo build --release -p acula-trainer` (scripts/test.sh).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, mkdtempSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { DATA, serveDist, launch, openModel, artifactsDir } from './lib.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const KAUH = join(DATA, 'kauh-subset', 'Audio Files');
const TMP = mkdtempSync(join(tmpdir(), 'acula-a11y-'));
let server;

before(async () => { server = await serveDist(); });
after(async () => { await server?.close(); });

/** axe-core's violations of impact serious or critical on the page as it is now, as lines. */
async function axeViolations(page) {
  // Evaluated through the DevTools protocol, so the page's Content-Security-Policy is not relaxed.
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id} (${v.help}): ${v.nodes.join(', ')}`);
}

/** Visible controls smaller than 44 × 44 CSS px, as lines. */
async function smallTargets(page) {
  return page.evaluate(() => {
    const out = [];
    const controls = document.querySelectorAll('button, summary, select, textarea, a[href], input:not([type=hidden])');
    for (const el of controls) {
      // A control inside a label is tapped through its label.
      const target = el.closest('label') || el;
      const r = target.getBoundingClientRect();
      const style = getComputedStyle(el);
      if (r.width === 0 || r.height === 0 || style.visibility === 'hidden') continue;
      // Links inside a sentence are exempt (WCAG 2.5.5's "inline" exception).
      if (el.tagName === 'A' && getComputedStyle(el).display === 'inline') continue;
      if (r.width < 44 || r.height < 44) {
        const name = el.id ? `#${el.id}` : `${el.tagName.toLowerCase()}${el.name ? `[name=${el.name}]` : ''} "${(target.textContent || '').trim().slice(0, 30)}"`;
        out.push(`${name}: ${r.width.toFixed(0)} × ${r.height.toFixed(0)} px`);
      }
    }
    return [...new Set(out)];
  });
}

/** Scans the page in one state: axe, the width at 360 px and the touch targets. */
async function check(page, state, problems) {
  for (const line of await axeViolations(page)) problems.push(`${state}: ${line}`);
  for (const line of await smallTargets(page)) problems.push(`${state}: small target ${line}`);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  if (width > 360) problems.push(`${state}: the page is ${width} px wide at a 360 px viewport`);
  console.log(`# ${state}: scanned`);
}

async function waitStatus(page, pattern) {
  await page.waitForFunction((p) => new RegExp(p).test(document.querySelector('#status')?.textContent || ''),
    pattern.source, { timeout: 120_000 });
}

test('no serious accessibility violation, 360 px wide and 44 px touch targets in each state of the page', { skip: !existsSync(KAUH) && `${KAUH} not found` }, async () => {
  const context = await launch();
  const problems = [];
  try {
    const { page, consoleErrors } = await openModel(context, `${server.url}?backend=cpu`);
    await page.setViewportSize({ width: 360, height: 800 });
    // The scan can fail: a button with no name, added for a moment, is reported as critical.
    await page.evaluate(() => { const b = document.createElement('button'); b.id = 'axe-probe'; document.body.append(b); });
    const probe = await axeViolations(page);
    assert.ok(probe.some((l) => l.includes('button-name') && l.includes('#axe-probe')), `axe did not see the nameless button: ${probe}`);
    await page.evaluate(() => document.querySelector('#axe-probe').remove());
    await check(page, 'model ready', problems);

    // A real lung recording screened: results, reports and the labels form.
    const lung = join(KAUH, readdirSync(KAUH).filter((f) => f.endsWith('.wav')).sort()[0]);
    await page.check('input[name="kind"][value="lung"]');
    await page.setInputFiles('#file', lung);
    await waitStatus(page, /Analysis finished|Could not/);
    await check(page, 'results', problems);
    await page.screenshot({ path: join(await artifactsDir(), 'a11y-results-360px.png'), fullPage: true });

    // A file that is not audio: the one-line error.
    const bad = join(TMP, 'notes.wav');
    await writeFile(bad, 'These are my notes, not a recording.\n'.repeat(20));
    await page.setInputFiles('#file', bad);
    await waitStatus(page, /Could not/);
    await check(page, 'bad file', problems);

    // Settings open, with what is stored listed.
    await page.click('.settings summary');
    await page.click('#cache-show');
    await page.waitForFunction(() => (document.querySelector('#cache-info')?.textContent || '').length > 0);
    await check(page, 'settings open', problems);

    // Conference mode: large type and the demo recordings.
    await page.check('#conference');
    await check(page, 'conference mode', problems);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
  assert.deepEqual(problems, [], `accessibility problems:\n${problems.join('\n')}`);
});
