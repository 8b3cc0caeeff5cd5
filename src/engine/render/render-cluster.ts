// What a cluster applies, rendered as its GitOps engine renders it. Entry points, in order: the
// folders of the Cluster file's spec.manifests; else the Flux Kustomizations that sync the
// cluster's folder (`clusters/<name>`, as `flux bootstrap` lays it out); else the repository's
// kustomize roots and plain manifests. Every Flux Kustomization among the applied objects whose
// source is this repository is followed, as the cluster's kustomize-controller would. Files that
// nothing applies are left out and listed.
import { type ApplicationConfig, type ClusterConfig, type InputError, isRecord } from '../model.js';
import type { FetchFailureReason, RemoteChart, RenderedObject, RenderSession } from '../ports.js';
import { gvkOf, ScopeTable, type KubernetesObject } from '../repo/kubernetes.js';
import type { RepoFiles } from '../repo/repo-files.js';
import { isUnder, normalizeRepoPath } from '../repo/security-tower.js';
import { documentAs as asRead, type LineNode, type YamlDocument } from '../repo/yaml-file.js';
import { argoGlob, argoKustomizeEdits, argoKustomizeSpec, argoRoots, argoSources, isArgoApplication, normalizeRepoURL } from './argo.js';
import { fluxReleaseName, join, renderChart, type ChartRequest, type TracedValues } from './helm.js';
import { dirOf, isKustomizationFile, isRemote, KUSTOMIZATION_NAMES, kustomizationReferences, resolveInRepo } from './kustomization-refs.js';
import { fieldLocation, inlineDocuments, type Layer } from './origin-lines.js';
import { renderedLines, type TransformSource } from './transforms.js';

export interface ClusterRender {
  /** The objects the cluster applies, each with the lines that set its fields. */
  documents: YamlDocument[];
  errors: InputError[];
  /** What Parapet could not render (a chart from a Helm repository): said, never a silent pass. */
  notices: InputError[];
  /** Repository files this cluster's entry points apply (manifests, kustomizations, patches...). */
  applied: Set<string>;
  /** The applied lines whose YAML the appliers read differently (yaml-file.ts). */
  warnings: InputError[];
}

export interface RenderInput {
  cluster: ClusterConfig;
  clusters: ClusterConfig[];
  applications: ApplicationConfig[];
  files: RepoFiles;
  /** Opened on first use: a repository without kustomizations or Flux needs no renderer. */
  session: () => Promise<RenderSession>;
}

const MANIFEST = /\.ya?ml$/;

export async function renderCluster(input: RenderInput): Promise<ClusterRender> {
  return new ClusterRenderer(input).run();
}

interface FluxObject {
  object: Record<string, unknown>;
  /** Where it is written (a rendered document: its lines lead to the files that set each field). */
  doc: YamlDocument;
  /** The Flux Kustomizations whose builds applied it, outermost first, each with its path. */
  chain?: Array<{ key: string; path: string }>;
  /** Where its kustomization fields are written: `spec` for Flux, an Argo source's `kustomize`. */
  fields?: Array<string | number>;
}

class ClusterRenderer {
  private readonly documents: YamlDocument[] = [];
  private readonly errors: InputError[] = [];
  private readonly notices: InputError[] = [];
  private readonly applied = new Set<string>();
  private readonly warnings = new Map<string, InputError>();
  private existing = new Set<string>();
  private folders = new Set<string>();
  private readonly followed = new Set<string>();
  /** Rendered objects by file and content, to apply each once. */
  private readonly renderedObjects = new Set<string>();
  private queue: FluxObject[] = [];
  private helmQueue: FluxObject[] = [];
  private argoQueue: FluxObject[] = [];
  private argoRepos = new Set<string>();
  private readonly renderedCharts = new Set<string>();
  private waiting: Array<{ ks: FluxObject; missing: Array<{ at: Array<string | number>; message: string }> }> = [];
  private selfSources = new Set<string>();

  constructor(private readonly input: RenderInput) {}

  async run(): Promise<ClusterRender> {
    const { cluster, clusters, applications, files } = this.input;
    const all = await files.paths();
    this.existing = new Set(all);
    for (const path of all) for (let dir = dirOf(path); ; dir = dirOf(dir)) {
      this.folders.add(dir);
      if (dir === '') break;
    }
    const policyFolders = clusters.map((c) => c.policiesPath).filter((p) => p !== '');
    const candidates = all.filter((p) => MANIFEST.test(p) && !isKustomizationFile(p) && !hidden(p) && !policyFolders.some((f) => isUnder(p, f)));
    const candidateDocs = (await files.documents(candidates)).documents;
    const fluxObjects = candidateDocs.filter((doc) => isFluxKustomization(doc.value));

    const claimed = (c: ClusterConfig) => [...(c.manifestPaths ?? []), ...c.namespacePaths, ...stagePaths(applications, c)];
    const roots = cluster.manifestPaths ? [] : fluxRoots(cluster, clusters.length, fluxObjects);
    this.selfSources = selfSources(fluxObjects, roots);
    for (const doc of roots) this.queue.push({ object: doc.value as Record<string, unknown>, doc });
    await this.followFlux();

    // Argo CD Applications, after Flux. The repository's own repoURL is that of the Applications no
    // other Application reaches (the ones applied by hand) whose path is a folder of it.
    const apps = candidateDocs.filter((doc) => isArgoApplication(doc.value));
    const sourcePaths = (docs: YamlDocument[]) => docs.flatMap((doc) => argoSources(doc.value as Record<string, unknown>).flatMap(({ source }) => (typeof source.path === 'string' ? [resolveInRepo('', source.path)] : [])));
    const reached = (paths: Array<string | undefined>) => (doc: YamlDocument) => paths.some((p) => p !== undefined && isUnder(doc.file, p));
    for (const doc of argoRoots(cluster.name, 1, apps, reached(sourcePaths(apps)))) {
      for (const { source } of argoSources(doc.value as Record<string, unknown>)) {
        const path = typeof source.path === 'string' ? resolveInRepo('', source.path) : undefined;
        if (typeof source.repoURL === 'string' && path !== undefined && this.folders.has(path) && source.chart === undefined) this.argoRepos.add(normalizeRepoURL(source.repoURL));
      }
    }
    const ownPaths = sourcePaths(apps.filter((doc) => argoSources(doc.value as Record<string, unknown>).some(({ source }) => this.isOwnSource(source))));
    const appRoots = cluster.manifestPaths || roots.length > 0 ? [] : argoRoots(cluster.name, clusters.length, apps, reached(ownPaths));
    for (const doc of appRoots) this.argoQueue.push({ object: doc.value as Record<string, unknown>, doc });
    await this.followArgo();

    let scope: (path: string) => boolean;
    if (cluster.manifestPaths) {
      const own = claimed(cluster);
      scope = (p) => own.some((folder) => isUnder(p, folder));
    } else if (roots.length > 0 || appRoots.length > 0) {
      // Security Tower's namespace folders: its namespace-level risk acceptances need the Namespaces.
      scope = (p) => cluster.namespacePaths.some((folder) => isUnder(p, folder));
    } else {
      const own = claimed(cluster);
      const others = clusters.filter((c) => c !== cluster).flatMap(claimed).filter((path) => !own.some((o) => isUnder(o, path) || isUnder(path, o)));
      scope = (p) => !others.some((folder) => isUnder(p, folder));
    }
    const charts = all.filter((f) => /(^|\/)Chart\.ya?ml$/.test(f)).map(dirOf);
    const inScope = (p: string) => scope(p) && !hidden(p) && !policyFolders.some((f) => isUnder(p, f)) && !charts.some((dir) => isUnder(p, dir));
    await this.renderFolders(all.filter(inScope));
    // Flux's own Kustomizations reach the cluster through kustomize-controller, which reads with kyaml.
    for (const root of roots) if (!this.applied.has(root.file)) this.addPlain(asRead(root, 'kyaml'));
    for (const root of appRoots) if (!this.applied.has(root.file)) this.addPlain(root);
    await this.followHelm();
    // Chart folders no release names. Those the Cluster file's spec.manifests lists are rendered as
    // `helm template <folder>`; elsewhere a chart is often a published artifact whose values only a
    // release gives, so it is not guessed at, but said.
    if (roots.length === 0 && appRoots.length === 0) {
      const topCharts = charts.filter((dir) => scope(dir) && !hidden(dir) && !policyFolders.some((f) => isUnder(dir, f)) && !charts.some((other) => other !== dir && isUnder(dir, other)));
      for (const chart of topCharts) {
        if (this.renderedCharts.has(chart)) continue;
        if (cluster.manifestPaths) {
          await this.renderChartFolder(chart);
          continue;
        }
        this.notices.push({
          location: { file: join(chart, 'Chart.yaml'), line: 1 },
          code: 'render',
          message: `the Helm chart ${chart} was not rendered: no HelmRelease or Argo CD Application of this cluster names it (list its folder in the Cluster file's spec.manifests to judge it with its own values)`,
        });
      }
      await this.followHelm();
    }
    this.dependencyCycles();
    return { documents: this.documents, errors: this.errors, notices: this.notices, applied: this.applied, warnings: [...this.warnings.values()] };
  }

