// The Markdown summary (a GitHub Actions job summary): what the repository writes is shown as text,
// never as Markdown or HTML, and a long list is capped with a count of the rest.
import { describe, expect, it } from 'vitest';
import { formatMarkdown, MARKDOWN_LIST_LIMIT } from '../../../../src/engine/report/format/markdown.js';
import type { Report, Violation } from '../../../../src/engine/model.js';

function violation(overrides: Partial<Violation> = {}): Violation {
  return {
    cluster: 'prod',
    policy: 'k8srequiredlabels',
    constraint: 'must-have-owner',
    enforcementAction: 'deny',
    message: 'you must provide labels: {"owner"}',
    details: {},
    location: { file: 'apps/web.yaml', line: 4 },
    object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' },
    acceptance: null,
    ...overrides,
  };
}

const report = (violations: Violation[]): Report => ({ clusters: [{ name: 'prod', config: '.securitytower/prod.yaml', violations, errors: [] }], errors: [] }) as unknown as Report;

describe('parapet check --format markdown', () => {
  it('shows a message with Markdown and HTML in it as text', () => {
    const text = formatMarkdown(report([violation({ message: '<img src=x onerror=alert(1)> **bold** [link](https://evil.example) `code` | cell' })]), { withStatus: false });
    expect(text).toContain('&lt;img src=x onerror=alert(1)&gt; \\*\\*bold\\*\\* \\[link\\](https://evil.example) \\`code\\` \\| cell');
    expect(text).not.toContain('<img');
  });

  it('keeps a file name with a backquote or a pipe inside its code span and its table row', () => {
    const text = formatMarkdown(report([violation({ location: { file: 'apps/we`b|x.yaml', line: 4 } })]), { withStatus: false });
    expect(text).toContain("`apps/we'b\\|x.yaml:4`");
  });

  it(`lists at most ${MARKDOWN_LIST_LIMIT} failing findings and counts the rest`, () => {
    const many = Array.from({ length: MARKDOWN_LIST_LIMIT + 5 }, (_, i) => violation({ location: { file: 'apps/web.yaml', line: i + 1 } }));
    const text = formatMarkdown(report(many), { withStatus: false });
    expect(text.split('\n').filter((line) => line.startsWith('- '))).toHaveLength(MARKDOWN_LIST_LIMIT);
    expect(text).toContain('…and 5 more');
    expect(text).toMatch(/^## ❌ Parapet: 105 findings fail the check\n/);
  });

  it('says nothing fails when only warnings occur, and lists them under --fail-on warn', () => {
    const warns = report([violation({ enforcementAction: 'warn' })]);
    expect(formatMarkdown(warns, { withStatus: false })).toMatch(/^## ✅ Parapet: nothing fails the check\n/);
    expect(formatMarkdown(warns, { withStatus: false, exitPolicy: { failOn: 'warn', newOnly: false } })).toContain('- **prod** `apps/web.yaml:4` warn `k8srequiredlabels` / `must-have-owner`');
  });
});
