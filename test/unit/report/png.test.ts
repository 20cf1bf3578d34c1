import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadImage, createCanvas } from 'canvas';
import { describe, expect, it } from 'vitest';
import type { RunResults } from '../../../src/results/types.js';
import { PNG_HEIGHT, PNG_WIDTH, renderPngs } from '../../../src/report/png.js';
import { FIXTURE_DIR } from '../../helpers/fake-results.js';
import { loadCapacityHost } from '../../../src/report/write.js';

const load = (name: string): RunResults => JSON.parse(readFileSync(path.join(FIXTURE_DIR, name), 'utf8')) as RunResults;

/** Width and height from the IHDR chunk (bytes 16..23), after checking the PNG signature. */
function pngSize(buf: Buffer): { width: number; height: number } {
  expect([...buf.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(buf.subarray(12, 16).toString('ascii')).toBe('IHDR');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

/** Share of pixels that differ from the (white) background. */
async function inkShare(buf: Buffer): Promise<number> {
  const img = await loadImage(buf);
  const c = createCanvas(img.width, img.height);
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const { data } = ctx.getImageData(0, 0, img.width, img.height);
  let ink = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i]! < 240 || data[i + 1]! < 240 || data[i + 2]! < 240) ink++;
  return ink / (img.width * img.height);
}

describe('renderPngs', () => {
  it('renders one valid, non-blank PNG per category plus summary.png', async () => {
    const files = await renderPngs(load('run-a.json'), { capacityHost: loadCapacityHost()! });
    const names = files.map((f) => f.name);
    expect(names).toContain('summary.png');
    expect(names).toContain('capacity.png');
    for (const cat of ['cpu', 'memory', 'disk', 'network', 'startup', 'footprint'])
      expect(names).toContain(`${cat}.png`);
    expect(names).toContain('cdf-startup-ready-ms.png');
    // A stage only one backend reports gets no distribution chart of its own.
    expect(names).not.toContain('cdf-startup-stage-kernel-entry-ms.png');
    expect(new Set(names).size).toBe(names.length);
    // headline.png: the stored headline as text, as tall as its rows need.
    const head = files.find((f) => f.name === 'headline.png')!;
    expect(pngSize(head.data).width).toBe(PNG_WIDTH);
    expect(pngSize(head.data).height).toBeGreaterThanOrEqual(PNG_HEIGHT);
    expect(await inkShare(head.data)).toBeGreaterThan(0.005);
    for (const f of files.filter((x) => x.name !== 'headline.png')) {
      expect(pngSize(f.data), f.name).toEqual({ width: PNG_WIDTH, height: PNG_HEIGHT });
      const share = await inkShare(f.data);
      expect(share, f.name).toBeGreaterThan(0.02);
      expect(share, f.name).toBeLessThan(0.9);
    }
  });

  it('renders a partial run (a failed cell) without throwing', async () => {
    const files = await renderPngs(load('partial.json'));
    expect(files.find((f) => f.name === 'disk.png')).toBeDefined();
    for (const f of files.filter((x) => x.name !== 'headline.png'))
      expect(pngSize(f.data)).toEqual({ width: PNG_WIDTH, height: PNG_HEIGHT });
  });
});
