import { describe, expect, it } from 'vitest';
import {
  compileLabelSelector,
  labelsOf,
  matchesLabelSelector,
  validateLabelSelector,
} from '../../../src/engine/go/label-selector.js';

// The labels of a typical Deployment in a GitOps repository.
const webLabels = {
  'app.kubernetes.io/name': 'web',
  'app.kubernetes.io/part-of': 'shop',
  tier: 'frontend',
  environment: 'production',
};

describe('label selector matching (metav1.LabelSelectorAsSelector)', () => {
  it.each<{ name: string; selector: unknown; labels: Record<string, string>; expected: boolean }>([
    { name: 'an empty selector selects everything', selector: {}, labels: {}, expected: true },
    { name: 'matchLabels selects an object carrying the pair', selector: { matchLabels: { tier: 'frontend' } }, labels: webLabels, expected: true },
    {
      name: 'every matchLabels pair must hold',
      selector: { matchLabels: { tier: 'frontend', environment: 'staging' } },
      labels: webLabels,
      expected: false,
    },
    { name: 'matchLabels needs the key present', selector: { matchLabels: { team: 'checkout' } }, labels: webLabels, expected: false },
    { name: 'an empty matchLabels value matches only an empty label', selector: { matchLabels: { canary: '' } }, labels: { canary: '' }, expected: true },
    {
      name: 'In holds when the value is listed',
      selector: { matchExpressions: [{ key: 'environment', operator: 'In', values: ['staging', 'production'] }] },
      labels: webLabels,
      expected: true,
    },
    {
      name: 'In fails when the key is absent',
      selector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['checkout'] }] },
      labels: webLabels,
      expected: false,
    },
    {
      name: 'NotIn fails when the value is listed',
      selector: { matchExpressions: [{ key: 'environment', operator: 'NotIn', values: ['production'] }] },
      labels: webLabels,
      expected: false,
    },
    {
      name: 'NotIn holds when the key is absent',
      selector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['checkout'] }] },
      labels: webLabels,
      expected: true,
    },
    {
      name: 'Exists holds when the key is present, whatever its value',
      selector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
      labels: webLabels,
      expected: true,
    },
    {
      name: 'DoesNotExist fails when the key is present',
      selector: { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] },
      labels: webLabels,
      expected: false,
    },
    {
      name: 'DoesNotExist holds when the key is absent',
      selector: { matchExpressions: [{ key: 'gatekeeper.sh/exempt', operator: 'DoesNotExist' }] },
      labels: webLabels,
      expected: true,
    },
    {
      name: 'matchLabels and matchExpressions are ANDed',
      selector: {
        matchLabels: { tier: 'frontend' },
        matchExpressions: [{ key: 'environment', operator: 'In', values: ['staging'] }],
      },
      labels: webLabels,
      expected: false,
    },
    {
      name: 'keys are case-sensitive',
      selector: { matchLabels: { Tier: 'frontend' } },
      labels: webLabels,
      expected: false,
    },
  ])('$name', ({ selector, labels, expected }) => {
    expect(matchesLabelSelector(selector, labels)).toBe(expected);
  });

  it.each([
    {
      name: 'an unknown operator',
      selector: { matchExpressions: [{ key: 'tier', operator: 'in', values: ['frontend'] }] },
      error: '"in" is not a valid label selector operator',
    },
    {
      name: 'In without values',
      selector: { matchExpressions: [{ key: 'tier', operator: 'In' }] },
      error: "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty",
    },
    {
      name: 'Exists with values',
      selector: { matchExpressions: [{ key: 'tier', operator: 'Exists', values: ['frontend'] }] },
      error: 'values: Invalid value: []string{"frontend"}: values set must be empty for exists and does not exist',
    },
  ])('refuses to compile a selector with $name, with apimachinery’s error', ({ selector, error }) => {
    expect(compileLabelSelector(selector)).toEqual({ ok: false, error });
  });
});

