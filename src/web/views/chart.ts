// Small line charts as server-rendered SVG: no script, no external resource (the page's
// Content-Security-Policy allows neither). Series are told apart by line pattern as well as colour,
// the SVG has a title and a description for screen readers, and the page puts the numbers in a
// table beside it.
import { html, type SafeHtml } from './html.js';

export interface ChartSeries {
  label: string;
  /** Line colour and dash pattern: never colour alone. */
  stroke: string;
  dash: string | null;
  /** A value per point; null where unknown (the line breaks). */
  values: (number | null)[];
}

export interface ChartOptions {
  /** Unique on the page: the SVG's title and description are referenced by id. */
  id: string;
  title: string;
  description: string;
  /** Position of each point on the time axis, from 0 (first day) to `span` (last day). */
  positions: number[];
  span: number;
  /** Labels of the first and the last day. */
  from: string;
  to: string;
  series: ChartSeries[];
  width?: number;
  height?: number;
}

const PAD = { left: 40, right: 8, top: 8, bottom: 20 };

/** A round maximum for the value axis: 1, 2 or 5 times a power of ten. */
export function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((m) => m >= value)!;
}

const round = (n: number) => Math.round(n * 10) / 10;

/**
 * A step chart: each value holds until the next point, as a state does (the points are the days a
 * value changed). The series share one value axis from 0.
 */
export function stepChart(options: ChartOptions): SafeHtml {
  const width = options.width ?? 360;
  const height = options.height ?? 140;
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const max = niceMax(Math.max(0, ...options.series.flatMap((s) => s.values.filter((v): v is number => v !== null))));
  const x = (position: number) => round(PAD.left + (options.span === 0 ? plotW : (position / options.span) * plotW));
  const y = (value: number) => round(PAD.top + plotH - (value / max) * plotH);
  const paths = options.series.map((s) => {
    let d = '';
    let open = false;
    s.values.forEach((value, i) => {
      if (value === null) {
        open = false;
        return;
      }
      const end = i + 1 < s.values.length ? x(options.positions[i + 1]!) : x(options.span);
      // A step: down or up to the new value where the previous one ended, then along to the next point.
      d += open ? `V${y(value)}H${end}` : `M${x(options.positions[i]!)} ${y(value)}H${end}`;
      open = true;
    });
    return d === '' ? '' : html`<path d="${d}" fill="none" stroke="${s.stroke}" stroke-width="2"${s.dash ? html` stroke-dasharray="${s.dash}"` : ''}/>`;
  });
  const titleId = `${options.id}-title`;
  const descId = `${options.id}-desc`;
  return html`<svg class="chart" role="img" aria-labelledby="${`${titleId} ${descId}`}" viewBox="${`0 0 ${width} ${height}`}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">
<title id="${titleId}">${options.title}</title><desc id="${descId}">${options.description}</desc>
<g class="axes" stroke="#8c959f" stroke-width="1"><line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${PAD.top + plotH}"/><line x1="${PAD.left}" y1="${PAD.top + plotH}" x2="${PAD.left + plotW}" y2="${PAD.top + plotH}"/><line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left + plotW}" y2="${PAD.top}" stroke-dasharray="2 3"/></g>
<g class="labels" font-size="10" fill="#57606a"><text x="${PAD.left - 4}" y="${PAD.top + 4}" text-anchor="end">${max.toLocaleString('en-US')}</text><text x="${PAD.left - 4}" y="${PAD.top + plotH}" text-anchor="end">0</text><text x="${PAD.left}" y="${height - 4}">${options.from}</text><text x="${PAD.left + plotW}" y="${height - 4}" text-anchor="end">${options.to}</text></g>
${paths}
</svg>`;
}

/** The legend of a chart's series: a sample of each line with its label. */
export function chartLegend(series: readonly Pick<ChartSeries, 'label' | 'stroke' | 'dash'>[]): SafeHtml {
  return html`<ul class="chart-legend">${series.map(
    (s) =>
      html`<li><svg width="28" height="10" aria-hidden="true" xmlns="http://www.w3.org/2000/svg"><line x1="0" y1="5" x2="28" y2="5" stroke="${s.stroke}" stroke-width="2"${s.dash ? html` stroke-dasharray="${s.dash}"` : ''}/></svg> ${s.label}</li>`,
  )}</ul>`;
}
