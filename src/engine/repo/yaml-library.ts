// The `yaml` library, loaded on first use. Most files never need it (yaml-plain.ts reads them), and
// loading it is a noticeable part of the start-up of every thread that parses: the main thread's,
// and each evaluation worker's before it can parse the first file.
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

let library: typeof Yaml | undefined;

export function yamlLibrary(): typeof Yaml {
  library ??= createRequire(import.meta.url)('yaml') as typeof Yaml;
  return library;
}
