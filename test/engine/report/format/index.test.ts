import { describe, expect, it } from 'vitest';
import { formatJson, formatReport, formatSarif, formatText, isReportFormat } from '../../../../src/engine/report/format/index.js';
import { twoClustersWithStatus } from './report-fixtures.js';

const options = { color: false, withStatus: true, toolVersion: '0.1.0' };

describe('formatReport', () => {
  it.each([
    ['text', () => formatText(twoClustersWithStatus(), options)],
    ['json', () => formatJson(twoClustersWithStatus(), options)],
    ['sarif', () => formatSarif(twoClustersWithStatus(), options)],
  ] as const)('renders --format %s with its renderer', (format, render) => {
    expect(formatReport(twoClustersWithStatus(), format, options)).toBe(render());
  });

  it.each([
    ['text', true],
    ['sarif', true],
    ['yaml', false],
    ['JSON', false],
  ])('knows whether %s is a format', (format, known) => {
    expect(isReportFormat(format)).toBe(known);
  });
});
