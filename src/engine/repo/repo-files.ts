// Reads and parses each file of a tree once, in bulk; the parsing runs on the driver's threads.
import type { InputError } from '../model.js';
import type { PolicyDriver, RepoSource } from '../ports.js';
import { sizeLimitError, type YamlDocument, type YamlLimits } from './yaml-file.js';

export class RepoFiles {
  private listing: Promise<Map<string, number>> | undefined;
  private readonly parsed = new Map<string, { documents: YamlDocument[]; errors: InputError[] }>();

  constructor(
    private readonly source: RepoSource,
    private readonly limits: YamlLimits,
    private readonly parser: Pick<PolicyDriver, 'parseYamlFiles'>,
  ) {}

  async paths(): Promise<string[]> {
    return [...(await this.sizes()).keys()];
  }

  /** `signal` stops the parsing (the call rejects with its reason), as a check's time budget does. */
  async documents(paths: string[], signal?: AbortSignal): Promise<{ documents: YamlDocument[]; errors: InputError[] }> {
    const sizes = await this.sizes();
    const errors: InputError[] = [];
    const toRead: string[] = [];
    for (const path of paths) {
      if (this.parsed.has(path)) continue;
      const tooBig = sizeLimitError(path, sizes.get(path) ?? 0, this.limits);
      if (tooBig) this.parsed.set(path, { documents: [], errors: [tooBig] });
      else toRead.push(path);
    }
    if (toRead.length > 0) {
      const texts = await this.source.readFiles(toRead);
      const readable: Array<{ path: string; text: string }> = [];
      for (const path of toRead) {
        const text = texts.get(path);
        if (text === undefined) {
          this.parsed.set(path, { documents: [], errors: [{ location: { file: path, line: 1 }, code: 'read', message: 'the file could not be read' }] });
        } else {
          readable.push({ path, text });
        }
      }
      const parsed = await this.parser.parseYamlFiles(readable, this.limits, { signal });
      readable.forEach(({ path }, i) => this.parsed.set(path, parsed[i]!));
    }
    const documents: YamlDocument[] = [];
    for (const path of paths) {
      const parsed = this.parsed.get(path)!;
      documents.push(...parsed.documents);
      errors.push(...parsed.errors);
    }
    return { documents, errors };
  }

  /** Files as text (a Helm template is not YAML until rendered); files over the size limit are left out. */
  async texts(paths: string[]): Promise<Map<string, string>> {
    const sizes = await this.sizes();
    return this.source.readFiles(paths.filter((path) => (sizes.get(path) ?? Infinity) <= this.limits.maxFileBytes));
  }

  private sizes(): Promise<Map<string, number>> {
    this.listing ??= this.source.listFiles().then((list) => new Map(list.map((f) => [f.path, f.size])));
    return this.listing;
  }
}
