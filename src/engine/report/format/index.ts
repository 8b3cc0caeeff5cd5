// Picks the renderer for `--format`: each is a pure function from a Report to the text to print.
import type { Report } from '../../model.js';
import { formatJson, type JsonOptions } from './json.js';
import { formatMarkdown, type MarkdownOptions } from './markdown.js';
import { formatSarif, type SarifOptions } from './sarif.js';
import { formatText, type TextOptions } from './text.js';

export { formatJson, toJsonReport, type JsonOptions, type JsonReport } from './json.js';
export { formatSarif, toSarifLog, INPUT_ERROR_RULE_ID, type SarifOptions, type SarifLog } from './sarif.js';
export { formatText, type TextOptions } from './text.js';
export { formatMarkdown, type MarkdownOptions } from './markdown.js';

export const REPORT_FORMATS = ['text', 'json', 'sarif', 'markdown'] as const;

export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Everything any renderer needs, so a command can pass one object whatever the format. */
export type FormatOptions = TextOptions & JsonOptions & SarifOptions & MarkdownOptions;

export function isReportFormat(value: string): value is ReportFormat {
  return (REPORT_FORMATS as readonly string[]).includes(value);
}

export function formatReport(report: Report, format: ReportFormat, options: FormatOptions): string {
  switch (format) {
    case 'text':
      return formatText(report, options);
    case 'json':
      return formatJson(report, options);
    case 'sarif':
      return formatSarif(report, options);
    case 'markdown':
      return formatMarkdown(report, options);
  }
}