describe('validateLabelSelector (apimachinery ValidateLabelSelector, as Gatekeeper calls it)', () => {
  const qualifiedNameRule =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
    "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  const labelValueRule =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
    "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

  it.each([
    { name: 'a valid selector', selector: { matchLabels: { tier: 'frontend' }, matchExpressions: [{ key: 'team', operator: 'Exists' }] }, errors: [] },
    {
      name: 'an operator in the wrong case',
      selector: { matchExpressions: [{ key: 'environment', operator: 'in', values: ['production'] }] },
      errors: ['spec.labelSelector.matchExpressions[0].operator: Invalid value: "in": not a valid selector operator'],
    },
    {
      name: 'In without values',
      selector: { matchExpressions: [{ key: 'environment', operator: 'In' }] },
      errors: ["spec.labelSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"],
    },
    {
      name: 'NotIn with an empty list',
      selector: { matchExpressions: [{ key: 'environment', operator: 'NotIn', values: [] }] },
      errors: ["spec.labelSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"],
    },
    {
      name: 'DoesNotExist with values',
      selector: { matchExpressions: [{ key: 'gatekeeper.sh/exempt', operator: 'DoesNotExist', values: ['true'] }] },
      errors: ["spec.labelSelector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"],
    },
    {
      name: 'a key with a space',
      selector: { matchExpressions: [{ key: 'app name', operator: 'Exists' }] },
      errors: [`spec.labelSelector.matchExpressions[0].key: Invalid value: "app name": ${qualifiedNameRule}`],
    },
    {
      name: 'a key with an upper-case prefix',
      selector: { matchLabels: { 'Example.com/team': 'checkout' } },
      errors: [
        'spec.labelSelector.matchLabels: Invalid value: "Example.com/team": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, ' +
          "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is " +
          "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ],
    },
    {
      name: 'a matchLabels value that is not a label value',
      selector: { matchLabels: { owner: 'team@example.com' } },
      errors: [`spec.labelSelector.matchLabels: Invalid value: "team@example.com": ${labelValueRule}`],
    },
    {
      name: 'an expression value that is not a label value',
      selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend', '-edge'] }] },
      errors: [`spec.labelSelector.matchExpressions[0].values[1]: Invalid value: "-edge": ${labelValueRule}`],
    },
    {
      name: 'a bad operator and a bad key in one expression (both reported, operator first)',
      selector: { matchExpressions: [{ key: '-tier', operator: 'Equals', values: ['a'] }] },
      errors: [
        'spec.labelSelector.matchExpressions[0].operator: Invalid value: "Equals": not a valid selector operator',
        `spec.labelSelector.matchExpressions[0].key: Invalid value: "-tier": ${qualifiedNameRule}`,
      ],
    },
  ])('$name', ({ selector, errors }) => {
    expect(validateLabelSelector(selector)).toEqual(errors);
  });

  it('uses the field path it is given', () => {
    expect(validateLabelSelector({ matchExpressions: [{ key: 'tier', operator: 'Has' }] }, ['spec', 'match', 'namespaceSelector'])).toEqual([
      'spec.match.namespaceSelector.matchExpressions[0].operator: Invalid value: "Has": not a valid selector operator',
    ]);
  });
});

describe('labelsOf (unstructured GetLabels)', () => {
  it('reads metadata.labels', () => {
    expect(labelsOf({ metadata: { name: 'web', labels: { tier: 'frontend' } } })).toEqual({ tier: 'frontend' });
  });

  it('reads no labels from an object without metadata', () => {
    expect(labelsOf({ apiVersion: 'v1', kind: 'ConfigMap' })).toEqual({});
  });

  it('voids every label when one value is not a string, as Go does', () => {
    // YAML `version: 2` is a number: the API server would refuse it, Gatekeeper sees no labels at all.
    expect(labelsOf({ metadata: { labels: { tier: 'frontend', version: 2 } } })).toEqual({});
  });
});
