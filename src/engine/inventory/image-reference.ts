// Container image references (`registry/repository:tag@digest`), parsed the way Docker's
// distribution/reference grammar reads them and normalised for grouping: Docker Hub's implicit
// registry and `library/` namespace are made explicit. A reference that does not parse is
// reported as malformed with the reason, never dropped: the inventory records it as written.

export const DOCKER_HUB = 'docker.io';

export interface ParsedImageReference {
  ok: true;
  /** As written. */
  reference: string;
  /** The registry host (with port), `docker.io` when none is written. */
  registry: string;
  /** The repository path in the registry, `library/nginx` for `nginx`. */
  repository: string;
  /** null when none is written (Kubernetes then pulls `latest`). */
  tag: string | null;
  /** `algorithm:hex`, or null. */
  digest: string | null;
}

export interface MalformedImageReference {
  ok: false;
  reference: string;
  error: string;
}

export type ImageReference = ParsedImageReference | MalformedImageReference;

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const HOST_LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const REGISTRY = new RegExp(`^(?:${HOST_LABEL}(?:\\.${HOST_LABEL})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?$`);
const MAX_NAME = 255;

function malformed(reference: string, error: string): MalformedImageReference {
  return { ok: false, reference, error };
}

export function parseImageReference(reference: string): ImageReference {
  if (reference.length === 0) return malformed(reference, 'empty image reference');
  if (reference !== reference.trim()) return malformed(reference, 'image reference has surrounding whitespace');

  let rest = reference;
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return malformed(reference, `invalid digest "${digest}"`);
    if (digest.startsWith('sha256:') && !/^sha256:[a-f0-9]{64}$/.test(digest)) {
      return malformed(reference, 'a sha256 digest has 64 lower-case hexadecimal digits');
    }
  }

  let tag: string | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return malformed(reference, `invalid tag "${tag}"`);
  }

  if (rest.length === 0) return malformed(reference, 'image reference has no repository name');
  if (rest.length > MAX_NAME) return malformed(reference, `repository name longer than ${MAX_NAME} characters`);

  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    if (!REGISTRY.test(first)) return malformed(reference, `invalid registry "${first}"`);
    registry = first;
    parts.shift();
  }
  for (const part of parts) {
    if (!COMPONENT.test(part)) {
      return malformed(
        reference,
        part === '' ? 'empty path component in repository name' : `invalid repository name component "${part}" (lower case letters, digits and separators only)`,
      );
    }
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');

  return { ok: true, reference, registry, repository: parts.join('/'), tag, digest };
}

/** A reference whose content can change under the same name: tag `latest`, or neither tag nor digest. */
export function isMutableReference(ref: ParsedImageReference): boolean {
  return ref.digest === null && (ref.tag === null || ref.tag === 'latest');
}
