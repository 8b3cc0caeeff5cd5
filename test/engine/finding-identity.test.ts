import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { markStatus, normaliseMessage, type Report } from '../../src/engine/index.js';
import { check, repoRoot } from '../helpers/engine.js';
import { MemorySource } from '../helpers/memory-source.js';
import { clusterConfig, constraintOf, regoTemplate } from '../helpers/policy-builders.js';

// "New or existing" compares a pull request's findings with its base's. A finding is the same when
// the cluster, the constraint, the object and the part of the object it is about are: a Renovate
// pull request that only moves an image tag must not turn the findings that name the tag new.

// gatekeeper-library's k8sallowedrepos: its message names the whole image reference.
const ALLOWED_REPOS_REGO = `package k8sallowedrepos

violation[{"msg": msg}] {
  container := input.review.object.spec.containers[_]
  not strings.any_prefix_match(container.image, input.parameters.repos)
  msg := sprintf("container <%v> has an invalid image repo <%v>, allowed repos are %v", [container.name, container.image, input.parameters.repos])
}
`;

const library = (policy: string, file: string) => readFileSync(join(repoRoot, 'policies', policy, file), 'utf8');

function repo(manifest: string): MemorySource {
  return new MemorySource({
    '.securitytower/cluster.yaml': clusterConfig(),
    'cluster/policies/k8sallowedrepos-template.yaml': regoTemplate('K8sAllowedRepos', ALLOWED_REPOS_REGO, { version: 'v0', parameters: { repos: { type: 'array', items: { type: 'string' } } } }),
    'cluster/policies/allowed-repos.yaml': constraintOf('K8sAllowedRepos', 'allowed-repos', {
      match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] },
      parameters: { repos: ['ghcr.io/example-org/'] },
    }),
    // Parapet's library: details name the field, `spec.containers[<index>].livenessProbe`, and so does the message.
    'cluster/policies/containerlivenessprobe-template.yaml': library('containerlivenessprobe', 'template.yaml'),
    'cluster/policies/containerlivenessprobe-constraint.yaml': library('containerlivenessprobe', 'constraint.yaml'),
    'apps/web.yaml': manifest,
  });
}

const PROBE = `          livenessProbe:
            httpGet:
              path: /healthz
              port: 8080
`;

function deployment(options: { name?: string; containers?: string } = {}): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${options.name ?? 'web'}
  namespace: shop
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
${
  options.containers ??
  `        - name: web
          image: registry.example.com/shop/web:1.4.2
${PROBE}`
}`;
}

async function statuses(base: string, head: string): Promise<Array<{ policy: string; message: string; status: string | undefined }>> {
  const [baseReport, headReport] = [await check(repo(base)), await check(repo(head))];
  for (const report of [baseReport, headReport]) noErrors(report);
  return markStatus(headReport, baseReport).clusters[0]!.violations.map((v) => ({ policy: v.policy, message: v.message, status: v.status }));
}

function noErrors(report: Report): void {
  expect(report.errors).toEqual([]);
  expect(report.clusters[0]!.errors).toEqual([]);
}

describe('which findings of a pull request are new', () => {
  it('keeps a finding existing when the pull request only bumps the image tag its message names', async () => {
    const bumped = deployment().replace('web:1.4.2', 'web:1.4.3@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08');
    expect(await statuses(deployment(), bumped)).toEqual([
      {
        policy: 'k8sallowedrepos',
        message:
          '[Implied by expand-workloads] container <web> has an invalid image repo <registry.example.com/shop/web:1.4.3@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08>, allowed repos are ["ghcr.io/example-org/"]',
        status: 'existing',
      },
    ]);
  });

  it('calls the finding new when the container is renamed', async () => {
    const renamed = deployment().replace('- name: web', '- name: frontend');
    expect((await statuses(deployment(), renamed)).map((v) => v.status)).toEqual(['new']);
  });

  it('calls the finding new when the object is renamed', async () => {
    expect((await statuses(deployment(), deployment({ name: 'storefront' }))).map((v) => v.status)).toEqual(['new']);
  });

  it('keeps a finding existing when the containers are reordered, though its details and message name the other index', async () => {
    const sidecar = `        - name: proxy
          image: ghcr.io/example-org/proxy:2.0.0
${PROBE}`;
    const web = `        - name: web
          image: ghcr.io/example-org/web:1.4.2
`;
    const found = await statuses(deployment({ containers: `${web}${sidecar}` }), deployment({ containers: `${sidecar}${web}` }));
    expect(found).toEqual([
      {
        policy: 'containerlivenessprobe',
        message: expect.stringContaining('container <web> declares no liveness probe (spec.containers[1].livenessProbe is missing)'),
        status: 'existing',
      },
    ]);
  });

  it('pairs findings one to one: a second finding with the same identity is new, the one the base had stays existing', async () => {
    // One finding per missing annotation; the quoted names are values, so the two findings share an identity.
    const annotationsRepo = (annotations: string) =>
      new MemorySource({
        '.securitytower/cluster.yaml': clusterConfig(),
        'cluster/policies/requiredannotations-template.yaml': regoTemplate(
          'RequiredAnnotations',
          `package requiredannotations

violation contains {"msg": msg} if {
  some key in input.parameters.annotations
  not input.review.object.metadata.annotations[key]
  msg := sprintf("annotation %q is missing", [key])
}
`,
          { parameters: { annotations: { type: 'array', items: { type: 'string' } } } },
        ),
        'cluster/policies/required-annotations.yaml': constraintOf('RequiredAnnotations', 'required-annotations', {
          match: { kinds: [{ apiGroups: ['apps'], kinds: ['Deployment'] }] },
          parameters: { annotations: ['team', 'owner', 'runbook'] },
        }),
        'apps/web.yaml': deployment().replace('  namespace: shop\n', `  namespace: shop\n  annotations:\n${annotations}`),
      });
    const base = await check(annotationsRepo('    runbook: https://runbooks.example.com/web\n    owner: team-shop\n'));
    const head = await check(annotationsRepo('    runbook: https://runbooks.example.com/web\n'));
    for (const report of [base, head]) noErrors(report);
    expect(markStatus(head, base).clusters[0]!.violations.map((v) => [v.message, v.status])).toEqual([
      ['annotation "owner" is missing', 'new'],
      ['annotation "team" is missing', 'existing'],
    ]);
  });
});

describe('the message as identity leaves out what changes with the values', () => {
  it.each([
    ['container <web> uses image nginx:1.25.3', 'container <web> uses image <image>'],
    ['image ghcr.io/org/app@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 is not signed', 'image <image> is not signed'],
    ['memory limit 512Mi is above 256Mi', 'memory limit <n>Mi is above <n>Mi'],
    ['you must provide labels: {"cost-center", "owner"}', 'you must provide labels: {"…", "…"}'],
    ["annotation 'team' is missing", "annotation '…' is missing"],
    ['the probe waits 30s, more than 1m30s', 'the probe waits <duration>, more than <duration>'],
    ['container <web2> on apps/v1 Deployment', 'container <web2> on apps/v1 Deployment'],
  ])('%s', (message, normalised) => {
    expect(normaliseMessage(message)).toBe(normalised);
  });
});
