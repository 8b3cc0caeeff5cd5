// Command render is Parapet's renderer: it builds kustomizations as `kustomize build` does, Flux
// Kustomizations as Flux's kustomize-controller does, and Helm charts as `helm template` does,
// linking the pinned kustomize API and Helm v3 library in one binary (their k8s.io dependencies
// resolve to one release, so one process serves a check). The engine
// sends the repository's files over stdin; they live in an in-memory filesystem, so a build can read
// nothing outside the repository. Remote bases are refused: git is unreachable (PATH is emptied) and
// every HTTP request fails. One JSON request per line in, one JSON response per line out.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"runtime/debug"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	"sigs.k8s.io/yaml"
)

// The repository's root inside the in-memory filesystem. Not `/`: a path that climbs out of the
// repository must name nothing, not wrap around to the repository's own root.
const repoRoot = "/repository"

const (
	originAnnotation          = "config.kubernetes.io/origin"
	transformationsAnnotation = "alpha.config.kubernetes.io/transformations"
)

type request struct {
	ID int    `json:"id"`
	Op string `json:"op"`
	// files: repository-relative path -> text, added to the filesystem.
	Files map[string]string `json:"files,omitempty"`
	// kustomize, flux: the folder to build, relative to the repository root.
	Path string `json:"path,omitempty"`
	// kustomize: "rootOnly" (kustomize build's default) or "none".
	LoadRestrictions string `json:"loadRestrictions,omitempty"`
	// flux: the Kustomization object (kustomize.toolkit.fluxcd.io) as written.
	Kustomization map[string]interface{} `json:"kustomization,omitempty"`
	// flux: the values of spec.postBuild.substituteFrom, already read from the repository in order.
	SubstituteFrom map[string]string `json:"substituteFrom,omitempty"`
	// flux, for an Argo CD Application: its kustomize options Flux's spec cannot say (argo.go).
	Argo *argoEdits `json:"argo,omitempty"`
	// helm: the chart to render and how (helm.go).
	Helm json.RawMessage `json:"helm,omitempty"`
}

type renderedObject struct {
	Object          map[string]interface{} `json:"object"`
	Origin          *resource.Origin       `json:"origin,omitempty"`
	Transformations []*resource.Origin     `json:"transformations,omitempty"`
	// helm: the template the object came from, as Helm's `# Source:` line names it.
	Source string `json:"source,omitempty"`
}

type response struct {
	ID      int              `json:"id"`
	Objects []renderedObject `json:"objects"`
	// flux: the kustomization Flux builds (generated when the folder has none), for diagnostics.
	Kustomization string `json:"kustomization,omitempty"`
	Generated     bool   `json:"generated,omitempty"`
	Version       string `json:"version,omitempty"`
	Error         string `json:"error,omitempty"`
	// kustomize, flux, helm: every path of the repository the build looked at (recordfs.go).
	Reads []read `json:"reads,omitempty"`
	// helm, a remote chart: the version rendered, or why it could not be fetched.
	Chart *fetched      `json:"chart,omitempty"`
	Fetch *fetchFailure `json:"fetch,omitempty"`
}

func main() {
	// kustomize clones remote bases with the git binary and fetches URLs over HTTP; neither may
	// leave this process.
	os.Setenv("PATH", "")
	http.DefaultTransport = refuseNetwork{}
	startMemoryWatchdog()

	fs := filesys.MakeFsInMemory()
	if err := fs.MkdirAll(repoRoot); err != nil {
		fatal(err)
	}
	in := json.NewDecoder(bufio.NewReaderSize(os.Stdin, 1<<20))
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	for {
		var req request
		if err := in.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			fatal(fmt.Errorf("reading a request: %w", err))
		}
		recorder := newRecordingFs(fs)
		resp := handle(recorder, req)
		resp.ID = req.ID
		// A build always looks at its folder, so its reads are never empty; the engine caches
		// only a reply that carries them.
		if req.Op != "files" && req.Op != "version" {
			resp.Reads = recorder.reads
		}
		if resp.Objects == nil {
			resp.Objects = []renderedObject{}
		}
		if err := enc.Encode(resp); err != nil {
			fatal(err)
		}
		if err := out.Flush(); err != nil {
			fatal(err)
		}
	}
}

func handle(fs filesys.FileSystem, req request) (resp response) {
	// kustomize panics on some malformed input; one bad kustomization must not end the process.
	defer func() {
		if r := recover(); r != nil {
			tool := "kustomize"
			if req.Op == "helm" {
				tool = "helm"
			}
			resp = response{Error: fmt.Sprintf("%s failed: %v", tool, r)}
		}
	}()
	switch req.Op {
	case "version":
		return response{Version: kustomizeVersion()}
	case "files":
		// A path kustomize's in-memory filesystem cannot hold (a name with a newline, say) is left
		// out: no kustomization can name it either, and a build that tries fails on that line as
		// for a missing file. The engine still reads such a file as a plain manifest.
		for name, text := range req.Files {
			full := inRepo(name)
			if err := fs.MkdirAll(path.Dir(full)); err != nil {
				continue
			}
			_ = fs.WriteFile(full, []byte(text))
		}
		return response{}
	case "kustomize":
		lr := types.LoadRestrictionsRootOnly
		if req.LoadRestrictions == "none" {
			lr = types.LoadRestrictionsNone
		}
		dir := inRepo(req.Path)
		kfile := kustomizationFile(fs, dir)
		if kfile == "" {
			return response{Error: fmt.Sprintf("no kustomization file in %s", req.Path)}
		}
		content, err := fs.ReadFile(kfile)
		if err != nil {
			return response{Error: err.Error()}
		}
		objects, err := build(fs, dir, kfile, content, true, lr)
		if err != nil {
			return response{Error: err.Error()}
		}
		return response{Objects: objects}
	case "flux":
		return fluxBuild(fs, req)
	case "helm":
		return helmRender(fs, req.Helm)
	}
	return response{Error: fmt.Sprintf("unknown op %q", req.Op)}
}

