import { describe, expect, it } from 'vitest';
import {
  compileWildcardList,
  matchesGenerateName,
  matchesWildcard,
  WILDCARD_PATTERN,
} from '../../../src/engine/policy/wildcard.js';

describe('matchesWildcard (GK pkg/wildcard Wildcard.Matches)', () => {
  it.each([
    { name: 'an exact namespace matches itself', pattern: 'payments', candidate: 'payments', expected: true },
    { name: 'an exact pattern is not a prefix', pattern: 'kube', candidate: 'kube-system', expected: false },
    { name: 'prefix* matches names starting with the prefix', pattern: 'kube-*', candidate: 'kube-public', expected: true },
    { name: 'prefix* matches the bare prefix too', pattern: 'kube-*', candidate: 'kube-', expected: true },
    { name: 'prefix* does not match elsewhere in the name', pattern: 'kube-*', candidate: 'my-kube-system', expected: false },
    { name: '*suffix matches names ending with the suffix', pattern: '*-system', candidate: 'gatekeeper-system', expected: true },
    { name: '*suffix does not match a prefix', pattern: '*-system', candidate: 'system-upgrade', expected: false },
    { name: '*infix* matches a substring anywhere', pattern: '*pay*', candidate: 'team-payments-prod', expected: true },
    { name: '*infix* matches the infix alone', pattern: '*pay*', candidate: 'pay', expected: true },
    { name: '*infix* needs the substring', pattern: '*pay*', candidate: 'billing', expected: false },
    { name: 'a lone * matches everything', pattern: '*', candidate: 'anything', expected: true },
    { name: 'a lone * matches the empty namespace of cluster-scoped objects', pattern: '*', candidate: '', expected: true },
    { name: '** is a substring test for the empty string', pattern: '**', candidate: 'default', expected: true },
    { name: 'a * in the middle is a literal character', pattern: 'team*prod', candidate: 'team-a-prod', expected: false },
    { name: 'a * in the middle matches itself literally', pattern: 'team*prod', candidate: 'team*prod', expected: true },
    { name: 'matching is case-sensitive', pattern: 'Payments', candidate: 'payments', expected: false },
    { name: 'the empty pattern matches only the empty string', pattern: '', candidate: 'default', expected: false },
  ])('$name', ({ pattern, candidate, expected }) => {
    expect(matchesWildcard(pattern, candidate)).toBe(expected);
  });
});

describe('matchesGenerateName (GK Wildcard.MatchesGenerateName)', () => {
  it.each([
    { name: 'prefix* matches a generateName that starts with it', pattern: 'web-*', generateName: 'web-7d4b9c-', expected: true },
    { name: '*infix* matches a generateName containing it', pattern: '*7d4b*', generateName: 'web-7d4b9c-', expected: true },
    { name: 'an exact pattern never matches a generateName', pattern: 'web-', generateName: 'web-', expected: false },
    { name: '*suffix never matches a generateName (the real suffix is not known yet)', pattern: '*-', generateName: 'web-', expected: false },
    { name: 'prefix* does not match an unrelated generateName', pattern: 'api-*', generateName: 'web-', expected: false },
  ])('$name', ({ pattern, generateName, expected }) => {
    expect(matchesGenerateName(pattern, generateName)).toBe(expected);
  });
});

describe('compileWildcardList', () => {
  it('matches when any exact name or glob matches', () => {
    const excluded = compileWildcardList(['kube-system', 'gatekeeper-*', '*-monitoring']);
    expect(excluded('kube-system')).toBe(true);
    expect(excluded('gatekeeper-system')).toBe(true);
    expect(excluded('cluster-monitoring')).toBe(true);
    expect(excluded('payments')).toBe(false);
  });

  it('matches nothing when the list is empty', () => {
    expect(compileWildcardList([])('default')).toBe(false);
  });
});

describe('WILDCARD_PATTERN (the CRD pattern ^\\*?[-:a-z0-9]*\\*?$)', () => {
  it.each(['payments', 'kube-*', '*-system', '*pay*', '*', 'system:serviceaccounts', ''])('accepts %j', (value) => {
    expect(WILDCARD_PATTERN.test(value)).toBe(true);
  });

  it.each(['Kube-system', 'team_a', 'team*prod', 'kube-system/', 'a.b'])('rejects %j', (value) => {
    expect(WILDCARD_PATTERN.test(value)).toBe(false);
  });
});
