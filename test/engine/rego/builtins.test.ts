import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostBuiltins } from '../../../src/engine/rego/builtins.js';
import { RegoResult, formatRegoValue, jsonToRegoValue, parseRegoValue } from '../../../src/engine/rego/rego-value.js';
import { WasmPolicy } from '../../../src/engine/rego/wasm-policy.js';

const OPA = fileURLToPath(new URL('../../../tools/bin/opa', import.meta.url));

function requireOpa(): string {
  if (!existsSync(OPA)) {
    throw new Error(`the pinned OPA CLI is missing at ${OPA}; run \`npm install\` (scripts/build-go-tool.mjs opa builds it from tools/go.mod)`);
  }
  return OPA;
}

/** Calls a host builtin with arguments written as Rego values; shows the result as Go OPA prints it. */
function call(name: string, ...args: string[]): string {
  const impl = hostBuiltins[name];
  if (!impl) throw new Error(`no host builtin ${name}`);
  const result = impl(args.map(parseRegoValue));
  if (result === undefined) return 'undefined';
  return formatRegoValue(result instanceof RegoResult ? result.value : jsonToRegoValue(result));
}

describe('host builtins, specified by example', () => {
  it('strings.any_prefix_match is true when any string starts with any prefix (general/allowedrepos)', () => {
    expect(call('strings.any_prefix_match', '"registry.corp/app:1"', '{"docker.io/", "registry.corp/"}')).toBe('true');
    expect(call('strings.any_prefix_match', '["a/x", "b/y"]', '["c/", "b/"]')).toBe('true');
    expect(call('strings.any_prefix_match', '"evil.io/app"', '["registry.corp/"]')).toBe('false');
    expect(call('strings.any_prefix_match', '"anything"', '[]')).toBe('false');
  });

  it('net.lookup_ip_addr is an evaluation error: the answer is the cluster DNS’s, which Parapet cannot know', () => {
    expect(() => call('net.lookup_ip_addr', '"api.shop.example"')).toThrow("Parapet does not resolve host names: the answer is the cluster's DNS's");
  });

  it('strings.any_suffix_match is true when any string ends with any suffix (general/disallowedtags)', () => {
    expect(call('strings.any_suffix_match', '"nginx:latest"', '[":latest", ":dev"]')).toBe('true');
    expect(call('strings.any_suffix_match', '{"nginx:1.25"}', '":latest"')).toBe('false');
  });

  it('a builtin that Go OPA fails is undefined, as under Gatekeeper non-strict evaluation', () => {
    expect(call('strings.any_prefix_match', '["a", 1]', '"a"')).toBe('undefined');
    expect(call('units.parse', '"12 parsecs"')).toBe('undefined');
    expect(call('semver.compare', '"1.0"', '"1.0.0"')).toBe('undefined');
    expect(call('sprintf', '"%v"', '{"not": "an array"}')).toBe('undefined');
  });

  it('sprintf formats like Go OPA', () => {
    expect(call('sprintf', '"you must provide labels: %v"', '[{"owner", "app"}]')).toBe('"you must provide labels: {\\"app\\", \\"owner\\"}"');
  });

  it('units.parse keeps Go OPA number text, including its float64 milli', () => {
    expect(call('units.parse', '"500m"')).toBe('0.5000000000');
    expect(call('units.parse', '"1000m"')).toBe('1.0000000000');
    expect(call('units.parse', '"2"')).toBe('2');
    expect(call('units.parse', '"1.5Ki"')).toBe('1536');
    expect(call('units.parse', '"1M"')).toBe('1000000');
    expect(call('units.parse', '"1Mi"')).toBe('1048576');
  });

  it('units.parse_bytes reads Kubernetes memory quantities as whole bytes', () => {
    expect(call('units.parse_bytes', '"512Mi"')).toBe('536870912');
    expect(call('units.parse_bytes', '"1.5GB"')).toBe('1500000000');
    expect(call('units.parse_bytes', '"0.1"')).toBe('0');
  });

  it('semver.compare orders by SemVer 2.0.0 precedence', () => {
    expect(call('semver.compare', '"1.0.0-alpha"', '"1.0.0"')).toBe('-1');
    expect(call('semver.compare', '"1.0.0-beta.11"', '"1.0.0-beta.2"')).toBe('1');
    expect(call('semver.compare', '"v1.2.3+build"', '"1.2.3"')).toBe('0');
    expect(call('semver.is_valid', '"01.2.3"')).toBe('false');
    expect(call('semver.is_valid', '7')).toBe('false');
  });

  it('semver.compare answers 0 where Go OPA never returns (huge numeric pre-release ids that saturate)', () => {
    expect(call('semver.compare', '"1.0.0-99999999999999999999"', '"1.0.0-99999999999999999998"')).toBe('0');
  });

  it('object.subset recurses into objects, sets and arrays', () => {
    expect(call('object.subset', '{"a": {"b": [1, 2, 3], "c": {1, 2}}}', '{"a": {"b": [2, 3], "c": {2}}}')).toBe('true');
    expect(call('object.subset', '{"a": [1, 2, 3]}', '{"a": [1, 3]}')).toBe('false');
    expect(call('object.subset', '[1, 2]', '{2}')).toBe('true');
    expect(call('object.subset', '[]', 'set()')).toBe('false');
    expect(call('object.subset', '{"a": 1}', '[1]')).toBe('undefined');
  });

  it('strings.count and indexof_n count runes, not bytes', () => {
    expect(call('strings.count', '"héllo"', '""')).toBe('6');
    expect(call('indexof_n', '"😀a😀a"', '"a"')).toBe('[1, 3]');
  });

  it('hashes and encodings work on the UTF-8 bytes', () => {
    expect(call('crypto.sha256', '"abc"')).toBe('"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"');
    expect(call('hex.encode', '"é"')).toBe('"c3a9"');
    expect(call('hex.decode', '"c3a9"')).toBe('"é"');
    expect(call('base64url.encode_no_pad', '"é?"')).toBe('"w6k_"');
    expect(call('glob.quote_meta', '"*.example.com"')).toBe('"\\\\*.example.com"');
  });

  it('time.now_ns is the current time in nanoseconds; opa.runtime is {} as under Gatekeeper, whose driver sets no runtime', () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const now = BigInt(call('time.now_ns'));
    expect(now >= before && now <= before + 5_000_000_000n).toBe(true);
    expect(call('opa.runtime')).toBe('{}');
  });

  it('hex.decode refuses bytes that are not UTF-8 instead of changing them', () => {
    expect(() => call('hex.decode', '"ff"')).toThrow(/not UTF-8/);
  });
});

