// Everything a pull request's author writes stays text: for each value from the repository (file
// path, object name, namespace, message, acceptance reason, cluster name, policy and constraint
// name), a hostile value in the check run's summary, its policy-change impact and the review's
// comments renders as exactly that text, in the list item, table cell or paragraph it belongs to,
// and produces no link, image, HTML, mention or new block. Annotations are plain text on GitHub:
// their message keeps the value as it is, their title stays on one line.
import { describe, expect, it } from 'vitest';
import type { ClusterReport, InputError, Violation } from '../../src/engine/index.js';
import { clusterCheckOutput } from '../../src/github/check-run.js';
import { oneLine } from '../../src/github/markdown.js';
import type { PolicyImpact } from '../../src/github/policy-impact.js';
import { planReview, reviewFindings, type ReviewFinding } from '../../src/github/review.js';
import { elements, HOSTILE, markupIn, renderGfm, textOf } from '../helpers/gfm.js';

const FILE = 'cluster/namespaces/shop/debug.yaml';

/** What the renderers read, the value under test in one field, ordinary values elsewhere. */
interface Scene {
  file: string;
  name: string;
  namespace: string;
  message: string;
  reason: string;
  cluster: string;
  policy: string;
  constraint: string;
}

const ORDINARY: Scene = {
  file: FILE,
  name: 'debug-shell',
  namespace: 'shop',
  message: 'Privileged container is not allowed: shell, securityContext: {"privileged": true}',
  reason: 'Debugging the payment outage INC-42.',
  cluster: 'shop-prod',
  policy: 'preventprivileged',
  constraint: 'no-privileged-containers',
};

type Shown = 'text' | 'code' | 'nowhere';

/**
 * Where each field shows in the summary and in the review's comments, as a reader sees it: in
 * inline text (on one line) or in a code span (verbatim, line breaks as ⏎). A file path is the
 * review comment's place, not part of its text.
 */
const FIELDS: Array<[keyof Scene, Shown, Shown]> = [
  ['file', 'code', 'nowhere'],
  ['name', 'text', 'text'],
  ['namespace', 'text', 'text'],
  ['message', 'text', 'text'],
  ['reason', 'text', 'text'],
  ['cluster', 'text', 'code'],
  ['policy', 'text', 'text'],
  // Not shown anywhere today: should it be, it must be escaped like the others.
  ['constraint', 'nowhere', 'nowhere'],
];

function violation(scene: Scene, line: number, fields: Partial<Violation>): Violation {
  return {
    cluster: scene.cluster,
    policy: scene.policy,
    constraint: scene.constraint,
    enforcementAction: 'deny',
    message: scene.message,
    details: {},
    location: { file: scene.file, line },
    object: { apiVersion: 'apps/v1', kind: 'Deployment', name: scene.name, namespace: scene.namespace },
    acceptance: null,
    status: 'new',
    ...fields,
  };
}

/** A cluster with a new blocking violation, a new accepted one, an existing accepted one, an input error, and a policy change that moves two of them. */
function sceneReport(scene: Scene): { cluster: ClusterReport; errors: InputError[]; impact: PolicyImpact } {
  const acceptance = { reason: scene.reason, level: 'object' as const, annotation: `securitytower.io/policy.exclusion.${scene.policy}`, location: { file: scene.file, line: 7 } };
  const denied = violation(scene, 22, {});
  const accepted = violation(scene, 24, { acceptance });
  const existing = violation(scene, 30, { acceptance, status: 'existing' });
  const error: InputError = { location: { file: scene.file, line: 40 }, code: 'manifest', message: scene.message };
  const cluster: ClusterReport = {
    name: scene.cluster,
    config: '.securitytower/clusters.yaml',
    violations: [denied, accepted, existing],
    errors: [],
    images: [],
    stats: { objects: 3, constraints: 1, evaluations: 3 },
  };
  const impact: PolicyImpact = { changedFiles: [scene.file], appeared: [denied], disappeared: [existing], errors: [error], failure: scene.message };
  return { cluster, errors: [error], impact };
}

/** How the value reads once rendered. */
function shown(value: string, where: Exclude<Shown, 'nowhere'>): string {
  return where === 'code' ? value.replace(/\n/g, '⏎') : oneLine(value);
}

