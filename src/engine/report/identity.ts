// What makes two findings of two revisions "the same finding": the cluster, the constraint, the object,
// and the part of the object the finding is about. Not the line, which moves when lines are added
// above it, and not the message as written: a message that names the image tag changes with every
// image bump, and a pull request that only bumps the tag must not turn every existing finding new.
import { isRecord, type Violation, type ViolationSubject } from '../model.js';
import { fieldPath, mentionedContainer, valueAt, type LineHint } from './line-mapping.js';

const CONTAINER_KEYS = ['container', 'containerName', 'container_name'];

/**
 * The part of the evaluated object a result is about: the subject its `details` name outright
 * (`subject`: a policy whose one result covers several fields, as a Pod Security Standards check
 * covers every offending container, names the check, so that fixing or adding one of them keeps
 * the finding), else a field path from its `details` (each list index written as the item's name
 * when the item has one, so reordering a list changes nothing), else the container its `details`
 * or its message names. Undefined when none says.
 */
export function violationSubject(hint: Pick<LineHint, 'value' | 'lines' | 'message' | 'details' | 'objectPath' | 'podSpecPaths'>): ViolationSubject | undefined {
  const details = isRecord(hint.details) ? hint.details : {};
  if (typeof details.subject === 'string' && details.subject !== '') return { name: details.subject };
  const object = valueAt(hint.value, hint.objectPath);
  for (const value of Object.values(details)) {
    const path = typeof value === 'string' ? fieldPath(value) : undefined;
    // Two segments at least, the first of them in the object: `spec.containers[0]`, not a lone word.
    if (!path || path.length < 2 || !isRecord(object) || !(String(path[0]) in object)) continue;
    return { field: namedPath(object, path) };
  }
  for (const key of CONTAINER_KEYS) {
    const name = details[key];
    if (typeof name === 'string' && name !== '') return { container: name };
  }
  const named = mentionedContainer(hint);
  return named ? { container: named.name } : undefined;
}

/** The container a subject is about: named by the result, or in the field path its details give. */
export function subjectContainer(subject: ViolationSubject | undefined): string | undefined {
  if (subject?.container !== undefined) return subject.container;
  return subject?.field?.match(/(?:^|\.)(?:containers|initContainers|ephemeralContainers)\[name=([^\]]+)\]/)?.[1];
}

/** `spec.containers[0].image` as `spec.containers[name=web].image` when the first container is `web`. */
function namedPath(object: unknown, path: Array<string | number>): string {
  let node: unknown = object;
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') {
      const item: unknown = Array.isArray(node) ? node[segment] : undefined;
      const name = isRecord(item) ? item.name : undefined;
      text += typeof name === 'string' && name !== '' ? `[name=${name}]` : `[${segment}]`;
      node = item;
    } else {
      text += text === '' ? segment : `.${segment}`;
      node = isRecord(node) ? node[segment] : undefined;
    }
  }
  return text;
}

// Volatile tokens: what changes when the manifest's values change while the problem stays the same.
const QUOTED = /"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|`[^`\n]*`/g;
// registry[:port]/repository:tag@digest, recognised by its tag or digest (a bare word stays).
const IMAGE = /(?<![\w./:@-])(?:[a-z0-9][a-z0-9._-]*(?::\d+)?\/)*[a-z0-9][a-z0-9._-]*(?::\w[\w.-]{0,127})?(?:@[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-f0-9]{32,})?(?![\w./@-])/gi;
const DURATION = /(?<![\w.-])(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d))+(?![\w.-])/g;
const NUMBER = /(?<![A-Za-z_-])\d+(?:\.\d+)*/g;

/** The message with image references, quoted values, durations and numbers replaced by placeholders. */
export function normaliseMessage(message: string): string {
  return message
    .replace(QUOTED, (quoted) => `${quoted[0]}…${quoted[0]}`)
    .replace(IMAGE, (reference) => (/[:@]/.test(reference) ? '<image>' : reference))
    .replace(DURATION, '<duration>')
    .replace(NUMBER, '<n>');
}

/**
 * A finding's identity: the cluster, the constraint (its template, kind lower-cased, and name), the
 * object (API group, kind, namespace, name) and the part of it: the subject its details name, else
 * the field they name, else
 * the container it is about with the message normalised (normaliseMessage), else the normalised
 * message. Renaming the object or the container changes it; a new image tag, a reordered list or
 * a value in the message does not.
 */
export function fingerprint(violation: Violation): string {
  const { subject } = violation;
  const part =
    subject?.name !== undefined ? ['subject', subject.name] : subject?.field !== undefined ? ['field', subject.field] : ['message', subject?.container ?? '', normaliseMessage(violation.message)];
  return JSON.stringify([...objectIdentity(violation), ...part]);
}

/**
 * The identity Parapet used before fingerprint(): the message as written. Still recognised in the
 * review comments already posted, and preferred when pairing findings of two revisions.
 */
export function messageFingerprint(violation: Violation): string {
  return JSON.stringify([...objectIdentity(violation), violation.message]);
}

function objectIdentity(violation: Violation): string[] {
  const { object } = violation;
  const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0]! : '';
  return [violation.cluster, violation.policy, violation.constraint, group, object.kind, object.namespace ?? '', object.name];
}
