import { describe, expect, it } from 'vitest';
import { violationLine } from '../../src/engine/report/line-mapping.js';
import { parseYamlFile } from '../../src/engine/repo/yaml-file.js';

// A Rego result is a message and free-form details; the report still needs a line. The engine reads the
// result as a person would: a field path in the details, else the container the message names and the
// deepest field of it the message mentions, else the shallowest field of the evaluated object the
// message mentions, else the `kind:` line.

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  labels:
    app: checkout
spec:
  selector:
    matchLabels:
      app: checkout
  template:
    metadata:
      labels:
        app: checkout
    spec:
      initContainers:
        - name: migrate
          image: registry.example.com/migrate:2.0.0
      containers:
        - name: web
          image: nginx:1.25.3
          resources:
            limits:
              memory: 256Mi
        - name: web-proxy
          image: envoyproxy/envoy:v1.30.1
          securityContext:
            privileged: true
        - name: db
          image: postgres:16
`;

/** As for an implied Pod of the Deployment: the evaluated object is the pod template. */
const IMPLIED_POD = { objectPath: ['spec', 'template'], podSpecPaths: [['spec', 'template', 'spec']] };

interface Options {
  details?: unknown;
  objectPath?: string[];
  podSpecPaths?: string[][];
}

function lineFor(text: string, message: string, options: Options = {}): number {
  const { documents, errors } = parseYamlFile('manifest.yaml', text);
  expect(errors).toEqual([]);
  const doc = documents[0]!;
  return violationLine({
    value: doc.value,
    lines: doc.lines,
    kindLine: doc.kindLine,
    message,
    details: options.details ?? {},
    objectPath: options.objectPath ?? [],
    podSpecPaths: options.podSpecPaths ?? [],
  });
}

/** The 1-based line of the `occurrence`-th line of `text` containing `needle`. */
function lineOf(text: string, needle: string, occurrence = 1): number {
  let seen = 0;
  const index = text.split('\n').findIndex((line) => line.includes(needle) && ++seen === occurrence);
  if (index < 0) throw new Error(`${needle} is not in the text`);
  return index + 1;
}

describe('the line a violation is reported on', () => {
  describe('a container named in the message', () => {
    it('is reported on the deepest field of that container the message mentions', () => {
      expect(lineFor(DEPLOYMENT, 'Privileged container is not allowed: web-proxy, securityContext: {"privileged": true}', IMPLIED_POD)).toBe(
        lineOf(DEPLOYMENT, 'privileged: true'),
      );
    });

    it('looks only inside the named container: another container\'s field of that name does not count', () => {
      // web has `resources:`; db, the one named, has none, so the finding is on db itself.
      expect(lineFor(DEPLOYMENT, 'container <db> has no resource limits', IMPLIED_POD)).toBe(lineOf(DEPLOYMENT, '- name: db'));
    });

    it('prefers the longest container name the message mentions as a whole word', () => {
      // "web" is not mentioned by "web-proxy": names are whole tokens, dashes included.
      expect(lineFor(DEPLOYMENT, 'container <web-proxy> uses image envoyproxy/envoy:v1.30.1', IMPLIED_POD)).toBe(lineOf(DEPLOYMENT, 'image: envoyproxy'));
      expect(lineFor(DEPLOYMENT, 'container <web> has no readiness probe', IMPLIED_POD)).toBe(lineOf(DEPLOYMENT, '- name: web'));
    });

    it('finds init containers too', () => {
      expect(lineFor(DEPLOYMENT, 'initContainer migrate uses image registry.example.com/migrate:2.0.0 from an untrusted registry', IMPLIED_POD)).toBe(
        lineOf(DEPLOYMENT, 'image: registry.example.com/migrate'),
      );
    });

    it('finds the containers of a Pod manifest under its own spec', () => {
      const pod = `apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
    - name: shell
      image: busybox:latest
`;
      expect(lineFor(pod, 'container <shell> uses image busybox:latest without an explicit version', { podSpecPaths: [['spec']] })).toBe(lineOf(pod, 'image: busybox'));
    });
  });

  describe('a field path in the details', () => {
    it('is reported on the field it names, before any container the message names', () => {
      // The path is the evaluated object's: for an implied Pod, under the workload's pod template.
      const details = { path: 'spec.containers[1].image' };
      expect(lineFor(DEPLOYMENT, 'container <db> uses a disallowed image', { ...IMPLIED_POD, details })).toBe(lineOf(DEPLOYMENT, 'image: envoyproxy'));
    });

    it('reads annotation keys with dots written in brackets', () => {
      const pod = `apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations:
    container.apparmor.security.beta.kubernetes.io/web: unconfined
spec:
  containers:
    - name: web
      image: nginx:1.25.3
