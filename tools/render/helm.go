// Helm charts rendered as `helm template` renders them (the same library call: an install in
// client-only dry-run mode), from a chart folder of the repository on the in-memory filesystem.
// Values are merged as Helm's CLI merges -f files and --set flags, and as Flux's helm-controller
// merges valuesFrom (github.com/fluxcd/pkg/chartutil ChartValuesFromReferences). What Flux does
// after Helm renders (its kustomize post-renderers, commonMetadata and its origin labels) runs here
// too, over the manifests only, as Helm runs post-renderers.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/ignore"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/strvals"
	"sigs.k8s.io/kustomize/api/builtins"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Carries each manifest's `# Source:` through the post-renderers, which drop comments.
const sourceAnnotation = "render.parapet.dev/helm-source"

// One layer of values, merged in order over the ones before it.
type valueLayer struct {
	// A values document (a values file, a valuesFrom key without targetPath, HelmRelease values).
	YAML *string `json:"yaml,omitempty"`
	// Merged as a map (Flux's spec.values, Argo's valuesObject): no YAML text in between.
	Object map[string]interface{} `json:"object,omitempty"`
	// `path=value` as --set reads it (Argo parameters); setString as --set-string.
	Set       string `json:"set,omitempty"`
	SetString bool   `json:"setString,omitempty"`
	// A valuesFrom key with targetPath: the value replaces the one at the path (Flux's ReplacePathValue).
	TargetPath string `json:"targetPath,omitempty"`
	Value      string `json:"value,omitempty"`
	Literal    bool   `json:"literal,omitempty"`
	// Names the layer in errors (the values file, the ConfigMap and key...).
	Name string `json:"name,omitempty"`
	// A values file of the chart itself (an Argo CD valueFiles entry of a fetched chart).
	ChartFile string `json:"chartFile,omitempty"`
}

