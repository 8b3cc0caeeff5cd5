// Which images each workload of a cluster runs, as written in the repository: the image inventory the
// overview shows (security-tower.md §5). Every container list counts, CronJobs' too.
import { podTemplatePath } from '../accept/risk-acceptance.js';
import { type ImageUse, isRecord } from '../model.js';
import type { SourceObject } from '../repo/cluster-objects.js';
import { objectRef } from '../repo/kubernetes.js';
import { fieldLocation } from '../render/origin-lines.js';

const CONTAINER_FIELDS = ['containers', 'initContainers', 'ephemeralContainers'] as const;

export function imageUses(objects: SourceObject[]): ImageUse[] {
  const uses: ImageUse[] = [];
  for (const source of objects) {
    const template = podTemplatePath(source.object);
    const specPath = source.gvk.group === '' && source.gvk.kind === 'Pod' ? ['spec'] : template ? [...template, 'spec'] : undefined;
    if (!specPath) continue;
    let spec: unknown = source.object;
    for (const segment of specPath) spec = isRecord(spec) ? spec[segment] : undefined;
    if (!isRecord(spec)) continue;
    const workload = objectRef(source.object);
    for (const field of CONTAINER_FIELDS) {
      const containers = spec[field];
      if (!Array.isArray(containers)) continue;
      containers.forEach((container, i) => {
        if (!isRecord(container) || typeof container.image !== 'string') return;
        uses.push({
          ...(workload.namespace ? { namespace: workload.namespace } : {}),
          workload,
          container: typeof container.name === 'string' ? container.name : '',
          containerType: field,
          image: container.image,
          location: fieldLocation(source.doc, [...specPath, field, i, 'image']),
        });
      });
    }
  }
  return uses;
}