`;
      const details = { field: 'metadata.annotations["container.apparmor.security.beta.kubernetes.io/web"]' };
      expect(lineFor(pod, 'container <web> runs with AppArmor unconfined', { details })).toBe(lineOf(pod, 'container.apparmor'));
    });

    it('accepts a leading dot, as in a JSONPath', () => {
      expect(lineFor(DEPLOYMENT, 'too many replicas', { details: { field: '.spec.template.spec.containers[0].resources.limits.memory' } })).toBe(
        lineOf(DEPLOYMENT, 'memory: 256Mi'),
      );
    });

    it('is reported on the deepest part of the path that exists', () => {
      expect(lineFor(DEPLOYMENT, 'a seccomp profile is required', { details: { path: 'spec.template.spec.securityContext.seccompProfile' } })).toBe(
        lineOf(DEPLOYMENT, 'spec:', 2),
      );
    });

    it('ignores details that are not paths, or name only a top-level field', () => {
      const details = { missing_labels: ['owner'], reason: 'labels are required', path: 'spec.nothing' };
      // Falls through to the message: "labels" is mentioned, at the Deployment's own metadata first.
      expect(lineFor(DEPLOYMENT, 'you must provide labels: {"owner"}', { details })).toBe(lineOf(DEPLOYMENT, 'labels:'));
    });
  });

  describe('a message about no container', () => {
    it('is reported on the shallowest field the message mentions: the Deployment\'s own labels before its pod template\'s', () => {
      expect(lineFor(DEPLOYMENT, 'you must provide labels: {"owner"}')).toBe(lineOf(DEPLOYMENT, 'labels:', 1));
    });

    it('is reported within the evaluated object for an implied Pod: its pod template\'s labels', () => {
      expect(lineFor(DEPLOYMENT, '[Implied by expand-workloads] you must provide labels: {"owner"}', IMPLIED_POD)).toBe(lineOf(DEPLOYMENT, 'labels:', 2));
    });

    it('falls back to the kind line when the message mentions no field, or only fields every manifest has', () => {
      expect(lineFor(DEPLOYMENT, 'Deployments are not allowed in this cluster')).toBe(lineOf(DEPLOYMENT, 'kind: Deployment'));
      expect(lineFor(DEPLOYMENT, 'the spec of a Deployment needs a name in its metadata')).toBe(lineOf(DEPLOYMENT, 'kind: Deployment'));
    });

    it('uses the kind line of its own document in a file of several', () => {
      const text = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: agent
---
apiVersion: v1
kind: Service
metadata:
  name: agent
spec:
  type: LoadBalancer
  sessionAffinity: ClientIP
`;
      const { documents } = parseYamlFile('agent.yaml', text);
      const service = documents[1]!;
      const line = (message: string) =>
        violationLine({ value: service.value, lines: service.lines, kindLine: service.kindLine, message, details: {}, objectPath: [], podSpecPaths: [] });
      expect(line('Services are not allowed')).toBe(lineOf(text, 'kind: Service', 2));
      expect(line('sessionAffinity ClientIP is not allowed')).toBe(lineOf(text, 'sessionAffinity: ClientIP'));
      // `type` is among the keys too common to say where a problem is.
      expect(line('LoadBalancer is not an allowed type')).toBe(lineOf(text, 'kind: Service', 2));
    });
  });

  describe('keys named like prototype properties', () => {
    const CONFIG_MAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: tricky
data:
  constructor: "1"
  __proto__: "2"
  hasOwnProperty: "3"
`;

    it('finds a key called constructor or __proto__ mentioned in the message', () => {
      expect(lineFor(CONFIG_MAP, 'key constructor is reserved')).toBe(lineOf(CONFIG_MAP, 'constructor:'));
      expect(lineFor(CONFIG_MAP, 'key __proto__ is reserved')).toBe(lineOf(CONFIG_MAP, '__proto__:'));
    });

    it('follows detail paths through such keys, and does not invent ones that are not there', () => {
      expect(lineFor(CONFIG_MAP, 'reserved key', { details: { path: 'data.hasOwnProperty' } })).toBe(lineOf(CONFIG_MAP, 'hasOwnProperty:'));
      expect(lineFor(CONFIG_MAP, 'reserved key', { details: { path: 'data.__proto__' } })).toBe(lineOf(CONFIG_MAP, '__proto__:'));
      // `toString` is on every JavaScript object but not in this document: the path stops at the top-level
      // `data`, which says nothing, so the finding stays on the kind line.
      expect(lineFor(CONFIG_MAP, 'reserved key', { details: { path: 'data.toString.length' } })).toBe(lineOf(CONFIG_MAP, 'kind: ConfigMap'));
      expect(lineFor(CONFIG_MAP, 'toString valueOf isPrototypeOf')).toBe(lineOf(CONFIG_MAP, 'kind: ConfigMap'));
    });

    it('finds containers in a pod spec whose names are prototype properties', () => {
      const pod = `apiVersion: v1
kind: Pod
metadata:
  name: odd
spec:
  containers:
    - name: constructor
      image: busybox:1.36
      securityContext:
        privileged: true
`;
      expect(lineFor(pod, 'container <constructor> is privileged', { podSpecPaths: [['spec']] })).toBe(lineOf(pod, 'privileged: true'));
    });
  });
});
