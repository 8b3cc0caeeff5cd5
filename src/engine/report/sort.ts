// Findings in a stable order (file, line, policy), so every renderer and every run agree.
import type { InputError, Report, Violation } from '../model.js';

export function compareViolations(a: Violation, b: Violation): number {
  return (
    compareText(a.location.file, b.location.file) ||
    a.location.line - b.location.line ||
    compareText(a.policy, b.policy) ||
    compareText(a.constraint, b.constraint) ||
    compareText(a.message, b.message)
  );
}

export function compareErrors(a: InputError, b: InputError): number {
  return compareText(a.location.file, b.location.file) || a.location.line - b.location.line || compareText(a.message, b.message);
}

export function sortReport(report: Report): Report {
  for (const cluster of report.clusters) {
    cluster.violations.sort(compareViolations);
    cluster.errors.sort(compareErrors);
    cluster.warnings?.sort(compareErrors);
  }
  report.errors.sort(compareErrors);
  return report;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