  /** Plain manifests first (their Flux Kustomizations), then kustomize roots, then the rest. */
  private async renderFolders(paths: string[]): Promise<void> {
    const kustomizations = paths.filter(isKustomizationFile);
    const plain = paths.filter((p) => MANIFEST.test(p) && !isKustomizationFile(p) && !/(^|\/)values[^/]*\.ya?ml$/.test(p) && !this.ownedBy(p, kustomizations));
    // kubectl apply -f reads JSON manifests too. A folder the Cluster file lists is applied whole;
    // elsewhere only JSON that is a Kubernetes object is a manifest (not package.json, tsconfig.json...).
    const json = paths.filter((p) => p.endsWith('.json') && !this.ownedBy(p, kustomizations) && !this.applied.has(p));
    for (const path of json) {
      const docs = (await this.input.files.documents([path])).documents;
      const objects = docs.length > 0 && docs.every((doc) => isRecord(doc.value) && typeof doc.value.apiVersion === 'string' && typeof doc.value.kind === 'string');
      if (this.input.cluster.manifestPaths || objects) plain.push(path);
    }
    const manifests = await this.input.files.documents(plain.filter((p) => !this.applied.has(p)));
    for (const doc of manifests.documents) if (isFluxKustomization(doc.value)) this.queue.push({ object: doc.value as Record<string, unknown>, doc });
    await this.followFlux();

    const referenced = new Set<string>();
    for (const file of kustomizations) {
      for (const ref of await this.references(file)) {
        const target = ref.path && this.kustomizationIn(ref.path);
        if (target) referenced.add(target);
      }
    }
    for (const file of kustomizations) {
      if (referenced.has(file) || this.applied.has(file)) continue;
      await this.kustomizeBuild(file);
    }
    await this.followFlux();

    for (const path of plain) {
      if (this.applied.has(path)) continue;
      // Applied even when it does not parse: its errors are the cluster's.
      this.applied.add(path);
      const parsed = await this.input.files.documents([path]);
      this.errors.push(...parsed.errors);
      for (const doc of parsed.documents) this.addPlain(doc);
    }
    await this.followFlux();
  }

  /** A document the cluster's applier reads itself: kubectl or Argo CD (sigs.k8s.io/yaml), unless given otherwise. */
  private addPlain(doc: YamlDocument): void {
    this.warn(doc);
    this.applied.add(doc.file);
    this.documents.push(doc);
    if (isFluxKustomization(doc.value)) this.queue.push({ object: doc.value as Record<string, unknown>, doc });
    if (isHelmRelease(doc.value)) this.helmQueue.push({ object: doc.value, doc });
    if (isArgoApplication(doc.value)) this.argoQueue.push({ object: doc.value, doc });
  }

  /**
   * HelmReleases render after everything else the cluster applies, so their valuesFrom ConfigMaps
   * and Secrets are known; what their charts render is followed in turn.
   */
  private async followHelm(): Promise<void> {
    while (this.helmQueue.length > 0 || this.argoQueue.length > 0) {
      while (this.helmQueue.length > 0) await this.helmRelease(this.helmQueue.shift()!);
      await this.followFlux();
      await this.followArgo();
    }
  }

  /** Applications, and the Applications they render (app-of-apps), each followed once. */
  private async followArgo(): Promise<void> {
    while (this.argoQueue.length > 0) await this.argoApplication(this.argoQueue.shift()!);
  }

  private isOwnSource(source: Record<string, unknown>): boolean {
    return typeof source.repoURL === 'string' && this.argoRepos.has(normalizeRepoURL(source.repoURL)) && source.chart === undefined;
  }

  private async argoApplication(app: FluxObject): Promise<void> {
    const metadata = isRecord(app.object.metadata) ? app.object.metadata : {};
    const name = typeof metadata.name === 'string' ? metadata.name : '';
    const key = `Application ${typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : 'argocd'}/${name}`;
    if (this.followed.has(key)) return;
    this.followed.add(key);
    const spec = isRecord(app.object.spec) ? app.object.spec : {};
    const destination = isRecord(spec.destination) ? spec.destination : {};
    const namespace = typeof destination.namespace === 'string' && destination.namespace !== '' ? destination.namespace : undefined;
    const error = (at: Array<string | number>, message: string) => this.errors.push({ location: fieldLocation(app.doc, at), code: 'render', message: `${key}: ${message}` });
    for (const { source, at } of argoSources(app.object)) {
      if (!this.isOwnSource(source) && typeof source.chart === 'string' && typeof source.repoURL === 'string') {
        const before = this.documents.length;
        await this.argoHelm(app, name, source, at, '', namespace ?? 'default', error, argoRemoteChart(source.repoURL, source.chart, source.targetRevision));
        if (namespace) this.inNamespace(before, namespace);
        continue;
      }
      if (!this.isOwnSource(source)) {
        const what = typeof source.chart === 'string' ? `chart ${source.chart}${typeof source.targetRevision === 'string' ? `@${source.targetRevision}` : ''} from ${String(source.repoURL)}` : `${String(source.repoURL)}${typeof source.path === 'string' ? ` path ${source.path}` : ''}`;
        const why = typeof source.chart === 'string' ? 'charts from a Helm or OCI repository are not fetched' : 'it is another repository';
        this.notices.push({ location: fieldLocation(app.doc, [...at, 'repoURL']), code: 'render', message: `${key}: ${what} was not rendered: ${why}; Parapet renders what this repository holds` });
        continue;
      }
      // A source without a path (a `ref:` source of values files) renders nothing itself.
      if (typeof source.path !== 'string') continue;
      const path = resolveInRepo('', source.path);
      if (path === undefined) {
        error([...at, 'path'], `spec.source.path ${source.path} is outside the repository`);
        continue;
      }
      // Argo CD's own words for a missing folder.
      if (!this.folders.has(path)) {
        error([...at, 'path'], `app path does not exist: ${source.path}`);
        continue;
      }
      const before = this.documents.length;
      if (isRecord(source.helm) || this.existing.has(join(path, 'Chart.yaml'))) await this.argoHelm(app, name, source, at, path, namespace ?? 'default', error);
      else if (isRecord(source.kustomize) || this.kustomizationIn(path)) await this.argoKustomize(app, source, at, path, error);
      else await this.argoDirectory(source, path);
      if (namespace) this.inNamespace(before, namespace);
    }
  }