// ---------------------------------------------------------------------------------------------
// Differential test against the pinned Go OPA.

interface Case {
  name: string;
  /** Each argument as Rego source; `untyped(...)` hides the type from the compile-time checker. */
  args: string[];
}

const untyped = (json: string) => `json.unmarshal(${JSON.stringify(json)})`;

/** The value a Rego argument stands for, as the Wasm would hand it to the host. */
function argValue(source: string): string {
  const m = /^json\.unmarshal\((.*)\)$/s.exec(source);
  return m ? (JSON.parse(m[1]!) as string) : source;
}

function differentialCases(): Case[] {
  const cases: Case[] = [];
  const add = (name: string, ...args: string[]) => cases.push({ name, args });
  const q = (s: string) => JSON.stringify(s);

  for (const s of [
    '1m', '1000m', '1000000000000m', '1.5Ki', '5.', '.5', '+1e3', '-1m', '-0.00000000001', '1e-12', '1', '0', '1k', '1K', '1M', '1Mi',
    '1mi', '1MI', '1mI', '1G', '1g', '1gi', '1T', '1P', '1E', '1e', '1Ei', '1EI', '2.5Gi', '0.1', '1.5m', '3e2m', '100m', '250m',
    '12345678901234567890123', '1e1000000', '1e1000', '1 m', '"1m"', 'm', '', '1x', '1KB', '1.2.3', '1e+', '1e+3k', '1-2', '--1', '.',
    '0.333333333333333333333m', '7e-7', '-5', '9.9999999999999999999', '1e5e5',
  ]) {
    add('units.parse', q(s));
  }
  for (const s of [
    '1', '1kb', '1KB', '1k', '1kib', '1KiB', '1ki', '1mb', '1m', '1mib', '1gb', '1gib', '1tb', '1tib', '1pb', '1pib', '1eb', '1eib',
    '1.5gib', '0.1', '-1.9k', '1e3', '1e-3kb', '12345678901234567890123', '18446744073709551617', '36893488147419103233', '0.1eib',
    '3.3333333333333333333333mib', '99999999999999999999.5', '1e1000', '1 kb', '"1kb"', '', 'kb', '1zb', '1.5.5', '-0', '1e-1000',
  ]) {
    add('units.parse_bytes', q(s));
  }
  const versions = [
    '1.0.0', 'v1.0.0', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1',
    '1.0.0+build', '1.0.0-rc.1+build.5', '01.0.0', '1.0', '1.0.0.0', '1.0.0-', '1.0.0+', '1.0.0-01', '1.0.0-0a', '1.0.0-a-b',
    '9223372036854775808.0.0', '2.0.0', '1.10.0', '1.9.0', 'V1.0.0', ' 1.0.0', '1.0.0-é', '1.2.3-x.y', '1.2.3-x', '1.2.3-x.1.y',
  ];
  versions.forEach((v, i) => {
    add('semver.is_valid', q(v));
    for (const j of [i, i + 1, i + 5, i + 11]) add('semver.compare', q(v), q(versions[j % versions.length]!));
  });
  add('semver.is_valid', untyped('1'));
  add('semver.compare', untyped('1'), '"1.0.0"');

  const affixes = ['"registry.io/app:1"', '["a", "b"]', '{"x", "y"}', '""', '[]', 'set()', '["ab", "cd", "é"]', '"é"'];
  for (const a of affixes) {
    for (const b of affixes) {
      add('strings.any_prefix_match', a, b);
      add('strings.any_suffix_match', a, b);
    }
  }
  add('strings.any_prefix_match', untyped('["a", 1]'), '"a"');
  add('strings.any_prefix_match', '"a"', untyped('["a", 1]'));
  add('strings.any_suffix_match', '{"a"}', untyped('[1]'));
  add('strings.any_prefix_match', untyped('1'), '"a"');

  for (const [s, sub] of [['aaaa', 'aa'], ['abc', ''], ['héllo', ''], ['', ''], ['ababab', 'aba'], ['😀😀', '😀'], ['héllo wörld lo', 'lo']]) {
    add('strings.count', q(s!), q(sub!));
    add('indexof_n', q(s!), q(sub!));
  }

  const objects = ['{"a": 1, "b": {"c": [1, 2, 3], "d": {1, 2}}}', '{"a": 1}', '{"b": {"c": [2, 3]}}', '{"b": {"c": [1, 3]}}', '{"b": {"d": {2}}}', '{"b": {"d": [2]}}', '{"a": 1.0}', '{}', '{1: "x", [1]: 2}', '{1.0: "x"}'];
  for (const a of objects) for (const b of objects) add('object.subset', a, b);
  const arrays = ['[1, 2, 3, 2]', '[2, 3]', '[3, 2]', '[]', '[1, 1]', '[1, [2]]', '[[2]]'];
  const sets = ['{1, 2, 3}', '{2}', 'set()', '{4}', '{1.0}'];
  for (const a of arrays) for (const b of [...arrays, ...sets]) add('object.subset', a, b);
  for (const a of sets) for (const b of sets) add('object.subset', a, b);
  add('object.subset', untyped('1'), untyped('1'));
  add('object.subset', '{"a": 1}', untyped('[1]'));

  for (const s of ['', 'abc', 'héllo 😀', '\u0000\n']) {
    for (const name of ['crypto.md5', 'crypto.sha1', 'crypto.sha256', 'hex.encode', 'base64url.encode_no_pad', 'glob.quote_meta', 'trace']) add(name, q(s));
    for (const name of ['crypto.hmac.md5', 'crypto.hmac.sha1', 'crypto.hmac.sha256', 'crypto.hmac.sha512', 'crypto.hmac.equal']) add(name, q(s), '"key"');
  }
  add('crypto.hmac.equal', '"abc"', '"abc"');
  add('glob.quote_meta', q('*.{a,b}[0-9]?\\x!'));
  for (const h of ['68656c6c6f', '6A6b', 'abc', 'zz', '', 'c3a9', 'f09f9880']) add('hex.decode', q(h));
  add('trace', untyped('1'));


  // regex.* as Go's regexp (RE2).
  for (const [pattern, s] of [
    [',', 'a,b,c'], [',', ''], ['', 'abc'], ['x*', 'axbxxc'], ['\\s+', ' a  b '], ['(?i)B', 'aBcbd'], ['[:/]', 'registry.io:5000/app'], ['a|', 'banana'], ['é', 'héllo'],
    ['^', 'abc'], ['$', 'abc'], ['(\\d+)', 'a1b22c333'], ['\\-', 'a-b'], ['(', 'x'],
  ]) {
    add('regex.split', q(pattern!), q(s!));
    add('regex.find_n', q(pattern!), q(s!), '-1');
    add('regex.find_n', q(pattern!), q(s!), '2');
    for (const value of ['-', '[$1]', '${1}x', '$1x', '$$', '$', '$0']) add('regex.replace', q(s!), q(pattern!), q(value));
  }
  add('regex.replace', q('nginx:1.25'), q('(?P<name>[^:]+):(?P<tag>.*)'), q('${tag}@$name'));
  add('regex.find_n', '"a"', '"aaa"', untyped('1.5'));

  for (const v of ['[1, 2]', '{2, 1}', '"s"', 'true', 'null', '{"a": 1}', '1']) {
    for (const name of ['cast_array', 'cast_set', 'cast_string', 'cast_boolean', 'cast_null', 'cast_object']) add(name, untyped(v.startsWith('{2') ? '[2, 1]' : v));
  }
  add('cast_array', '{2, 1}');

  for (const [a, b, step] of [['1', '10', '3'], ['10', '1', '3'], ['1', '1', '1'], ['1', '5', '0'], ['1', '5', '-1'], ['1.5', '5', '1'], ['-3', '3', '2']]) {
    add('numbers.range_step', a!, b!, step!);
  }

  for (const s of ['a b&c=d/é', '', '~-_.', '%', 'a+b', '%zz', '%41%42', '100%']) {
    add('urlquery.encode', q(s));
    add('urlquery.decode', q(s));
    add('urlquery.decode_object', q(s));
  }
  for (const s of ['a=1&b=2&a=3', 'x', 'a=1;b=2', '=v', 'k=%E2%82%AC']) add('urlquery.decode_object', q(s));
  for (const o of ['{"b": "2", "a": ["1", "x y"]}', '{"s": {"z", "y"}}', '{}']) add('urlquery.encode_object', o);
  add('urlquery.encode_object', untyped('{"a": 1}'));

  for (const c of ['10.0.0.0/8', '10.0.0.0/33', '10.0.0.0', '::1/128', '2001:db8::/32', '2001:db8::/129', '1.2.3.4/08', '256.0.0.0/8', 'fe80::1%eth0/64', '::ffff:1.2.3.4/96', 'x/8', '01.2.3.4/8']) {
    add('net.cidr_is_valid', q(c));
  }
  add('net.cidr_is_valid', untyped('1'));

  for (const d of ['1h', '1.5h', '-2m30s', '1d', '1.5d', '1w2d3h', '-1y', '1dd', '1d1', '300ms', '1us', '1µs', '0', '', '1', '1d', '.5s', '1.s', '+3ns', '9223372036854775807ns', '9223372036854775808ns', '2h45m0.5s', '0.3333333333s']) {
    add('time.parse_duration_ns', q(d));
  }
  for (const t of ['2024-01-02T03:04:05Z', '2024-01-02T03:04:05.123456789+02:00', '2024-02-30T00:00:00Z', '1970-01-01T00:00:00Z', '0050-06-01T00:00:00Z', '2024-01-02 03:04:05Z', '2024-01-02T03:04:05', '1969-12-31T23:59:59.5-00:30']) {
    add('time.parse_rfc3339_ns', q(t));
  }
  add('sprintf', '"%v and %d"', '[{"b", "a"}, 3]');
  add('sprintf', '"%v"', untyped('{"a": 1}'));
  add('sprintf', untyped('1'), '[]');
  return cases;
}

