// The render cache's benchmark measures what it claims: its overlay repository renders cleanly, the
// warm run builds nothing, and touching one base builds again exactly the overlays over it.
import { afterAll, describe, expect, it } from 'vitest';
import { benchRenderCache } from '../../bench/render-cache.js';
import { startDriver } from '../helpers/engine.js';

describe('the render cache benchmark', () => {
  const driver = startDriver({ workers: 1 });
  afterAll(() => driver.close());

  it('renders overlays cold, then none warm, then only those over the touched base', async () => {
    const figures = await benchRenderCache(driver, 6, 3);
    expect(figures.runs.map((r) => [r.label, r.builds, r.builds - r.cached])).toEqual([
      ['cold (empty cache)', 6, 6],
      ['warm, unchanged', 6, 0],
      ['one base touched', 6, 2],
    ]);
    expect(figures.including).toBe(2);
  });
});