  private async argoHelm(
    app: FluxObject,
    name: string,
    source: Record<string, unknown>,
    at: Array<string | number>,
    path: string,
    namespace: string,
    error: (at: Array<string | number>, message: string) => void,
    remote?: { chart: RemoteChart; label: string },
  ): Promise<void> {
    const helm = isRecord(source.helm) ? source.helm : {};
    const values: TracedValues[] = [];
    const valueFiles = Array.isArray(helm.valueFiles) ? helm.valueFiles : [];
    const notice = (message: string) => this.notices.push({ location: fieldLocation(app.doc, [...at, 'chart']), code: 'render', message: `${argoKey(app.object)}: ${message}` });
    // A fetched chart's value files are files of its archive; a `$ref/` one is another source's.
    const elsewhere = remote ? valueFiles.find((written) => typeof written === 'string' && written.startsWith('$')) : undefined;
    if (remote && typeof elsewhere === 'string') return void notice(`${remote.label} was not rendered: its values file ${elsewhere} is in another source, which Parapet does not read`);
    for (const [i, written] of valueFiles.entries()) {
      if (typeof written !== 'string') continue;
      if (remote) {
        values.push({ values: { name: written, chartFile: written } });
        continue;
      }
      const file = resolveInRepo(path, written);
      if (file === undefined || !this.existing.has(file)) {
        if (helm.ignoreMissingValueFiles === true) continue;
        return void error([...at, 'helm', 'valueFiles', i], file === undefined ? `values file ${written} is outside the repository` : `values file ${written} does not exist in ${path}`);
      }
      const text = (await this.input.files.texts([file])).get(file) ?? '';
      const doc = (await this.input.files.documents([file])).documents[0];
      this.applied.add(file);
      values.push({ values: { name: file, yaml: text }, ...(doc && isRecord(doc.value) ? { layer: { value: doc.value, lines: doc.lines, file } } : {}) });
    }
    // valuesObject wins over values, as Argo CD writes only one of them.
    if (isRecord(helm.valuesObject)) {
      const where = fieldLocation(app.doc, [...at, 'helm', 'valuesObject']);
      let lines = app.doc.lines;
      for (const segment of [...at, 'helm', 'valuesObject']) lines = (typeof segment === 'number' ? lines.items?.[segment] : lines.keys?.[segment]) ?? lines;
      values.push({ values: { name: 'helm.valuesObject', object: helm.valuesObject }, layer: { value: helm.valuesObject, lines, file: where.file } });
    } else if (typeof helm.values === 'string') {
      const where = fieldLocation(app.doc, [...at, 'helm', 'values']);
      const inline = inlineDocuments(where.file, helm.values, where.line)[0];
      values.push({ values: { name: 'helm.values', yaml: helm.values }, ...(inline && isRecord(inline.value) ? { layer: { value: inline.value, lines: inline.lines, file: where.file } } : {}) });
    }
    const parameters = Array.isArray(helm.parameters) ? helm.parameters : [];
    for (const [i, parameter] of parameters.entries()) {
      if (!isRecord(parameter) || typeof parameter.name !== 'string') continue;
      const value = typeof parameter.value === 'string' ? parameter.value : String(parameter.value ?? '');
      const where = fieldLocation(app.doc, [...at, 'helm', 'parameters', i, 'value']);
      values.push({ values: { name: `helm.parameters[${i}]`, set: `${parameter.name}=${value}`, ...(parameter.forceString === true ? { setString: true } : {}) }, layer: pathLayer(parameter.name, value, where) });
    }
    const releaseName = typeof helm.releaseName === 'string' && helm.releaseName !== '' ? helm.releaseName : name;
    const outcome = await renderChart(
      { chart: path, ...(remote ? { remote: { chart: remote.chart, at: fieldLocation(app.doc, [...at, 'chart']) } } : {}), releaseName, namespace, values, includeCRDs: helm.skipCrds !== true },
      this.input.files,
      this.input.session,
    );
    if (remote) {
      if (!outcome.ok && outcome.fetch) return void notice(notFetched(remote.label, outcome.error, outcome.fetch.reason, 'the repository’s credentials (an Argo CD repository Secret)'));
      if (!outcome.ok) return void error([...at, 'chart'], `helm template ${remote.label} failed: ${outcome.error}`);
    }
    this.markChartApplied(path);
    if (!outcome.ok) return void error([...at, 'path'], `helm template ${path} failed: ${outcome.error}`);
    for (const doc of outcome.documents) this.addHelmDocument(doc);
  }

  private async argoKustomize(app: FluxObject, source: Record<string, unknown>, at: Array<string | number>, path: string, error: (at: Array<string | number>, message: string) => void): Promise<void> {
    const kfile = this.kustomizationIn(path);
    if (!kfile) return void error([...at, 'path'], `no kustomization file in ${path}`);
    if (!(await this.localOnly(kfile))) return;
    const kustomize = isRecord(source.kustomize) ? source.kustomize : {};
    // The renderer's Flux build writes these fields into the folder's kustomization, as Argo CD's
    // `kustomize edit set` does before it builds.
    const synthetic = { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: {}, spec: argoKustomizeSpec(kustomize) };
    const argo = argoKustomizeEdits(kustomize);
    const outcome = await (await this.input.session()).render({ kind: 'flux', path, kustomization: synthetic, substituteFrom: {}, ...(argo ? { argo } : {}) });
    await this.markApplied(kfile);
    if (!outcome.ok) return void error([...at, 'path'], outcome.error);
    const before = this.documents.length;
    for (const rendered of outcome.objects) await this.addRendered(rendered, path, { object: synthetic, doc: app.doc, fields: [...at, 'kustomize'] });
    // An image the Application's kustomize.images set points at that entry.
    const images = Array.isArray(kustomize.images) ? kustomize.images : [];
    images.forEach((written, i) => {
      if (typeof written !== 'string') return;
      const entry = argoKustomizeSpec({ images: [written] }).images as Array<Record<string, string>>;
      const name = entry[0]?.newName ?? entry[0]?.name;
      const where = fieldLocation(app.doc, [...at, 'kustomize', 'images', i]);
      for (const doc of this.documents.slice(before)) {
        for (const node of containerImageNodes(doc.value, doc.lines)) {
          if (imageRepository(node.image) === name) Object.assign(node.lines, { line: where.line, file: where.file });
        }
      }
    });
  }

  /** A directory source: its manifests (YAML and JSON), recursively when asked, filtered by include and exclude. */
  private async argoDirectory(source: Record<string, unknown>, path: string): Promise<void> {
    const directory = isRecord(source.directory) ? source.directory : {};
    const include = typeof directory.include === 'string' && directory.include !== '' ? argoGlob(directory.include) : undefined;
    const exclude = typeof directory.exclude === 'string' && directory.exclude !== '' ? argoGlob(directory.exclude) : undefined;
    const files = [...this.existing].filter((file) => {
      if (!isUnder(file, path) || hidden(file)) return false;
      const relative = path === '' ? file : file.slice(path.length + 1);
      if (directory.recurse !== true && relative.includes('/')) return false;
      if (!/\.(ya?ml|json)$/.test(file)) return false;
      if (exclude?.test(relative)) return false;
      return include === undefined || include.test(relative);
    });
    for (const file of files.sort()) {
      if (this.applied.has(file)) continue;
      this.applied.add(file);
      const parsed = await this.input.files.documents([file]);
      this.errors.push(...parsed.errors);
      for (const doc of parsed.documents) this.addPlain(doc);
    }
  }