describe('host builtins against Go OPA (differential)', () => {
  const cases = differentialCases();
  let expected: string[];

  beforeAll(() => {
    // Each call is wrapped so that an undefined result shows as [] and numbers keep their text.
    const exprs = cases.map((c) => `sprintf("%v", [[r | r := ${c.name}(${c.args.join(', ')})]])`);
    const out = execFileSync(requireOpa(), ['eval', '--format', 'raw', `[\n${exprs.join(',\n')}\n]`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expected = JSON.parse(out) as string[];
  });

  it(`covers ${cases.length} calls of ${new Set(cases.map((c) => c.name)).size} builtins`, () => {
    // time.now_ns differs between any two calls and opa.runtime between opa eval and Gatekeeper; the
    // pinned opa's yaml.* (go-yaml v3) differs from Gatekeeper's (go-yaml v2), so test/gator/builtins.test.ts
    // compares those with gator.
    // net.lookup_ip_addr is the cluster's DNS's answer, which Parapet does not guess.
    const elsewhere = new Set(['time.now_ns', 'opa.runtime', 'yaml.marshal', 'yaml.unmarshal', 'yaml.is_valid', 'net.lookup_ip_addr']);
    expect(new Set(cases.map((c) => c.name))).toEqual(new Set(Object.keys(hostBuiltins).filter((name) => !elsewhere.has(name))));
  });

  it('returns what Go OPA returns for every call, and is undefined where Go OPA fails', () => {
    const mismatches: string[] = [];
    cases.forEach((c, i) => {
      let actual: string;
      try {
        const shown = call(c.name, ...c.args.map(argValue));
        actual = shown === 'undefined' ? '[]' : `[${shown}]`;
      } catch (error) {
        actual = `<threw ${String(error)}>`;
      }
      if (actual !== expected[i]) mismatches.push(`${c.name}(${c.args.join(', ')})\n  go: ${expected[i]}\n  ts: ${actual}`);
    });
    expect(mismatches.join('\n')).toBe('');
  });
});

// ---------------------------------------------------------------------------------------------
// End to end: a Gatekeeper-style policy compiled to Wasm, run by our host.

const POLICY = `package e2e

allowed := {r | some r in input.parameters.repos}

violations contains msg if {
	some c in input.review.object.spec.containers
	not strings.any_prefix_match(c.image, allowed)
	msg := sprintf("container <%v> has an invalid image repo <%v>, allowed repos are %v", [c.name, c.image, allowed])
}

violations contains msg if {
	some c in input.review.object.spec.containers
	strings.any_suffix_match(c.image, input.parameters.tags)
	msg := sprintf("container <%v> uses a disallowed tag <%v>; disallowed tags are %v", [c.name, c.image, input.parameters.tags])
}

violations contains msg if {
	some c in input.review.object.spec.containers
	memory := units.parse_bytes(c.resources.limits.memory)
	memory > 1073741824
	msg := sprintf("container <%v> memory limit %v is %d bytes, more than 1Gi", [c.name, c.resources.limits.memory, memory])
}

violations contains msg if {
	some c in input.review.object.spec.containers
	cpu := units.parse(c.resources.limits.cpu)
	cpu > 2
	msg := sprintf("container <%v> cpu limit %v (%v cores) is more than 2", [c.name, c.resources.limits.cpu, [cpu]])
}

violations contains msg if {
	not object.subset(input.review.object.metadata.labels, input.parameters.labels)
	msg := sprintf("labels %v must include %v", [input.review.object.metadata.labels, input.parameters.labels])
}

violations contains msg if {
	some v in input.parameters.versions
	semver.compare(v, "1.2.0") < 0
	msg := sprintf("version %q is older than 1.2.0 (%.2f%%)", [v, 99.5])
}

result := {
	"violations": sort([m | some m in violations]),
	"quantities": [sprintf("%v", [[q | q := units.parse(c.resources.limits.cpu)]]) | some c in input.review.object.spec.containers],
}
`;

const INPUT = {
  parameters: {
    repos: ['registry.corp/', 'docker.io/library/'],
    tags: [':latest', ':dev'],
    labels: { team: 'payments' },
    versions: ['1.1.9', '1.2.0', 'not-a-version', '1.2.0-rc.1'],
  },
  review: {
    object: {
      metadata: { labels: { app: 'web', team: 'checkout' } },
      spec: {
        containers: [
          { name: 'web', image: 'registry.corp/web:1.4', resources: { limits: { memory: '512Mi', cpu: '500m' } } },
          { name: 'sidecar', image: 'evil.io/proxy:latest', resources: { limits: { memory: '2Gi', cpu: '2500m' } } },
          { name: 'odd', image: 'docker.io/library/busybox:dev', resources: { limits: { memory: 'lots', cpu: '3' } } },
        ],
      },
    },
  },
};

describe('a Gatekeeper-style policy compiled to Wasm', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'parapet-builtins-'));
    writeFileSync(join(dir, 'policy.rego'), POLICY);
    writeFileSync(join(dir, 'input.json'), JSON.stringify(INPUT));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('gives the same result with our host builtins as opa eval does', async () => {
    const opa = requireOpa();
    const goOut = JSON.parse(
      execFileSync(opa, ['eval', '--format', 'json', '--data', join(dir, 'policy.rego'), '--input', join(dir, 'input.json'), 'data.e2e.result'], { encoding: 'utf8' }),
    ) as { result: Array<{ expressions: Array<{ value: unknown }> }> };
    const expected = goOut.result[0]!.expressions[0]!.value;

    execFileSync(opa, ['build', '-t', 'wasm', '-e', 'e2e/result', '-o', join(dir, 'bundle.tar.gz'), join(dir, 'policy.rego')], { cwd: dir });
    execFileSync('tar', ['-xzf', join(dir, 'bundle.tar.gz'), '-C', dir, '/policy.wasm']);
    const policy = await WasmPolicy.load(await WasmPolicy.compile(readFileSync(join(dir, 'policy.wasm'))), hostBuiltins);
    const [actual] = policy.evaluate(JSON.stringify(INPUT));

    expect(actual).toEqual(expected);
    // The messages that matter, spelled out.
    expect((actual as { violations: string[] }).violations).toEqual([
      'container <odd> uses a disallowed tag <docker.io/library/busybox:dev>; disallowed tags are [":latest", ":dev"]',
      'container <odd> cpu limit 3 ([3] cores) is more than 2',
      'container <sidecar> cpu limit 2500m ([2.5000000000] cores) is more than 2',
      'container <sidecar> has an invalid image repo <evil.io/proxy:latest>, allowed repos are {"docker.io/library/", "registry.corp/"}',
      'container <sidecar> memory limit 2Gi is 2147483648 bytes, more than 1Gi',
      'container <sidecar> uses a disallowed tag <evil.io/proxy:latest>; disallowed tags are [":latest", ":dev"]',
      'labels {"app": "web", "team": "checkout"} must include {"team": "payments"}',
      'version "1.1.9" is older than 1.2.0 (99.50%)',
      'version "1.2.0-rc.1" is older than 1.2.0 (99.50%)',
    ].sort());
    expect((actual as { quantities: string[] }).quantities).toEqual(['[0.5000000000]', '[2.5000000000]', '[3]']);
  });
});
