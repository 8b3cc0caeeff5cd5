// The Markdown summary (a GitHub Actions job summary): what the repository writes is shown as text,
// never as Markdown or HTML, and a long list is capped with a count of the rest.
import { describe, expect, it } from 'vitest';
import { formatMarkdown, MARKDOWN_LIST_LIMIT } from '../../../../src/engine/report/format/markdown.js';
import type { InputError, Report, Violation } from '../../../../src/engine/model.js';
import { elements, HOSTILE, renderGfm, textOf } from '../../../helpers/gfm.js';

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
    expect(text).toContain('&lt;img src=x onerror=alert(1)&gt; \\*\\*bold\\*\\* \\[link\\](https:&#8203;//evil.example) \\`code\\` \\| cell');
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

  describe('warnings and notices', () => {
    const warning: InputError = {
      location: { file: 'apps/flags.yaml', line: 8 },
      code: 'yaml-reading',
      message: 'YAML: sigs.k8s.io/yaml (kubectl, Argo CD) reads the keys of data as "true", kyaml (Flux, kustomize) as "yes"; quote such keys ("y", "no", "on"...) so both read them as written',
    };
    const notice: InputError = { location: { file: 'apps/release.yaml', line: 9 }, code: 'render', message: 'HelmRelease shop/web: chart podinfo@6.7.1 from HelmRepository flux-system/podinfo was not rendered' };
    const remarked = (violations: Violation[], w: InputError[] = [warning], n: InputError[] = [notice]): Report => {
      const r = report(violations);
      r.clusters[0]!.warnings = w;
      r.clusters[0]!.notices = n;
      return r;
    };

    it('are counted in the table and listed with their place, after what fails the check', () => {
      const text = formatMarkdown(remarked([violation()]), { withStatus: false });
      expect(text).toContain('| prod | warnings: 1 |');
      expect(text).toContain('| prod | not rendered: 1 |');
      expect(text).toContain(
        '### Warnings and notices (2)\n\nThey do not fail the check: YAML that kubectl and Argo CD read otherwise than Flux, and what Parapet could not render.\n\n' +
          '- **prod** `apps/flags.yaml:8` warning (yaml-reading): YAML: sigs.k8s.io/yaml (kubectl, Argo CD) reads the keys of data as "true", kyaml (Flux, kustomize) as "yes"; quote such keys ("y", "no", "on"...) so both read them as written\n' +
          '- **prod** `apps/release.yaml:9` not rendered (render): HelmRelease shop/web: chart podinfo@&#8203;6.7.1 from HelmRepository flux-system/podinfo was not rendered\n',
      );
      expect(text.indexOf('### What fails the check')).toBeLessThan(text.indexOf('### Warnings and notices'));
    });

    it('never change the verdict', () => {
      for (const violations of [[], [violation({ enforcementAction: 'warn' })], [violation()]]) {
        const heading = (r: Report) => formatMarkdown(r, { withStatus: false }).split('\n')[0];
        expect(heading(remarked(violations))).toBe(heading(report(violations)));
      }
      expect(formatMarkdown(remarked([]), { withStatus: false })).toMatch(/^## ✅ Parapet: nothing fails the check\n/);
    });

    it.each(HOSTILE)('quote the repository as text: %s', (_, value) => {
      const hostile: InputError = { ...warning, location: { file: `apps/${value}.yaml`, line: 8 }, message: `YAML: sigs.k8s.io/yaml (kubectl, Argo CD) reads data.${value} as true, kyaml (Flux, kustomize) as the string ${JSON.stringify(value)}` };
      const html = renderGfm(formatMarkdown(remarked([], [hostile], []), { withStatus: false }));
      expect(html).not.toMatch(/<(?!\/?(?:h2|h3|p|strong|code|ul|li|table|thead|tbody|tr|th|td|em)\b)[a-z!]/i);
      expect(elements(html, 'h3').map(textOf)).toEqual(['Warnings and notices (1)']);
      expect(elements(html, 'li')).toHaveLength(1);
      expect(textOf(elements(html, 'li')[0]!)).toContain(hostile.message.replace(/[\r\n]+/g, ' '));
    });
  });
});