  /** Namespaced objects rendered since `from` that name no namespace go to the destination's, as Argo CD applies them. */
  private inNamespace(from: number, namespace: string): void {
    const scopes = new ScopeTable();
    for (const doc of this.documents) if (isRecord(doc.value) && typeof doc.value.apiVersion === 'string' && typeof doc.value.kind === 'string') scopes.learn(doc.value as KubernetesObject);
    for (let i = from; i < this.documents.length; i++) {
      const doc = this.documents[i]!;
      const value = doc.value;
      if (!isRecord(value) || typeof value.apiVersion !== 'string' || typeof value.kind !== 'string') continue;
      if (scopes.isClusterScoped(gvkOf(value as KubernetesObject))) continue;
      const metadata = isRecord(value.metadata) ? value.metadata : {};
      if (typeof metadata.namespace === 'string' && metadata.namespace !== '') continue;
      // A copy: the parsed document is shared with other clusters.
      this.documents[i] = { ...doc, value: { ...value, metadata: { ...metadata, namespace } } };
    }
  }

  private async helmRelease(hr: FluxObject): Promise<void> {
    const metadata = isRecord(hr.object.metadata) ? hr.object.metadata : {};
    const name = typeof metadata.name === 'string' ? metadata.name : '';
    const namespace = typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : 'default';
    const key = `HelmRelease ${namespace}/${name}`;
    if (this.followed.has(key)) return;
    this.followed.add(key);
    const spec = isRecord(hr.object.spec) ? hr.object.spec : {};
    const error = (at: Array<string | number>, message: string) => this.errors.push({ location: fieldLocation(hr.doc, at), code: 'render', message: `${key}: ${message}` });
    const notice = (at: Array<string | number>, message: string) => this.notices.push({ location: fieldLocation(hr.doc, at), code: 'render', message: `${key}: ${message}` });

    const chart = this.helmChartSource(spec, namespace);
    if ('notice' in chart) return void notice(chart.at, chart.notice);
    if ('error' in chart) return void error(chart.at, chart.error);
    const values: TracedValues[] = [];
    const refs = Array.isArray(spec.valuesFrom) ? spec.valuesFrom : [];
    for (const [i, ref] of refs.entries()) {
      const at = ['spec', 'valuesFrom', i];
      if (!isRecord(ref)) continue;
      const kind = String(ref.kind);
      const valuesKey = typeof ref.valuesKey === 'string' && ref.valuesKey !== '' ? ref.valuesKey : 'values.yaml';
      // Flux's own words (fluxcd/pkg/chartutil ChartValuesFromReferences).
      const unresolved = (reason: string) => `could not resolve ${ref.optional === true ? 'optional ' : ''}${kind} chart values reference '${namespace}/${String(ref.name)}' with key '${valuesKey}': ${reason}`;
      if (kind !== 'ConfigMap' && kind !== 'Secret') return void error(at, unresolved('unsupported values reference kind'));
      const found = this.documents.find((doc) => {
        const value = doc.value;
        if (!isRecord(value) || value.kind !== kind || value.apiVersion !== 'v1' || !isRecord(value.metadata)) return false;
        const ns = typeof value.metadata.namespace === 'string' && value.metadata.namespace !== '' ? value.metadata.namespace : 'default';
        return value.metadata.name === ref.name && ns === namespace;
      });
      if (!found) {
        if (ref.optional === true) continue;
        return void error(at, unresolved(`resource not found: no ${kind} ${String(ref.name)} in namespace ${namespace} among the objects this cluster applies`));
      }
      const object = found.value as Record<string, unknown>;
      if (kind === 'Secret' && object.sops !== undefined) return void error(at, unresolved('the Secret is encrypted with SOPS; Parapet cannot read its values'));
      const data = isRecord(object.data) ? object.data : {};
      const stringData = kind === 'Secret' && isRecord(object.stringData) ? object.stringData : {};
      const field = Object.hasOwn(stringData, valuesKey) ? 'stringData' : 'data';
      const raw = field === 'stringData' ? stringData[valuesKey] : data[valuesKey];
      if (typeof raw !== 'string') {
        if (ref.optional === true) continue;
        return void error(at, unresolved('key not found'));
      }
      const text = kind === 'Secret' && field === 'data' ? decodeBase64(raw) : raw;
      const where = fieldLocation(found, [field, valuesKey]);
      const refName = `${kind} ${namespace}/${String(ref.name)} key ${valuesKey}`;
      if (typeof ref.targetPath === 'string' && ref.targetPath !== '') {
        values.push({ values: { name: refName, targetPath: ref.targetPath, value: text, ...(ref.literal === true ? { literal: true } : {}) }, layer: pathLayer(ref.targetPath, text, where) });
        continue;
      }
      const inline = field === 'data' && kind === 'ConfigMap' ? inlineDocuments(where.file, text, where.line)[0] : undefined;
      values.push({ values: { name: refName, yaml: text }, ...(inline && isRecord(inline.value) ? { layer: { value: inline.value, lines: inline.lines, file: where.file } } : {}) });
    }
    if (isRecord(spec.values)) {
      const at = fieldLocation(hr.doc, ['spec', 'values']);
      let lines = hr.doc.lines;
      for (const segment of ['spec', 'values']) lines = lines.keys?.[segment] ?? lines;
      values.push({ values: { name: 'spec.values', object: spec.values }, layer: { value: spec.values, lines, file: at.file } });
    }
    const install = isRecord(spec.install) ? spec.install : {};
    const crds = typeof install.crds === 'string' ? install.crds : install.skipCRDs === true ? 'Skip' : 'Create';
    const commonMetadata = isRecord(spec.commonMetadata) ? spec.commonMetadata : {};
    const labels: Record<string, string> = { ...stringMap(commonMetadata.labels), 'helm.toolkit.fluxcd.io/name': name, 'helm.toolkit.fluxcd.io/namespace': namespace };
    const annotations = stringMap(commonMetadata.annotations);
    const remote = 'remote' in chart ? chart : undefined;
    const request: ChartRequest = {
      chart: 'path' in chart ? chart.path : '',
      ...(remote ? { remote: { chart: remote.remote, at: fieldLocation(hr.doc, chart.at) } } : {}),
      releaseName: await fluxReleaseName(name, spec),
      namespace: typeof spec.targetNamespace === 'string' && spec.targetNamespace !== '' ? spec.targetNamespace : namespace,
      values,
      includeCRDs: crds !== 'Skip',
      flux: { doc: hr.doc, postRenderers: Array.isArray(spec.postRenderers) ? spec.postRenderers : [], labels, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
    };
    const outcome = await renderChart(request, this.input.files, this.input.session);
    if (!remote) this.markChartApplied(request.chart);
    if (!outcome.ok && remote && outcome.fetch) return void notice(chart.at, notFetched(remote.label, outcome.error, outcome.fetch.reason, remote.secret ? 'the source’s secretRef' : undefined));
    if (!outcome.ok) return void error(chart.at, `Helm install failed for release ${request.namespace}/${request.releaseName} with chart ${remote ? remote.label : request.chart}: ${outcome.error}`);
    for (const doc of outcome.documents) this.addHelmDocument(doc);
  }

  /** The chart folder of a HelmRelease, when it is in this repository; else why it is not rendered. */
  private helmChartSource(spec: Record<string, unknown>, namespace: string): ChartSource {
    const local = (written: unknown, at: Array<string | number>) => {
      const text = typeof written === 'string' ? written : '';
      const path = resolveInRepo('', text);
      if (path === undefined) return { error: `chart path ${text} is outside the repository`, at };
      if (!this.existing.has(join(path, 'Chart.yaml'))) return { error: `chart path not found: ${text} has no Chart.yaml in this repository`, at };
      return { path, at };
    };
    const ref = (sourceRef: Record<string, unknown>) => `${String(sourceRef.kind)} ${typeof sourceRef.namespace === 'string' ? sourceRef.namespace : namespace}/${String(sourceRef.name)}`;
    if (isRecord(spec.chartRef)) {
      const chartRef = spec.chartRef;
      const at = ['spec', 'chartRef'];
      if (chartRef.kind === 'HelmChart') {
        const ns = typeof chartRef.namespace === 'string' ? chartRef.namespace : namespace;
        const helmChart = this.documents.find((doc) => isRecord(doc.value) && doc.value.kind === 'HelmChart' && isRecord(doc.value.metadata) && doc.value.metadata.name === chartRef.name && (doc.value.metadata.namespace ?? 'default') === ns);
        const chartSpec = helmChart && isRecord(helmChart.value) && isRecord(helmChart.value.spec) ? helmChart.value.spec : undefined;
        if (!chartSpec) return { error: `HelmChart ${ns}/${String(chartRef.name)} is not among the objects this cluster applies`, at };
        return this.chartFromSource(chartSpec, ns, at, local, ref);
      }
      if (chartRef.kind === 'OCIRepository') {
        const ns = typeof chartRef.namespace === 'string' ? chartRef.namespace : namespace;
        const label = `the chart of ${ref(chartRef)}`;
        const repository = this.sourceObject('OCIRepository', String(chartRef.name), ns);
        if (!repository) return { notice: `${label} was not rendered: OCIRepository ${ns}/${String(chartRef.name)} is not among the objects this cluster applies`, at };
        const ociSpec = isRecord(repository.spec) ? repository.spec : {};
        const reference = isRecord(ociSpec.ref) ? ociSpec.ref : {};
        if (typeof reference.digest === 'string' && reference.digest !== '') return { notice: `${label} was not rendered: a chart pinned by digest (spec.ref.digest) is not fetched`, at };
        const version = typeof reference.semver === 'string' ? reference.semver : typeof reference.tag === 'string' ? reference.tag : '';
        const url = typeof ociSpec.url === 'string' ? ociSpec.url : '';
        return { remote: { url, chart: '', version, ...(ociSpec.insecure === true ? { plainHTTP: true } : {}) }, label: `${label} (${url}${version ? `:${version}` : ''})`, at, secret: isRecord(ociSpec.secretRef) || nonGeneric(ociSpec.provider) };
      }
      return { notice: `the chart of ${ref(chartRef)} was not rendered: Parapet renders charts from this repository, a HelmRepository or an OCIRepository`, at };
    }
    const chartSpec = isRecord(spec.chart) && isRecord(spec.chart.spec) ? spec.chart.spec : undefined;
    if (!chartSpec) return { error: 'spec.chart or spec.chartRef is required', at: ['spec'] };
    return this.chartFromSource(chartSpec, namespace, ['spec', 'chart', 'spec', 'chart'], local, ref);
  }

  private chartFromSource(
    chartSpec: Record<string, unknown>,
    namespace: string,
    at: Array<string | number>,
    local: (written: unknown, at: Array<string | number>) => { path: string; at: Array<string | number> } | { error: string; at: Array<string | number> },
    ref: (sourceRef: Record<string, unknown>) => string,
  ): ChartSource {
    const sourceRef = isRecord(chartSpec.sourceRef) ? chartSpec.sourceRef : {};
    const source = `${typeof sourceRef.namespace === 'string' ? sourceRef.namespace : namespace}/${String(sourceRef.name)}`;
    if (sourceRef.kind === 'GitRepository' && this.selfSources.has(source)) return local(chartSpec.chart, at);
    const version = typeof chartSpec.version === 'string' ? `@${chartSpec.version}` : '';
    const label = `chart ${String(chartSpec.chart)}${version} from ${ref(sourceRef)}`;
    if (sourceRef.kind === 'HelmRepository') {
      const ns = typeof sourceRef.namespace === 'string' ? sourceRef.namespace : namespace;
      const repository = this.sourceObject('HelmRepository', String(sourceRef.name), ns);
      if (!repository) return { notice: `${label} was not rendered: HelmRepository ${ns}/${String(sourceRef.name)} is not among the objects this cluster applies`, at };
      const repoSpec = isRecord(repository.spec) ? repository.spec : {};
      const url = typeof repoSpec.url === 'string' ? repoSpec.url : '';
      // Flux's `type: oci` repository names a registry path; the chart is below it.
      const oci = repoSpec.type === 'oci' || url.startsWith('oci://');
      return {
        remote: { url, chart: typeof chartSpec.chart === 'string' ? chartSpec.chart : '', version: typeof chartSpec.version === 'string' ? chartSpec.version : '', ...(oci && repoSpec.insecure === true ? { plainHTTP: true } : {}) },
        label: `${label} (${url})`,
        at,
        secret: isRecord(repoSpec.secretRef) || nonGeneric(repoSpec.provider),
      };
    }
    const why = sourceRef.kind === 'GitRepository' ? 'it is in another repository' : `Parapet renders charts from this repository, a HelmRepository or an OCIRepository, not from a ${String(sourceRef.kind)}`;
    return { notice: `${label} was not rendered: ${why}`, at };
  }

  /** A Flux source (HelmRepository, OCIRepository) among the objects this cluster applies. */
  private sourceObject(kind: string, name: string, namespace: string): Record<string, unknown> | undefined {
    const found = this.documents.find((doc) => {
      const value = doc.value;
      if (!isRecord(value) || value.kind !== kind || typeof value.apiVersion !== 'string' || !value.apiVersion.startsWith('source.toolkit.fluxcd.io/') || !isRecord(value.metadata)) return false;
      const ns = typeof value.metadata.namespace === 'string' && value.metadata.namespace !== '' ? value.metadata.namespace : 'default';
      return value.metadata.name === name && ns === namespace;
    });
    return found?.value as Record<string, unknown> | undefined;
  }

  /** `helm template <folder>`: the chart's own values, Helm's default release name, namespace default. */
  private async renderChartFolder(chart: string): Promise<void> {
    if (this.renderedCharts.has(chart)) return;
    const outcome = await renderChart({ chart, releaseName: 'release-name', namespace: 'default', values: [], includeCRDs: true }, this.input.files, this.input.session);
    this.markChartApplied(chart);
    if (!outcome.ok) {
      this.errors.push({ location: { file: join(chart, 'Chart.yaml'), line: 1 }, code: 'render', message: `helm template ${chart} failed: ${outcome.error}` });
      return;
    }
    for (const doc of outcome.documents) this.addHelmDocument(doc);
  }

  private markChartApplied(chart: string): void {
    this.renderedCharts.add(chart);
    for (const path of this.existing) if (isUnder(path, chart)) this.applied.add(path);
  }

  private addHelmDocument(doc: YamlDocument): void {
    this.documents.push(doc);
    if (isFluxKustomization(doc.value)) this.queue.push({ object: doc.value, doc });
    if (isHelmRelease(doc.value)) this.helmQueue.push({ object: doc.value, doc });
    if (isArgoApplication(doc.value)) this.argoQueue.push({ object: doc.value, doc });
  }

  /**
   * Flux waits for every dependsOn before it applies a Kustomization (or a HelmRelease): in a cycle
   * none is ever applied. Each dependsOn entry inside a cycle is an error on its line.
   */
  private dependencyCycles(): void {
    for (const [kind, is] of [['Kustomization', isFluxKustomization], ['HelmRelease', isHelmRelease]] as const) {
      const nodes = new Map<string, YamlDocument>();
      for (const doc of this.documents) if (is(doc.value)) if (!nodes.has(fluxKey(doc.value))) nodes.set(fluxKey(doc.value), doc);
      const edges = new Map<string, Array<{ to: string; index: number }>>();
      for (const [key, doc] of nodes) {
        const value = doc.value as Record<string, unknown>;
        const spec = isRecord(value.spec) ? value.spec : {};
        const namespace = key.slice(0, key.indexOf('/'));
        const list = Array.isArray(spec.dependsOn) ? spec.dependsOn : [];
        edges.set(key, list.flatMap((entry, index) => (isRecord(entry) && typeof entry.name === 'string' ? [{ to: `${typeof entry.namespace === 'string' && entry.namespace !== '' ? entry.namespace : namespace}/${entry.name}`, index }] : [])));
      }
      for (const component of stronglyConnected([...nodes.keys()], (key) => (edges.get(key) ?? []).map((edge) => edge.to).filter((to) => nodes.has(to)))) {
        const members = new Set(component);
        const cyclic = component.length > 1 || (edges.get(component[0]!) ?? []).some((edge) => edge.to === component[0]);
        if (!cyclic) continue;
        for (const key of component) {
          for (const edge of edges.get(key) ?? []) {
            if (!members.has(edge.to)) continue;
            this.errors.push({
              location: fieldLocation(nodes.get(key)!, ['spec', 'dependsOn', edge.index]),
              code: 'render',
              message: `${kind} ${key}: dependsOn ${edge.to} is a dependency cycle (${[...component].sort().join(', ')} wait for one another), so Flux applies none of them`,
            });
          }
        }
      }
    }
  }

  private warn(doc: YamlDocument | undefined): void {
    for (const warning of doc?.warnings ?? []) this.warnings.set(`${warning.location.file}:${warning.location.line}:${warning.message}`, warning);
  }

  /** A file in a folder whose kustomization decides what of it is applied (Flux and kustomize alike). */
  private ownedBy(path: string, kustomizations: string[]): boolean {
    for (let dir = dirOf(path); ; dir = dirOf(dir)) {
      if (kustomizations.some((k) => dirOf(k) === dir)) return true;
      if (dir === '') return false;
    }
  }

  private async kustomizeBuild(file: string): Promise<void> {
    const dir = dirOf(file);
    if (!(await this.localOnly(file))) return;
    const outcome = await (await this.input.session()).render({ kind: 'kustomize', path: dir });
    const doc = (await this.input.files.documents([file])).documents[0];
    // What it names is its own, built or not: never a plain manifest besides.
    await this.markApplied(file);
    if (!outcome.ok) {
      this.errors.push({ location: { file, line: doc?.kindLine ?? 1 }, code: 'render', message: `kustomize build ${dir || '.'} failed: ${outcome.error}` });
      return;
    }
    for (const rendered of outcome.objects) await this.addRendered(rendered, dir, undefined);
  }

  private async followFlux(): Promise<void> {
    for (;;) {
      while (this.queue.length > 0) await this.fluxBuild(this.queue.shift()!);
      // A Kustomization whose substituteFrom names an object another one renders waits for it.
      const waiting = this.waiting;
      this.waiting = [];
      const before = this.documents.length;
      for (const { ks } of waiting) await this.fluxBuild(ks, true);
      if (this.queue.length === 0 && (this.waiting.length === 0 || this.documents.length === before)) break;
    }
    for (const { ks, missing } of this.waiting) {
      for (const problem of missing) this.errors.push({ location: fieldLocation(ks.doc, problem.at), code: 'render', message: problem.message });
    }
    this.waiting = [];
  }

  private async fluxBuild(ks: FluxObject, retry = false): Promise<void> {
    const metadata = isRecord(ks.object.metadata) ? ks.object.metadata : {};
    const namespace = typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : 'default';
    const key = `${namespace}/${String(metadata.name)}`;
    if (!retry && this.followed.has(key)) return;
    this.followed.add(key);
    const spec = isRecord(ks.object.spec) ? ks.object.spec : {};
    const name = `Kustomization ${key}`;
    const sourceRef = isRecord(spec.sourceRef) ? spec.sourceRef : {};
    const source = `${typeof sourceRef.namespace === 'string' ? sourceRef.namespace : namespace}/${String(sourceRef.name)}`;
    // Another repository's (or an OCI artifact's) paths are not in this tree.
    if (sourceRef.kind !== 'GitRepository' || !this.selfSources.has(source)) return;
    const error = (at: Array<string | number>, message: string) => this.errors.push({ location: fieldLocation(ks.doc, at), code: 'render', message: `${name}: ${message}` });
    const written = typeof spec.path === 'string' ? spec.path : '';
    const path = resolveInRepo('', written);
    if (path === undefined) return void error(['spec', 'path'], `spec.path ${written} is outside the repository`);
    // Flux's own words for a missing folder.
    if (!this.folders.has(path)) return void error(['spec', 'path'], `kustomization path not found: ${written}`);
    // A Kustomization that syncs the folder of one that applies it re-applies that one: a cycle in
    // which two Kustomizations own the same objects. (One that applies itself, as flux bootstrap
    // writes, is not: it is one owner.)
    const ancestor = ks.chain?.find((link) => link.path === path && link.key !== key);
    if (ancestor) return void error(['spec', 'path'], `spec.path ${written} is the path of Kustomization ${ancestor.key}, which applies this Kustomization: a cycle (${[...ks.chain!.map((link) => link.key).slice(ks.chain!.indexOf(ancestor)), key, ancestor.key].join(' → ')}); it is not followed`);
    const vars = this.substituteFrom(spec, namespace);
    if (vars.missing.length > 0) {
      this.waiting.push({ ks, missing: vars.missing.map((m) => ({ at: m.at, message: `${name}: ${m.message}` })) });
      return;
    }
    const kfile = this.kustomizationIn(path);
    if (kfile && !(await this.localOnly(kfile))) return;
    const outcome = await (await this.input.session()).render({ kind: 'flux', path, kustomization: ks.object, substituteFrom: vars.values });
    if (kfile) await this.markApplied(kfile);
    if (!outcome.ok) return void error(['spec', 'path'], outcome.error);
    const chained: FluxObject = { ...ks, chain: [...(ks.chain ?? []), { key, path }] };
    for (const rendered of outcome.objects) await this.addRendered(rendered, path, chained);
  }

  /** postBuild.substituteFrom's values, from the ConfigMaps and Secrets the cluster applies. */
  private substituteFrom(spec: Record<string, unknown>, namespace: string) {
    const values: Record<string, string> = {};
    const missing: Array<{ at: Array<string | number>; message: string }> = [];
    const postBuild = isRecord(spec.postBuild) ? spec.postBuild : {};
    const refs = Array.isArray(postBuild.substituteFrom) ? postBuild.substituteFrom : [];
    refs.forEach((ref, i) => {
      if (!isRecord(ref) || (ref.kind !== 'ConfigMap' && ref.kind !== 'Secret')) return;
      const at = ['spec', 'postBuild', 'substituteFrom', i];
      const found = this.documents.find((doc) => {
        const value = doc.value;
        if (!isRecord(value) || value.kind !== ref.kind || value.apiVersion !== 'v1' || !isRecord(value.metadata)) return false;
        const ns = typeof value.metadata.namespace === 'string' && value.metadata.namespace !== '' ? value.metadata.namespace : 'default';
        return value.metadata.name === ref.name && ns === namespace;
      });
      if (!found) {
        if (ref.optional !== true) missing.push({ at, message: `substitute from '${ref.kind}/${String(ref.name)}' error: no ${ref.kind} ${String(ref.name)} in namespace ${namespace} among the objects this cluster applies` });
        return;
      }
      const object = found.value as Record<string, unknown>;
      if (ref.kind === 'Secret' && object.sops !== undefined) {
        missing.push({ at, message: `substitute from 'Secret/${String(ref.name)}' error: the Secret is encrypted with SOPS; Parapet cannot read its values` });
        return;
      }
      if (isRecord(object.data)) {
        for (const [k, v] of Object.entries(object.data)) if (typeof v === 'string') values[k] = ref.kind === 'Secret' ? decodeBase64(v) : v;
      }
      if (ref.kind === 'Secret' && isRecord(object.stringData)) for (const [k, v] of Object.entries(object.stringData)) if (typeof v === 'string') values[k] = v;
    });
    return { values, missing };
  }

  private async addRendered(rendered: RenderedObject, dir: string, flux: FluxObject | undefined): Promise<void> {
    const { files } = this.input;
    const origin = rendered.origin;
    const file = (origin?.path && resolveInRepo(dir, origin.path)) || (origin?.configuredIn && resolveInRepo(dir, origin.configuredIn)) || this.kustomizationIn(dir) || flux?.doc.file || dir;
    // kustomize read the file with kyaml: the renderer's values are kyaml's, so the layers laid over
    // them must be too. The lines kubectl would read otherwise still get their warning.
    const docs = this.existing.has(file) ? (await files.documents([file])).documents.map((doc) => asRead(doc, 'kyaml')) : [];
    const base = origin?.path ? baseDocument(docs, rendered.object) : undefined;
    this.warn(base);
    const sources: TransformSource[] = [];
    const seen = new Set<string>();
    for (const transformation of rendered.transformations ?? []) {
      const kpath = transformation.configuredIn && resolveInRepo(dir, transformation.configuredIn);
      if (!kpath || seen.has(kpath)) continue;
      seen.add(kpath);
      const kdoc = this.existing.has(kpath) ? (await files.documents([kpath])).documents[0] : undefined;
      if (kdoc) sources.push({ doc: kdoc, fields: [], dir: dirOf(kpath), flux: false });
      // Flux writes its spec's fields into the kustomization at the root of its path.
      // An Argo source's kustomize options use kustomize's own names (namespace, not targetNamespace).
      if (flux && dirOf(kpath) === dir) sources.push({ doc: flux.doc, fields: flux.fields ?? ['spec'], dir, flux: flux.fields === undefined });
    }
    // kustomize-controller sets spec.commonMetadata after the build, so no transformation names it.
    if (flux && !flux.fields && !sources.some((s) => s.doc === flux.doc) && isRecord(flux.object.spec) && isRecord(flux.object.spec.commonMetadata)) {
      sources.push({ doc: flux.doc, fields: ['spec'], dir, flux: true });
    }
    const fallbackLine = base?.kindLine ?? docs[0]?.kindLine ?? flux?.doc.kindLine ?? 1;
    const fallbackFile = this.existing.has(file) ? file : (flux?.doc.file ?? file);
    const lines = await renderedLines(rendered.object, base, sources, async (p) => (await files.documents([p])).documents, { line: fallbackLine, file: fallbackFile });
    if (this.existing.has(file)) {
      this.applied.add(file);
      // The kustomizations between the build's folder and the file are the ones that read it (Flux's
      // generated kustomization lists sub-folders that have their own).
      for (let folder = dirOf(file); isUnder(folder, dir); folder = dirOf(folder)) {
        const kfile = this.kustomizationIn(folder);
        if (kfile) await this.markApplied(kfile);
        if (folder === dir || folder === '') break;
      }
    }
    const doc: YamlDocument = { file: fallbackFile, index: base?.index ?? 0, value: rendered.object, line: base?.line ?? fallbackLine, kindLine: fallbackLine, lines };
    // The same object from the same file rendered twice (a folder that is both an entry point and
    // the path of a Flux Kustomization in it, as flux bootstrap writes) is one object in the cluster:
    // applying it again changes nothing. Two different objects of one identity stay a duplicate.
    const same = `${fallbackFile}\0${JSON.stringify(rendered.object)}`;
    if (this.renderedObjects.has(same)) return;
    this.renderedObjects.add(same);
    this.documents.push(doc);
    if (isFluxKustomization(rendered.object)) {
      // An ancestor applied again from below (not the Kustomization that applies itself): Flux's
      // two copies would apply each other. Said on the copy's line, and not followed.
      const key = fluxKey(rendered.object);
      const chain = flux?.chain ?? [];
      const at = chain.findIndex((link) => link.key === key);
      if (at >= 0 && at < chain.length - 1) {
        this.errors.push({ location: { file: doc.file, line: doc.kindLine }, code: 'render', message: `Kustomization ${key} is applied again by Kustomization ${chain[chain.length - 1]!.key}, which it applies: a cycle (${[...chain.slice(at).map((link) => link.key), key].join(' → ')}); it is not followed again` });
      } else {
        this.queue.push({ object: rendered.object, doc, ...(flux?.chain ? { chain: flux.chain } : {}) });
      }
    }
    if (isHelmRelease(rendered.object)) this.helmQueue.push({ object: rendered.object, doc });
    if (isArgoApplication(rendered.object)) this.argoQueue.push({ object: rendered.object, doc });
  }

  /** Reports remote bases in the kustomization and the bases it reaches; false when there are any. */
  private async localOnly(file: string): Promise<boolean> {
    let local = true;
    const visited = new Set<string>();
    const visit = async (kfile: string) => {
      if (visited.has(kfile)) return;
      visited.add(kfile);
      const doc = (await this.input.files.documents([kfile])).documents[0];
      for (const ref of await this.references(kfile)) {
        if (isRemote(ref.written)) {
          local = false;
          this.errors.push({
            location: doc ? fieldLocation(doc, ref.at) : { file: kfile, line: 1 },
            code: 'render',
            message: `${ref.written} is a remote base: Parapet renders only what the repository holds (vendor it into the repository)`,
          });
        } else if (ref.path) {
          const nested = this.kustomizationIn(ref.path);
          if (nested) await visit(nested);
        }
      }
    };
    await visit(file);
    return local;
  }

  /** The kustomization, and every file it and its bases read, count as applied. */
  private async markApplied(file: string): Promise<void> {
    if (this.applied.has(file)) return;
    this.applied.add(file);
    for (const ref of await this.references(file)) {
      if (!ref.path) continue;
      const nested = this.kustomizationIn(ref.path);
      if (nested) await this.markApplied(nested);
      else if (this.existing.has(ref.path)) this.applied.add(ref.path);
      else for (const p of this.existing) if (isUnder(p, ref.path)) this.applied.add(p);
    }
  }

  private async references(kfile: string): Promise<Array<{ written: string; path: string | undefined; at: Array<string | number> }>> {
    const doc = (await this.input.files.documents([kfile])).documents[0];
    return doc ? kustomizationReferences(doc.value).map((ref) => ({ written: ref.path, path: resolveInRepo(dirOf(kfile), ref.path), at: ref.at })) : [];
  }

  private kustomizationIn(dir: string): string | undefined {
    return KUSTOMIZATION_NAMES.map((name) => (dir === '' ? name : `${dir}/${name}`)).find((p) => this.existing.has(p));
  }
}

type Field = Array<string | number>;
/** Where a HelmRelease's chart comes from: a folder of this repository, a remote chart, or why neither. */
type ChartSource = { path: string; at: Field } | { remote: RemoteChart; label: string; secret: boolean; at: Field } | { notice: string; at: Field } | { error: string; at: Field };

/** A Flux source's `provider` other than generic: cloud credentials Parapet does not have. */
function nonGeneric(provider: unknown): boolean {
  return typeof provider === 'string' && provider !== '' && provider !== 'generic';
}

/** A remote chart that could not be fetched, said in words a person acts on. */
function notFetched(label: string, why: string, reason: FetchFailureReason, credentials: string | undefined): string {
  const auth = reason === 'auth' ? `; Parapet does not read ${credentials ?? 'credentials'} from the repository and fetches charts anonymously` : '';
  return `${label} was not rendered: ${why}${auth}`;
}

/** `Application <namespace>/<name>`, as the Application's messages name it. */
function argoKey(app: Record<string, unknown>): string {
  const metadata = isRecord(app.metadata) ? app.metadata : {};
  return `Application ${typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : 'argocd'}/${typeof metadata.name === 'string' ? metadata.name : ''}`;
}

/**
 * An Application's chart source: `https://` is a Helm repository; `oci://`, or a repoURL without a
 * scheme (as Argo CD writes an OCI Helm repository), a registry. A loopback registry is plain HTTP.
 */
function argoRemoteChart(repoURL: string, chart: string, targetRevision: unknown): { chart: RemoteChart; label: string } {
  const version = typeof targetRevision === 'string' ? targetRevision : '';
  const url = /^https?:\/\//.test(repoURL) || repoURL.startsWith('oci://') ? repoURL : `oci://${repoURL}`;
  const host = url.replace(/^[a-z]+:\/\//, '').split('/')[0]!.replace(/:\d+$/, '');
  const plainHTTP = url.startsWith('oci://') && ['127.0.0.1', 'localhost', '[::1]'].includes(host);
  return { chart: { url, chart, version, ...(plainHTTP ? { plainHTTP: true } : {}) }, label: `chart ${chart}${version ? `@${version}` : ''} from ${repoURL}` };
}

/** `namespace/name` of a Flux object, as its dependsOn and messages name it. */
function fluxKey(value: Record<string, unknown>): string {
  const metadata = isRecord(value.metadata) ? value.metadata : {};
  return `${typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : 'default'}/${String(metadata.name)}`;
}

/** Tarjan's strongly connected components, each in the order found. */
function stronglyConnected(nodes: string[], next: (node: string) => string[]): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const to of next(node)) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      for (;;) {
        const top = stack.pop()!;
        onStack.delete(top);
        component.push(top);
        if (top === node) break;
      }
      components.push(component);
    }
  };
  for (const node of nodes) if (!index.has(node)) visit(node);
  return components;
}