type helmRequest struct {
	Chart string `json:"chart"`
	// A chart outside the repository, fetched (chartfetch.go) instead of read from Chart's folder.
	Remote      *remoteChart `json:"remote,omitempty"`
	ReleaseName string       `json:"releaseName"`
	Namespace   string       `json:"namespace"`
	Values      []valueLayer `json:"values,omitempty"`
	IncludeCRDs bool         `json:"includeCRDs,omitempty"`
	// Flux: kustomize post-renderers (spec.postRenderers[].kustomize), then labels and annotations
	// on every manifest (commonMetadata, then the origin labels over them).
	PostRenderers []struct {
		Kustomize *struct {
			Patches []struct {
				Patch  string          `json:"patch"`
				Target *types.Selector `json:"target,omitempty"`
			} `json:"patches,omitempty"`
			Images []types.Image `json:"images,omitempty"`
		} `json:"kustomize,omitempty"`
	} `json:"postRenderers,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func helmRender(fs filesys.FileSystem, raw json.RawMessage) response {
	var req helmRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return response{Error: err.Error()}
	}
	var chrt *chart.Chart
	var remote *fetched
	if req.Remote != nil {
		var failure *fetchFailure
		if chrt, remote, failure = fetchChart(*req.Remote); failure != nil {
			return response{Error: failure.Message, Fetch: failure}
		}
	} else {
		dir := inRepo(req.Chart)
		if !fs.Exists(path.Join(dir, "Chart.yaml")) {
			return response{Error: fmt.Sprintf("%s: Chart.yaml file is missing", displayPath(req.Chart))}
		}
		var err error
		if chrt, err = loadChart(fs, dir); err != nil {
			return response{Error: relative(err.Error())}
		}
	}
	// A fetched chart's own values files, named by an Application, are read from its archive.
	for i, layer := range req.Values {
		if layer.ChartFile == "" {
			continue
		}
		text, ok := chartFile(chrt, layer.ChartFile)
		if !ok {
			return response{Error: fmt.Sprintf("values file %s is not in chart %s", layer.ChartFile, chrt.Name())}
		}
		req.Values[i].YAML = &text
	}
	vals, err := mergeValues(req.Values)
	if err != nil {
		return response{Error: err.Error()}
	}
	install := action.NewInstall(&action.Configuration{Log: func(string, ...interface{}) {}})
	// `helm template`'s settings: a client-only dry run that replaces any release of the name.
	install.DryRun = true
	install.DryRunOption = "true"
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = req.ReleaseName
	install.Namespace = req.Namespace
	rel, err := install.Run(chrt, vals)
	if err != nil {
		return response{Error: relative(err.Error())}
	}
	manifests, err := manifestObjects(rel.Manifest)
	if err != nil {
		return response{Error: err.Error()}
	}
	if manifests, err = postRender(manifests, req); err != nil {
		return response{Error: "post-renderer failed: " + relative(err.Error())}
	}
	// The CRDs of crds/ folders, as `helm template --include-crds` prints them: installed before the
	// release, not post-rendered.
	objects := []renderedObject{}
	if req.IncludeCRDs {
		for _, crd := range chrt.CRDObjects() {
			crds, err := manifestObjects(fmt.Sprintf("# Source: %s\n%s", crd.Filename, string(crd.File.Data)))
			if err != nil {
				return response{Error: err.Error()}
			}
			objects = append(objects, crds...)
		}
	}
	objects = append(objects, manifests...)
	// Hooks run at install (pre-install Jobs and the like); test hooks only at `helm test`, which
	// neither Flux nor Argo CD runs by default.
	for _, hook := range rel.Hooks {
		if isTestHook(hook) {
			continue
		}
		hooked, err := manifestObjects(fmt.Sprintf("# Source: %s\n%s", hook.Path, hook.Manifest))
		if err != nil {
			return response{Error: err.Error()}
		}
		objects = append(objects, hooked...)
	}
	return response{Objects: objects, Chart: remote}
}

// loadChart reads the chart folder as loader.LoadDir does (its .helmignore and Helm's default
// ignores), from the in-memory filesystem.
func loadChart(fs filesys.FileSystem, dir string) (*chart.Chart, error) {
	rules := ignore.Empty()
	if ifile := path.Join(dir, ignore.HelmIgnore); fs.Exists(ifile) {
		data, err := fs.ReadFile(ifile)
		if err != nil {
			return nil, err
		}
		if rules, err = ignore.Parse(strings.NewReader(string(data))); err != nil {
			return nil, err
		}
	}
	rules.AddDefaults()
	files := []*loader.BufferedFile{}
	err := fs.Walk(dir, func(name string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		n := strings.TrimPrefix(name, dir+"/")
		if name == dir {
			return nil
		}
		if fi.IsDir() {
			if rules.Ignore(n, fi) {
				return filepath.SkipDir
			}
			return nil
		}
		if rules.Ignore(n, fi) {
			return nil
		}
		data, err := fs.ReadFile(name)
		if err != nil {
			return err
		}
		files = append(files, &loader.BufferedFile{Name: n, Data: data})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return loader.LoadFiles(files)
}

func mergeValues(layers []valueLayer) (map[string]interface{}, error) {
	result := map[string]interface{}{}
	for _, layer := range layers {
		switch {
		case layer.YAML != nil:
			values, err := chartutil.ReadValues([]byte(*layer.YAML))
			if err != nil {
				return nil, fmt.Errorf("failed to parse %s: %w", layer.Name, err)
			}
			result = mergeMaps(result, values)
		case layer.Object != nil:
			result = mergeMaps(result, layer.Object)
		case layer.TargetPath != "":
			if err := replacePathValue(result, layer.TargetPath, layer.Value, layer.Literal); err != nil {
				return nil, fmt.Errorf("could not resolve %s: failed to merge value: %w", layer.Name, err)
			}
		case layer.Set != "":
			parse := strvals.ParseInto
			if layer.SetString {
				parse = strvals.ParseIntoString
			}
			if err := parse(layer.Set, result); err != nil {
				return nil, fmt.Errorf("failed parsing %s: %w", layer.Name, err)
			}
		}
	}
	return result, nil
}

// mergeMaps is Helm's (and Flux's MergeMaps): b over a, maps merged, anything else replaced.
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if v, ok := v.(map[string]interface{}); ok {
			if bv, ok := out[k]; ok {
				if bv, ok := bv.(map[string]interface{}); ok {
					out[k] = mergeMaps(bv, v)
					continue
				}
			}
		}
		out[k] = v
	}
	return out
}

// replacePathValue is Flux's ReplacePathValue and ReplacePathLiteralValue.
func replacePathValue(values map[string]interface{}, targetPath, value string, literal bool) error {
	if literal {
		escaper := strings.NewReplacer(`\`, `\\`, `,`, `\,`, `[`, `\[`, `]`, `\]`, `{`, `\{`, `}`, `\}`)
		return strvals.ParseIntoString(targetPath+"="+escaper.Replace(value), values)
	}
	singleQuoted := strings.HasPrefix(value, "'") && strings.HasSuffix(value, "'")
	doubleQuoted := strings.HasPrefix(value, `"`) && strings.HasSuffix(value, `"`)
	if singleQuoted || doubleQuoted {
		return strvals.ParseIntoString(targetPath+"="+strings.Trim(value, `'"`), values)
	}
	return strvals.ParseInto(targetPath+"="+value, values)
}

var sourceLine = regexp.MustCompile(`(?m)^# Source: (.*)$`)

// manifestObjects splits a rendered manifest as `helm template` prints it, each object with the
// template it came from (its `# Source:` line, kept as the origin's path).
func manifestObjects(manifest string) ([]renderedObject, error) {
	split := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(split))
	for k := range split {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	objects := []renderedObject{}
	// A file of several documents (a CRD file) names its source once, above the first.
	source := ""
	for _, key := range keys {
		text := split[key]
		if m := sourceLine.FindStringSubmatch(text); m != nil {
			source = strings.TrimSpace(m[1])
		}
		var object map[string]interface{}
		if err := yaml.Unmarshal([]byte(text), &object); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if len(object) == 0 {
			continue
		}
		objects = append(objects, renderedObject{Object: object, Source: source})
	}
	return objects, nil
}

