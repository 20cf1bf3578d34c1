/**
 * Opens the HTML report in Debian's real headless Chromium (playwright-core,
 * no browser download): no console errors, every chart drawn, the headline
 * table complete, hostile strings shown as text, nothing fetched but file://.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResults } from '../../src/results/types.js';
import { writeReport } from '../../src/report/write.js';
import { FIXTURE_DIR, HOSTILE, METRIC_ROWS } from '../helpers/fake-results.js';

const CHROMIUM = '/usr/bin/chromium';
const load = (name: string): RunResults => JSON.parse(readFileSync(path.join(FIXTURE_DIR, name), 'utf8')) as RunResults;

interface Opened {
  page: Page;
  consoleErrors: string[];
  dialogs: string[];
  requests: string[];
}

describe('HTML report in headless Chromium', () => {
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'isobench-report-'));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function open(results: RunResults): Promise<Opened & { index: string }> {
    const { index } = await writeReport(results, path.join(work, 'results', results.runId), path.join(work, 'reports'));
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const o: Opened = { page, consoleErrors: [], dialogs: [], requests: [] };
    page.on('console', (m) => {
      if (m.type() === 'error') o.consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => o.consoleErrors.push(String(e)));
    page.on('dialog', (d) => {
      o.dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('request', (r) => o.requests.push(r.url()));
    await page.goto(pathToFileURL(index).href, { waitUntil: 'load' });
    await page.waitForFunction(
      () =>
        document.querySelectorAll('canvas').length > 0 &&
        [...document.querySelectorAll('canvas')].every((c) => c.getAttribute('data-drawn') === '1'),
    );
    return { ...o, index };
  }

  it('renders a complete run: charts drawn, headline rows, escaped strings, offline', async () => {
    const { page, consoleErrors, dialogs, requests, index } = await open(load('run-a.json'));

    // Every chart canvas has pixels that are not transparent/background.
    const canvases = await page.evaluate(() =>
      [...document.querySelectorAll('canvas')].map((c) => {
        const ctx = c.getContext('2d')!;
        const { data } = ctx.getImageData(0, 0, c.width, c.height);
        let ink = 0;
        for (let i = 0; i < data.length; i += 4)
          if (data[i + 3]! > 0 && (data[i]! < 235 || data[i + 1]! < 235 || data[i + 2]! < 235)) ink++;
        return { id: c.id, w: c.width, h: c.height, ink: ink / (c.width * c.height) };
      }),
    );
    expect(canvases.map((c) => c.id)).toEqual(
      expect.arrayContaining([
        'chart-summary',
        'chart-capacity',
        'chart-cpu',
        'chart-memory',
        'chart-disk',
        'chart-network',
        'chart-startup',
        'chart-footprint',
        'cdf-startup-ready-ms',
      ]),
    );
    for (const c of canvases) {
      expect(c.w, c.id).toBeGreaterThan(100);
      expect(c.ink, c.id).toBeGreaterThan(0.01);
    }

    // The headline table: one row per category, one column per non-native backend.
    const headline = await page.evaluate(() => ({
      head: [...document.querySelectorAll('#headline-table thead th')].map((th) => th.textContent?.trim()),
      rows: [...document.querySelectorAll('#headline-table tbody tr')].map((tr) => tr.getAttribute('data-category')),
      equivalent: document.querySelectorAll('#headline-table .badge.v-no-practical-difference').length,
    }));
    expect(headline.head).toEqual(['Category', 'container:runc vs native', 'vm:q35-tcg vs native']);
    expect(headline.rows).toEqual(['cpu', 'memory', 'disk', 'network', 'startup', 'footprint']);

    // Footprint: absolute difference per idle instance on pss-mib, never a ratio; throughput: "slower than native".
    const fp = await page.locator('#headline-table tr[data-category="footprint"]').innerText();
    expect(fp).toContain('pss-mib');
    expect(fp).toMatch(/\+2\d\d MiB per idle instance/);
    expect(fp).not.toMatch(/×/);
    expect(await page.locator('#headline-table tr[data-category="startup"]').innerText()).toMatch(
      /\+3\.\d+ s to ready/,
    );
    expect(await page.locator('#headline-table tr[data-category="cpu"]').innerText()).toMatch(/\d× slower than native/);

    // Capacity: inputs stated, rerun command, TCG caveat repeated, RuntimeClass snippet.
    const cap = await page.locator('#capacity').innerText();
    expect(cap).toContain('example-64c-256g');
    expect(cap).toMatch(/isobench capacity --run \S+ --host example-64c-256g --instance vcpus=2,memoryMiB=512/);
    expect(cap).toMatch(/TCG emulation/);
    expect(cap).toContain('kind: RuntimeClass');
    expect(await page.locator('#capacity-table tbody tr').count()).toBe(3);

    // Noisy-metric warnings are one collapsed line, not one line each.
    const noisy = page.locator('#warnings li.group[data-code="NOISY"]');
    expect(await noisy.count()).toBe(1);
    expect(await noisy.getAttribute('data-count')).toBe('5');
    expect(await noisy.locator('details').getAttribute('open')).toBeNull();

    // Tables say which statistic they show; the methods note explains it once.
    const th = await page.locator('#cat-cpu table.metrics thead').innerText();
    expect(th).toMatch(/Median[\s\S]*Mean[\s\S]*Mean 95% CI/);
    expect(await page.locator('#methods').innerText()).toMatch(/confidence interval of the MEAN[\s\S]*Welch/);

    // Accelerator banner is present and loud.
    const banner = await page.locator('#accelerator-banner').textContent();
    expect(banner).toMatch(/TCG software emulation, not hardware virtualization/);

    // Hostile strings appear as text, never run.
    expect(dialogs).toEqual([]);
    const bodyText = await page.evaluate(() => document.body.innerText);
    expect(bodyText).toContain(HOSTILE);
    expect(await page.locator('#scenario-name').textContent()).toBe(`quick ${HOSTILE}`);
    const scripts = await page.evaluate(() => document.querySelectorAll('script').length);
    expect(scripts).toBe(3);

    // Every metric row a backend reports is there, with raw log links relative to the report.
    expect(await page.locator('table.metrics tbody tr').count()).toBe(METRIC_ROWS);
    const href = await page.locator('table.metrics .raw a').first().getAttribute('href');
    expect(href).toBe(`../../results/${load('run-a.json').runId}/raw/native/cpu/rep1.log`);

    // Offline: nothing but the file itself was requested.
    expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(readFileSync(index, 'utf8')).not.toMatch(/(src|href)="(https?:)?\/\//);

    await page.screenshot({ path: '/tmp/isobench-report.png', fullPage: true });
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.screenshot({ path: '/tmp/isobench-report-top.png' });
    await page.close();
  });

  it('every card and table fits its width at 1280 px (a quick run; native, runc, podman, Docker and a VM)', async () => {
    for (const fixture of ['aa-quick-2.json', 'engines.json']) {
      const { page } = await open(load(fixture));
      // A wide table spilled past its card (the headline's long figures kept on one line did), or scrolled
      // sideways inside it (the category tables' vs-native cells and long flags did).
      const overflowing = await page.evaluate(() =>
        [...document.querySelectorAll('section.card, .table-wrap')]
          .filter((c) => c.scrollWidth > c.clientWidth + 1)
          .map((c) => `${c.closest('section')?.id}: ${c.scrollWidth} > ${c.clientWidth}`),
      );
      expect(overflowing, fixture).toEqual([]);
      await page.close();
    }
  });

  it('draws the isolation charts from cell.extra (partition, gradient, density, noisy neighbour)', async () => {
    const { page, consoleErrors, dialogs } = await open(load('isolation.json'));
    const canvases = await page.evaluate(() =>
      [...document.querySelectorAll('.isolation canvas')].map((c) => {
        const ctx = (c as HTMLCanvasElement).getContext('2d')!;
        const { data } = ctx.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height);
        let ink = 0;
        for (let i = 0; i < data.length; i += 4)
          if (data[i + 3]! > 0 && (data[i]! < 235 || data[i + 1]! < 235 || data[i + 2]! < 235)) ink++;
        return {
          id: c.id,
          drawn: c.getAttribute('data-drawn'),
          ink: ink / ((c as HTMLCanvasElement).width * (c as HTMLCanvasElement).height),
        };
      }),
    );
    expect(canvases.map((c) => c.id)).toEqual(
      expect.arrayContaining([
        'chart-partition-cpu-share',
        'chart-partition-disk-cap',
        'chart-partition-net-share',
        'chart-memory-gradient-curve',
        'chart-density-memory',
        'chart-noisy-neighbor-cpu',
        'chart-noisy-neighbor-network',
      ]),
    );
    expect(canvases).toHaveLength(12);
    for (const c of canvases) {
      expect(c.drawn, c.id).toBe('1');
      expect(c.ink, c.id).toBeGreaterThan(0.01);
    }
    expect(await page.locator('#cat-partition .note').innerText()).toMatch(/hard throttles, not weights/);
    expect(await page.locator('#memory-gradient-steps').innerText()).toMatch(/guest OOM at 75%/);
    expect(await page.locator('#cat-memory-gradient .findings').innerText()).toMatch(/A cliff, not a gradient/);
    expect(dialogs).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await page.locator('#cat-memory-gradient .isolation').screenshot({ path: '/tmp/isobench-report-gradient.png' });
    await page.close();
  });

  it('renders a partial run with its status banner and failed cell', async () => {
    const { page, consoleErrors, dialogs } = await open(load('partial.json'));
    expect(await page.locator('#status-banner').textContent()).toMatch(/partial/i);
    const problems = await page.locator('#cat-disk .problems').textContent();
    expect(problems).toContain(`fio exited 1: ${HOSTILE}`);
    expect(dialogs).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await page.screenshot({ path: '/tmp/isobench-report-partial.png' });
    await page.close();
  });
});