function isFluxKustomization(value: unknown): value is Record<string, unknown> {
  return isRecord(value) && value.kind === 'Kustomization' && typeof value.apiVersion === 'string' && value.apiVersion.startsWith('kustomize.toolkit.fluxcd.io/');
}

function isHelmRelease(value: unknown): value is Record<string, unknown> {
  return isRecord(value) && value.kind === 'HelmRelease' && typeof value.apiVersion === 'string' && value.apiVersion.startsWith('helm.toolkit.fluxcd.io/');
}

/** A valuesFrom key with targetPath, as a layer of values at that path, written on the key's line. */
function pathLayer(targetPath: string, text: string, where: { file: string; line: number }): Layer {
  const segments = targetPath.split(/(?<!\\)\./).map((segment) => segment.replace(/\\\./g, '.'));
  let value: unknown = text;
  let lines: LineNode = { line: where.line };
  for (const segment of segments.reverse()) {
    value = { [segment]: value };
    lines = { line: where.line, keys: { [segment]: lines } };
  }
  return { value, lines, file: where.file };
}

/** Each container's image in an object, with its line node. */
function containerImageNodes(value: unknown, lines: LineNode): Array<{ image: string; lines: LineNode }> {
  const found: Array<{ image: string; lines: LineNode }> = [];
  const visit = (node: unknown, at: LineNode | undefined) => {
    if (!isRecord(node) || !at) return;
    for (const [key, child] of Object.entries(node)) {
      const childLines = at.keys?.[key];
      if (['containers', 'initContainers', 'ephemeralContainers'].includes(key) && Array.isArray(child)) {
        child.forEach((container, i) => {
          const imageLines = childLines?.items?.[i]?.keys?.image;
          if (isRecord(container) && typeof container.image === 'string' && imageLines) found.push({ image: container.image, lines: imageLines });
        });
      } else {
        visit(child, childLines);
      }
    }
  };
  visit(value, lines);
  return found;
}

