import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { ProbotOctokit } from 'probot';
import { describe, expect, it } from 'vitest';
import { LimitError } from '../../src/errors.js';
import { readTarball } from '../../src/github/read-tarball.js';
import { TarballSource } from '../../src/github/tarball-source.js';
import type { GitHubClient } from '../../src/github/github-client.js';
import { FakeGitHub } from '../helpers/fake-github.js';
import { buildTarball } from '../helpers/fake-github-tarball.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('readTarball', () => {
  it("reads GitHub's archive: files under the top folder, the folder stripped, directories and the global header skipped", () => {
    const files = readTarball(buildTarball('acme', 'gitops', SHA, { '.securitytower/cluster.yaml': 'kind: Cluster\n', 'a/b/c.yaml': 'x: 1\n' }), 1 << 20);
    expect([...files.keys()]).toEqual(['.securitytower/cluster.yaml', 'a/b/c.yaml']);
    expect(files.get('a/b/c.yaml')?.toString()).toBe('x: 1\n');
  });

  it('reads paths longer than the ustar header holds, from their PAX record', () => {
    const long = `${'deep/'.repeat(30)}manifest.yaml`;
    const files = readTarball(buildTarball('acme', 'gitops', SHA, { [long]: 'kind: Pod\n' }), 1 << 20);
    expect([...files.keys()]).toEqual([long]);
  });

  it('refuses an archive over the size limit with an error that names the setting', () => {
    const archive = buildTarball('acme', 'gitops', SHA, { 'big.yaml': 'a'.repeat(200_000) });
    expect(() => readTarball(archive, 100_000)).toThrow(LimitError);
    expect(() => readTarball(archive, 100_000)).toThrow(/PARAPET_MAX_REPO_BYTES \(100000 bytes/);
  });

  it('refuses what is not gzip, and a corrupt header', () => {
    expect(() => readTarball(Buffer.from('not gzip'), 1000)).toThrow(/not valid gzip/);
    expect(() => readTarball(gzipSync(Buffer.alloc(512, 1)), 10_000)).toThrow(/corrupt/);
  });
});

describe('TarballSource', () => {
  it('lists files with their sizes, sorted, and reads them as text', async () => {
    const source = new TarballSource(readTarball(buildTarball('acme', 'gitops', SHA, { 'b.yaml': 'b: 2\n', 'a.yaml': 'a: 1\n' }), 1 << 20));
    expect(await source.listFiles()).toEqual([
      { path: 'a.yaml', size: 5 },
      { path: 'b.yaml', size: 5 },
    ]);
    expect(await source.readFiles(['a.yaml', 'missing.yaml'])).toEqual(new Map([['a.yaml', 'a: 1\n']]));
  });
});

describe('TarballSource.fetch', () => {
  it('reads the whole archive when the garbage collector runs between the response and the reading of its body', async () => {
    // undici cancels the body of a Response it collects while nobody reads it yet, and Octokit
    // hands on the body stream without its Response: a collection in between (frequent when
    // several jobs run) made the archive arrive empty ("not valid gzip: unexpected end of file").
    setFlagsFromString('--expose-gc');
    const collectGarbage = runInNewContext('gc') as () => void;
    const fake = await FakeGitHub.start();
    try {
      fake.addCommit('acme/gitops', SHA, { 'a.yaml': 'a: 1\n', 'b/c.yaml': 'c: 3\n' });
      const octokit = new ProbotOctokit({ auth: { token: 'ghs_fake_1' }, baseUrl: fake.url, throttle: { enabled: false }, retry: { enabled: false } }) as unknown as GitHubClient;
      octokit.hook.after('request', async () => {
        // Once the body has arrived (undici holds its Response until then), a collection; its
        // finalizers run in a task of their own after it.
        await new Promise((resolve) => setTimeout(resolve, 50));
        collectGarbage();
        await new Promise((resolve) => setTimeout(resolve, 50));
      });
      const source = await TarballSource.fetch(octokit, { owner: 'acme', repo: 'gitops' }, SHA, 1 << 20);
      expect(await source.readFiles(['a.yaml', 'b/c.yaml'])).toEqual(new Map([['a.yaml', 'a: 1\n'], ['b/c.yaml', 'c: 3\n']]));
    } finally {
      await fake.close();
    }
  });
});