// postRender runs Flux's post-renderers over the manifests: each kustomize post-renderer as a
// kustomization of the manifests with its patches and images, then the labels and annotations.
func postRender(objects []renderedObject, req helmRequest) ([]renderedObject, error) {
	if len(objects) == 0 {
		return objects, nil
	}
	for _, renderer := range req.PostRenderers {
		if renderer.Kustomize == nil {
			continue
		}
		fs := filesys.MakeFsInMemory()
		kus := types.Kustomization{TypeMeta: types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind}}
		kus.Resources = []string{"helm-output.yaml"}
		kus.Images = renderer.Kustomize.Images
		for _, p := range renderer.Kustomize.Patches {
			kus.Patches = append(kus.Patches, types.Patch{Patch: p.Patch, Target: p.Target})
		}
		input, err := withSources(objects)
		if err != nil {
			return nil, err
		}
		kdata, err := yaml.Marshal(kus)
		if err != nil {
			return nil, err
		}
		if err := fs.WriteFile("/helm-output.yaml", input); err != nil {
			return nil, err
		}
		if err := fs.WriteFile("/kustomization.yaml", kdata); err != nil {
			return nil, err
		}
		k := krusty.MakeKustomizer(&krusty.Options{LoadRestrictions: types.LoadRestrictionsNone, PluginConfig: types.DisabledPluginConfig()})
		resMap, err := k.Run(fs, "/")
		if err != nil {
			return nil, err
		}
		if objects, err = fromResMap(resMap); err != nil {
			return nil, err
		}
	}
	if len(req.Labels) == 0 && len(req.Annotations) == 0 {
		return objects, nil
	}
	input, err := withSources(objects)
	if err != nil {
		return nil, err
	}
	resMap, err := resmap.NewFactory(provider.NewDefaultDepProvider().GetResourceFactory()).NewResMapFromBytes(input)
	if err != nil {
		return nil, err
	}
	if len(req.Labels) > 0 {
		plugin := &builtins.LabelTransformerPlugin{Labels: req.Labels, FieldSpecs: []types.FieldSpec{{Path: "metadata/labels", CreateIfNotPresent: true}}}
		if err := plugin.Transform(resMap); err != nil {
			return nil, err
		}
	}
	if len(req.Annotations) > 0 {
		plugin := &builtins.AnnotationsTransformerPlugin{Annotations: req.Annotations, FieldSpecs: []types.FieldSpec{{Path: "metadata/annotations", CreateIfNotPresent: true}}}
		if err := plugin.Transform(resMap); err != nil {
			return nil, err
		}
	}
	return fromResMap(resMap)
}

// withSources writes the objects as one stream, each with its template in an annotation (and its
// position, so objects of one template stay apart).
func withSources(objects []renderedObject) ([]byte, error) {
	var out strings.Builder
	for i, object := range objects {
		copied := deepCopy(object.Object)
		metadata, _ := copied["metadata"].(map[string]interface{})
		if metadata == nil {
			metadata = map[string]interface{}{}
			copied["metadata"] = metadata
		}
		annotations, _ := metadata["annotations"].(map[string]interface{})
		if annotations == nil {
			annotations = map[string]interface{}{}
			metadata["annotations"] = annotations
		}
		annotations[sourceAnnotation] = strconv.Itoa(i) + " " + object.Source
		data, err := yaml.Marshal(copied)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(data)
	}
	return []byte(out.String()), nil
}

func fromResMap(resMap resmap.ResMap) ([]renderedObject, error) {
	objects := []renderedObject{}
	for _, res := range resMap.Resources() {
		object, err := res.Map()
		if err != nil {
			return nil, err
		}
		source := ""
		if metadata, ok := object["metadata"].(map[string]interface{}); ok {
			if annotations, ok := metadata["annotations"].(map[string]interface{}); ok {
				if text, ok := annotations[sourceAnnotation].(string); ok {
					if _, rest, found := strings.Cut(text, " "); found {
						source = rest
					}
				}
				delete(annotations, sourceAnnotation)
				if len(annotations) == 0 {
					delete(metadata, "annotations")
				}
			}
		}
		objects = append(objects, renderedObject{Object: object, Source: source})
	}
	return objects, nil
}

func deepCopy(object map[string]interface{}) map[string]interface{} {
	data, _ := json.Marshal(object)
	var copied map[string]interface{}
	_ = json.Unmarshal(data, &copied)
	return copied
}

func isTestHook(hook *release.Hook) bool {
	for _, event := range hook.Events {
		if event == release.HookTest {
			return true
		}
	}
	return false
}

func displayPath(p string) string {
	if p == "" {
		return "."
	}
	return p
}

func chartFile(chrt *chart.Chart, name string) (string, bool) {
	clean := path.Clean(name)
	for _, file := range chrt.Raw {
		if path.Clean(file.Name) == clean {
			return string(file.Data), true
		}
	}
	return "", false
}