function imageRepository(image: string): string {
  const withoutDigest = image.split('@')[0]!;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isRecord(value)) for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * The Flux Kustomizations that sync this cluster: those whose spec.path is the cluster's folder
 * (`clusters/<name>`, or any folder named after the cluster). A repository with one Cluster file
 * may instead have one Kustomization that syncs the folder it is written in (`flux bootstrap`).
 */
function fluxRoots(cluster: ClusterConfig, clusterCount: number, fluxObjects: YamlDocument[]): YamlDocument[] {
  const pathOf = (doc: YamlDocument) => {
    const spec = (doc.value as Record<string, unknown>).spec;
    return isRecord(spec) && typeof spec.path === 'string' ? normalizeRepoPath(spec.path) : undefined;
  };
  const named = fluxObjects.filter((doc) => {
    const path = pathOf(doc);
    return path !== undefined && (path === cluster.name || path.endsWith(`/${cluster.name}`));
  });
  if (named.length > 0 || clusterCount > 1) return named;
  const bootstraps = fluxObjects.filter((doc) => {
    const path = pathOf(doc);
    return path !== undefined && isUnder(doc.file, path);
  });
  return bootstraps.length === 1 ? bootstraps : [];
}

/** The GitRepository names that mean "this repository": the ones bootstrap Kustomizations sync from. */
function selfSources(fluxObjects: YamlDocument[], roots: YamlDocument[]): Set<string> {
  const sources = new Set<string>(['flux-system/flux-system']);
  for (const doc of fluxObjects) {
    const value = doc.value as Record<string, unknown>;
    const spec = isRecord(value.spec) ? value.spec : {};
    const ref = isRecord(spec.sourceRef) ? spec.sourceRef : {};
    const namespace = isRecord(value.metadata) && typeof value.metadata.namespace === 'string' ? value.metadata.namespace : 'default';
    const syncsItself = typeof spec.path === 'string' && isUnder(doc.file, normalizeRepoPath(spec.path));
    if (ref.kind === 'GitRepository' && (syncsItself || roots.includes(doc))) sources.add(`${typeof ref.namespace === 'string' ? ref.namespace : namespace}/${String(ref.name)}`);
  }
  return sources;
}