// build runs kustomize on dir, with kfile's content replaced by content for the build. Origins and
// transformations are recorded for every object and then removed, unless the kustomization asked
// for them itself: the objects are what kustomize prints.
func build(fs filesys.FileSystem, dir, kfile string, content []byte, existed bool, lr types.LoadRestrictions) ([]renderedObject, error) {
	withMetadata, wanted := withBuildMetadata(content)
	if err := fs.WriteFile(kfile, withMetadata); err != nil {
		return nil, err
	}
	defer func() {
		if existed {
			_ = fs.WriteFile(kfile, content)
		} else {
			_ = fs.RemoveAll(kfile)
		}
	}()
	// A kustomization's `openapi:` field replaces a global schema; later builds must not inherit it.
	openapi.ResetOpenAPI()
	k := krusty.MakeKustomizer(&krusty.Options{LoadRestrictions: lr, PluginConfig: types.DisabledPluginConfig()})
	resMap, err := k.Run(fs, dir)
	if err != nil {
		return nil, errors.New(relative(err.Error()))
	}
	objects := make([]renderedObject, 0, resMap.Size())
	for _, res := range resMap.Resources() {
		object, err := rendered(res, wanted)
		if err != nil {
			return nil, err
		}
		objects = append(objects, object)
	}
	return objects, nil
}

func rendered(res *resource.Resource, wanted map[string]bool) (renderedObject, error) {
	origin, err := res.GetOrigin()
	if err != nil {
		return renderedObject{}, err
	}
	var transformations []*resource.Origin
	annotations := res.GetAnnotations()
	if text, ok := annotations[transformationsAnnotation]; ok {
		if err := yaml.Unmarshal([]byte(text), &transformations); err != nil {
			return renderedObject{}, err
		}
	}
	object, err := res.Map()
	if err != nil {
		return renderedObject{}, err
	}
	strip := []string{}
	if !wanted[types.OriginAnnotations] {
		strip = append(strip, originAnnotation)
	}
	if !wanted[types.TransformerAnnotations] {
		strip = append(strip, transformationsAnnotation)
	}
	if metadata, ok := object["metadata"].(map[string]interface{}); ok {
		if list, ok := metadata["annotations"].(map[string]interface{}); ok {
			for _, key := range strip {
				delete(list, key)
			}
			if len(list) == 0 {
				delete(metadata, "annotations")
			}
		}
	}
	if origin != nil {
		origin.Path = relative(origin.Path)
		origin.ConfiguredIn = relative(origin.ConfiguredIn)
	}
	for _, t := range transformations {
		t.Path = relative(t.Path)
		t.ConfiguredIn = relative(t.ConfiguredIn)
	}
	return renderedObject{Object: object, Origin: origin, Transformations: transformations}, nil
}

// withBuildMetadata adds origin and transformer annotations to a kustomization (its bases inherit
// them), and says which of the two the kustomization asked for itself.
func withBuildMetadata(content []byte) ([]byte, map[string]bool) {
	wanted := map[string]bool{}
	var doc map[string]interface{}
	if err := yaml.Unmarshal(content, &doc); err != nil || doc == nil {
		// Left to kustomize, which says what is wrong with it.
		return content, wanted
	}
	list, _ := doc["buildMetadata"].([]interface{})
	for _, item := range list {
		if s, ok := item.(string); ok {
			wanted[s] = true
		}
	}
	metadata := []interface{}{}
	for _, item := range list {
		metadata = append(metadata, item)
	}
	for _, add := range []string{types.OriginAnnotations, types.TransformerAnnotations} {
		if !wanted[add] {
			metadata = append(metadata, add)
		}
	}
	doc["buildMetadata"] = metadata
	out, err := yaml.Marshal(doc)
	if err != nil {
		return content, wanted
	}
	return out, wanted
}

func kustomizationFile(fs filesys.FileSystem, dir string) string {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		if p := path.Join(dir, name); fs.Exists(p) && !fs.IsDir(p) {
			return p
		}
	}
	return ""
}

func inRepo(name string) string {
	return path.Join(repoRoot, path.Clean("/"+name))
}

// relative turns the filesystem's absolute paths back into the repository's own, in paths and in
// kustomize's messages.
func relative(text string) string {
	text = strings.ReplaceAll(text, repoRoot+"/", "")
	return strings.ReplaceAll(text, repoRoot, ".")
}

func kustomizeVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	versions := []string{}
	for _, dep := range info.Deps {
		if dep.Path == "sigs.k8s.io/kustomize/api" || dep.Path == "sigs.k8s.io/kustomize/kyaml" || dep.Path == "github.com/fluxcd/pkg/envsubst" || dep.Path == "helm.sh/helm/v3" {
			versions = append(versions, dep.Path+"@"+dep.Version)
		}
	}
	sort.Strings(versions)
	return strings.Join(versions, " ")
}

type refuseNetwork struct{}

func (refuseNetwork) RoundTrip(req *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("remote resource %s is not fetched: Parapet renders only what the repository holds", req.URL.Redacted())
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "render: %v\n", err)
	os.Exit(1)
}