describe.each(FIELDS)('a hostile %s', (field, inSummary, inReview) => {
  it.each(HOSTILE)('stays text in the check run summary: %s', (_, value) => {
    const { cluster, errors, impact } = sceneReport({ ...ORDINARY, [field]: value });
    const { summary } = clusterCheckOutput(cluster, errors, impact);
    const html = renderGfm(summary);

    expect(markupIn(html, ['details', 'summary']), summary).toEqual([]);
    // The structure of the summary, whatever the value: its sections, lists, tables and the collapsed baseline.
    expect(elements(html, 'h3').map(textOf)).toEqual(['Input errors (1)', 'Risks accepted by this pull request (1)', 'Policy-change impact']);
    expect(html.match(/<details>/g)).toHaveLength(1);
    expect(html.match(/<\/details>/g)).toHaveLength(1);
    expect(elements(html, 'li')).toHaveLength(6);
    expect(elements(html, 'tr').map((row) => elements(row, 'td').length + elements(row, 'th').length)).toEqual([5, 5, 4, 4]);
    const cells = elements(html, 'td');
    expect([cells[0], cells[5]].map((cell) => textOf(cell!))).toEqual([shown(cluster.violations[0]!.policy, 'text'), shown(cluster.violations[0]!.policy, 'text')]);
    if (inSummary !== 'nowhere') expect(textOf(html)).toContain(shown(value, inSummary));
  });

  it.each(HOSTILE)('stays text in the review comments: %s', (_, value) => {
    const { cluster } = sceneReport({ ...ORDINARY, [field]: value });
    const findings = reviewFindings({ clusters: [cluster], errors: [] });
    const everyLine = new Map([[cluster.violations[0]!.location.file, new Set([7, 22, 24])]]);
    const { comments } = planReview(findings, everyLine, []);

    expect(comments).toHaveLength(2);
    for (const comment of comments) {
      // Its own marker ends the comment, on a line of its own; the rest renders as text.
      const marker = findings.find((f) => comment.body.endsWith(`\n\n<!-- ${f.marker} -->`))!.marker;
      const html = renderGfm(comment.body.slice(0, -`\n\n<!-- ${marker} -->`.length));
      expect(markupIn(html), comment.body).toEqual([]);
      expect(elements(html, 'p')).toHaveLength(comment.body.startsWith('**Risk accepted**') ? 3 : 2);
    }
    const accept = comments.find((c) => c.body.startsWith('**Risk accepted**'))!;
    expect(elements(renderGfm(accept.body), 'blockquote')).toHaveLength(1);
    // Read back on the next push, the comments carry their findings' markers and no other: a
    // finding whose marker a value spells out is still commented, and nothing is taken as fixed.
    const forged: ReviewFinding = { marker: 'parapet-accept:0123456789abcdef01234567', path: cluster.violations[0]!.location.file, line: 22, policy: 'other', text: 'A finding of its own.' };
    const next = planReview([...findings, forged], everyLine, comments.map((c, i) => ({ id: i + 1, body: c.body })));
    expect(next.comments.map((c) => c.body)).toEqual(['A finding of its own.\n\n<!-- parapet-accept:0123456789abcdef01234567 -->']);
    expect(next.fixed).toEqual([]);
    if (inReview !== 'nowhere') expect(textOf(renderGfm(comments.map((c) => c.body).join('\n\n')))).toContain(shown(value, inReview));
  });

  it.each(HOSTILE)('keeps each annotation title on one line, and the message as written: %s', (_, value) => {
    const { cluster, errors } = sceneReport({ ...ORDINARY, [field]: value });
    const { annotations } = clusterCheckOutput(cluster, errors);

    expect(annotations).toHaveLength(3);
    for (const a of annotations) expect(a.title).not.toMatch(/[\r\n]/);
    if (field === 'message') expect(annotations.map((a) => a.message.startsWith(value))).toEqual([true, true, true]);
    if (field === 'reason') expect(annotations[2]!.message.endsWith(`Risk accepted (object): ${value}`)).toBe(true);
    if (field === 'file') expect(annotations.map((a) => a.path)).toEqual([value, value, value]);
  });
});

describe('ordinary values', () => {
  it('read in the summary as they always have', () => {
    const { cluster, errors, impact } = sceneReport(ORDINARY);
    const { summary } = clusterCheckOutput(cluster, errors, impact);

    expect(summary).toContain('Cluster **shop-prod** (`.securitytower/clusters.yaml`)');
    expect(summary).toContain('| preventprivileged | deny | 2 | 1 | 2 |');
    expect(summary).toContain(
      '- **preventprivileged** on Deployment shop/debug-shell (`cluster/namespaces/shop/debug.yaml:7`, object): Debugging the payment outage INC-42.',
    );
    expect(summary).toContain(
      '- `cluster/namespaces/shop/debug.yaml:30` **preventprivileged** (deny) Privileged container is not allowed: shell, securityContext: {"privileged": true} — accepted: Debugging the payment outage INC-42.',
    );
  });
});

describe('a hostile value quoted in a warning or a notice', () => {
  // A warning quotes the file (a key, a value as the YAML readers read it), a notice names an
  // object and its chart: both are the pull request author's text.
  it.each(HOSTILE)('stays text in the check run summary and as written in its annotation: %s', (_, value) => {
    const warning: InputError = {
      location: { file: FILE, line: 12 },
      code: 'yaml-reading',
      message: `YAML: sigs.k8s.io/yaml (kubectl, Argo CD) reads data.${value} as true, kyaml (Flux, kustomize) as the string ${JSON.stringify(value)}; quote it`,
    };
    const notice: InputError = { location: { file: value, line: 3 }, code: 'render', message: `HelmRelease shop/${value}: chart ${value} was not rendered` };
    const cluster: ClusterReport = { ...sceneReport(ORDINARY).cluster, violations: [], warnings: [warning], notices: [notice] };
    const { summary, annotations } = clusterCheckOutput(cluster, []);
    const html = renderGfm(summary);

    expect(markupIn(html), summary).toEqual([]);
    expect(elements(html, 'h3').map(textOf)).toEqual(['Warnings (1)', 'Not rendered (1)']);
    expect(elements(html, 'li')).toHaveLength(2);
    expect(textOf(html)).toContain(shown(warning.message, 'text'));
    expect(textOf(html)).toContain(shown(notice.message, 'text'));
    expect(textOf(html)).toContain(shown(value, 'code'));
    expect(annotations.map((a) => [a.path, a.message])).toEqual([
      [FILE, warning.message],
      [value, notice.message],
    ]);
    for (const a of annotations) expect(a.title).not.toMatch(/[\r\n]/);
  });
});
