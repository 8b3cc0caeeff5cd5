import { describe, expect, it } from 'vitest';
import { isMutableReference, parseImageReference, type ParsedImageReference } from '../../../src/engine/inventory/image-reference.js';

const D = `sha256:${'0123456789abcdef'.repeat(4)}`;

describe('parseImageReference', () => {
  it.each([
    ['nginx', 'docker.io', 'library/nginx', null, null],
    ['nginx:1.18-alpine', 'docker.io', 'library/nginx', '1.18-alpine', null],
    ['bitnami/redis:7.2', 'docker.io', 'bitnami/redis', '7.2', null],
    ['docker.io/nginx:latest', 'docker.io', 'library/nginx', 'latest', null],
    ['index.docker.io/library/nginx', 'docker.io', 'library/nginx', null, null],
    ['ghcr.io/acme/team/web:v2.0.1', 'ghcr.io', 'acme/team/web', 'v2.0.1', null],
    ['localhost:5000/app', 'localhost:5000', 'app', null, null],
    ['localhost/app:1', 'localhost', 'app', '1', null],
    ['registry.example.com:8443/a/b:c', 'registry.example.com:8443', 'a/b', 'c', null],
    [`quay.io/x/y@${D}`, 'quay.io', 'x/y', null, D],
    [`quay.io/x/y:1.0@${D}`, 'quay.io', 'x/y', '1.0', D],
    ['my-registry:5000/some_repo/with__under-scores:tag_1', 'my-registry:5000', 'some_repo/with__under-scores', 'tag_1', null],
    ['[::1]:5000/app:1', '[::1]:5000', 'app', '1', null],
  ])('%s', (reference, registry, repository, tag, digest) => {
    expect(parseImageReference(reference)).toEqual({ ok: true, reference, registry, repository, tag, digest });
  });

  it.each([
    ['', /empty/],
    [' nginx', /whitespace/],
    ['Nginx:1', /invalid repository name component "Nginx"/],
    ['nginx:', /invalid tag ""/],
    ['nginx:-bad', /invalid tag/],
    ['nginx:1.0:2', /invalid repository name component "nginx:1.0"|invalid/],
    ['nginx@sha256:abc', /invalid digest/],
    [`nginx@sha256:${'A'.repeat(64)}`, /64 lower-case hexadecimal/],
    ['acme//web', /empty path component/],
    ['${IMAGE}:${TAG}', /invalid/],
    ['{{ .Values.image }}', /whitespace|invalid/],
    ['-bad/x', /invalid/],
    [`a/${'b'.repeat(260)}`, /longer than 255/],
  ])('malformed: %j', (reference, reason) => {
    const parsed = parseImageReference(reference);
    expect(parsed.ok).toBe(false);
    expect(parsed).toMatchObject({ reference });
    if (!parsed.ok) expect(parsed.error).toMatch(reason);
  });

  it('tells mutable references apart', () => {
    const mutable = (r: string) => isMutableReference(parseImageReference(r) as ParsedImageReference);
    expect(mutable('nginx')).toBe(true);
    expect(mutable('nginx:latest')).toBe(true);
    expect(mutable('nginx:1.19')).toBe(false);
    expect(mutable(`nginx:latest@${D}`)).toBe(false);
  });
});