/** The document of `file` an object was rendered from: same kind, and the name it had before namePrefix/nameSuffix. */
function baseDocument(docs: YamlDocument[], object: Record<string, unknown>): YamlDocument | undefined {
  const sameKind = docs.filter((doc) => isRecord(doc.value) && doc.value.kind === object.kind);
  if (sameKind.length <= 1) return sameKind[0];
  const name = isRecord(object.metadata) && typeof object.metadata.name === 'string' ? object.metadata.name : '';
  const nameOf = (doc: YamlDocument) => {
    const metadata = (doc.value as Record<string, unknown>).metadata;
    return isRecord(metadata) && typeof metadata.name === 'string' ? metadata.name : '';
  };
  return sameKind.find((doc) => nameOf(doc) === name) ?? sameKind.filter((doc) => nameOf(doc) !== '' && name.includes(nameOf(doc))).sort((a, b) => nameOf(b).length - nameOf(a).length)[0];
}

function stagePaths(applications: ApplicationConfig[], cluster: ClusterConfig): string[] {
  return applications.flatMap((app) => app.stages.filter((stage) => stage.clusterName === cluster.name).map((stage) => stage.resourcesPath));
}

function hidden(path: string): boolean {
  return path.split('/').some((part) => part.startsWith('.'));
}

function decodeBase64(text: string): string {
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(text.replace(/\s/g, '')), (c) => c.charCodeAt(0)));
  } catch {
    return text;
  }
}

