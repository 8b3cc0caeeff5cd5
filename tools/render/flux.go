// Flux's kustomize-controller, reproduced on the in-memory filesystem: the kustomization it builds
// for a Kustomization's spec.path (generated from every manifest below the folder when the folder
// has none), the spec fields it writes into that kustomization, and postBuild variable substitution.
// Follows github.com/fluxcd/pkg/kustomize (GenerateManifest, SubstituteVariables), which runs on disk.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/fluxcd/pkg/envsubst"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

const (
	substituteKey = "kustomize.toolkit.fluxcd.io/substitute"
	varNameRegex  = "^[_[:alpha:]][_[:alpha:][:digit:]]*$"
)

func fluxBuild(fs filesys.FileSystem, req request) response {
	dir := inRepo(req.Path)
	if !fs.IsDir(dir) {
		return response{Error: fmt.Sprintf("kustomization path not found: %s", req.Path)}
	}
	spec, _ := req.Kustomization["spec"].(map[string]interface{})
	if spec == nil {
		spec = map[string]interface{}{}
	}
	content, kfile, existed, err := fluxKustomization(fs, dir, spec)
	if err == nil && req.Argo != nil {
		content, err = applyArgoEdits(content, req.Argo)
	}
	if err != nil {
		return response{Error: relative(err.Error())}
	}
	// Flux builds with no load restrictions inside the source's root (here: the repository).
	objects, err := build(fs, dir, kfile, content, existed, types.LoadRestrictionsNone)
	if err != nil {
		return response{Error: "kustomize build failed: " + err.Error()}
	}
	if postBuild, ok := spec["postBuild"].(map[string]interface{}); ok {
		for i := range objects {
			if err := substitute(&objects[i], postBuild, req.SubstituteFrom); err != nil {
				return response{Error: err.Error()}
			}
		}
	}
	if common, ok := spec["commonMetadata"].(map[string]interface{}); ok {
		for i := range objects {
			setCommonMetadata(objects[i].Object, common)
		}
	}
	return response{Objects: objects, Kustomization: string(content), Generated: !existed}
}

// fluxKustomization is GenerateManifest: the folder's kustomization (or one listing its manifests)
// with the Kustomization's targetNamespace, namePrefix/nameSuffix, patches, components and images.
func fluxKustomization(fs filesys.FileSystem, dir string, spec map[string]interface{}) ([]byte, string, bool, error) {
	var data []byte
	kfile := kustomizationFile(fs, dir)
	existed := kfile != ""
	if existed {
		var err error
		if data, err = fs.ReadFile(kfile); err != nil {
			return nil, "", false, err
		}
	} else {
		generated, err := generateKustomization(fs, dir)
		if err != nil {
			return nil, "", false, err
		}
		data = generated
		kfile = path.Join(dir, konfig.DefaultKustomizationFileName())
	}
	kus := types.Kustomization{TypeMeta: types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind}}
	if err := yaml.Unmarshal(data, &kus); err != nil {
		return nil, "", false, err
	}
	if existed && len(kus.Resources) == 0 {
		// Flux's guard against kustomize's "kustomization.yaml is empty" error.
		kus.BuildMetadata = []string{types.OriginAnnotations}
	}
	if s, ok := spec["targetNamespace"].(string); ok {
		kus.Namespace = s
	}
	if s, ok := spec["namePrefix"].(string); ok {
		kus.NamePrefix = s
	}
	if s, ok := spec["nameSuffix"].(string); ok {
		kus.NameSuffix = s
	}
	var patches []struct {
		Patch  string          `json:"patch"`
		Target *types.Selector `json:"target,omitempty"`
	}
	if err := convert(spec["patches"], &patches); err != nil {
		return nil, "", false, fmt.Errorf("unable to get patches: %w", err)
	}
	for _, p := range patches {
		kus.Patches = append(kus.Patches, types.Patch{Patch: p.Patch, Target: p.Target})
	}
	var components []string
	if err := convert(spec["components"], &components); err != nil {
		return nil, "", false, fmt.Errorf("unable to get components: %w", err)
	}
	ignoreMissing, _ := spec["ignoreMissingComponents"].(bool)
	for _, component := range components {
		if !isLocalRelativePath(component) {
			return nil, "", false, fmt.Errorf("component path '%s' must be local and relative", component)
		}
		if !fs.Exists(path.Join(dir, component)) && ignoreMissing {
			continue
		}
		kus.Components = append(kus.Components, component)
	}
	var strategicMerge []json.RawMessage
	if err := convert(spec["patchesStrategicMerge"], &strategicMerge); err != nil {
		return nil, "", false, fmt.Errorf("unable to get patchesStrategicMerge: %w", err)
	}
	for _, p := range strategicMerge {
		kus.PatchesStrategicMerge = append(kus.PatchesStrategicMerge, types.PatchStrategicMerge(p))
	}
	var json6902 []struct {
		Patch  json.RawMessage `json:"patch"`
		Target types.Selector  `json:"target"`
	}
	if err := convert(spec["patchesJson6902"], &json6902); err != nil {
		return nil, "", false, fmt.Errorf("unable to get patchesJson6902: %w", err)
	}
	for _, p := range json6902 {
		target := p.Target
		kus.PatchesJson6902 = append(kus.PatchesJson6902, types.Patch{Patch: string(p.Patch), Target: &target})
	}
	var images []types.Image
	if err := convert(spec["images"], &images); err != nil {
		return nil, "", false, fmt.Errorf("unable to get images: %w", err)
	}
	for _, image := range images {
		index := -1
		for i := range kus.Images {
			if kus.Images[i].Name == image.Name {
				index = i
			}
		}
		if index < 0 {
			kus.Images = append(kus.Images, types.Image{Name: image.Name, NewName: image.NewName, NewTag: image.NewTag, Digest: image.Digest})
			continue
		}
		// Fields the Kustomization leaves out keep the kustomization's values; tag and digest
		// select the version together.
		if image.NewName != "" {
			kus.Images[index].NewName = image.NewName
		}
		if image.NewTag != "" || image.Digest != "" {
			kus.Images[index].NewTag = image.NewTag
			kus.Images[index].Digest = image.Digest
		}
	}
	var buildMetadata []string
	if err := convert(spec["buildMetadata"], &buildMetadata); err != nil {
		return nil, "", false, fmt.Errorf("unable to get buildMetadata: %w", err)
	}
	if len(buildMetadata) > 0 {
		kus.BuildMetadata = buildMetadata
	}
	out, err := yaml.Marshal(kus)
	return out, kfile, existed, err
}

// generateKustomization lists every manifest below dir, and each sub-folder that has its own
// kustomization (without descending into it), as Flux does for a path with no kustomization.
func generateKustomization(fs filesys.FileSystem, dir string) ([]byte, error) {
	rf := provider.NewDefaultDepProvider().GetResourceFactory()
	var resources []string
	err := fs.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		if info.IsDir() {
			if kustomizationFile(fs, p) != "" {
				resources = append(resources, "./"+strings.TrimPrefix(p, dir+"/"))
				return filepath.SkipDir
			}
			return nil
		}
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		text, err := fs.ReadFile(p)
		if err != nil {
			return err
		}
		if _, err := rf.SliceFromBytes(text); err != nil {
			return fmt.Errorf("failed to decode Kubernetes YAML from %s: %w", p, err)
		}
		resources = append(resources, "./"+strings.TrimPrefix(p, dir+"/"))
		return nil
	})
	if err != nil {
		return nil, err
	}
	kus := types.Kustomization{TypeMeta: types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind}}
	if len(resources) == 0 {
		// Flux's placeholder against kustomize's "kustomization.yaml is empty" error.
		kus.Namespace = "_placeholder"
	} else {
		kus.Resources = resources
	}
	return yaml.Marshal(kus)
}

// substitute is SubstituteVariables: the substituteFrom values, then spec.postBuild.substitute over
// them, replace ${VAR} in the object unless the object opts out.
func substitute(object *renderedObject, postBuild map[string]interface{}, from map[string]string) error {
	metadata, _ := object.Object["metadata"].(map[string]interface{})
	for _, field := range []string{"labels", "annotations"} {
		if values, ok := metadata[field].(map[string]interface{}); ok && values[substituteKey] == "disabled" {
			return nil
		}
	}
	vars := map[string]string{}
	for k, v := range from {
		vars[k] = strings.ReplaceAll(v, "\n", "")
	}
	if inline, ok := postBuild["substitute"].(map[string]interface{}); ok {
		for k, v := range inline {
			s, ok := v.(string)
			if !ok {
				return fmt.Errorf("spec.postBuild.substitute.%s must be a string", k)
			}
			vars[k] = strings.ReplaceAll(s, "\n", "")
		}
	}
	always := postBuild["substituteStrategy"] == "Always"
	if len(vars) == 0 && !always {
		return nil
	}
	nameOK := regexp.MustCompile(varNameRegex)
	for name := range vars {
		if !nameOK.MatchString(name) {
			return fmt.Errorf("envsubst error: '%s' var name is invalid, must match '%s'", name, varNameRegex)
		}
	}
	data, err := yaml.Marshal(object.Object)
	if err != nil {
		return err
	}
	output, err := envsubst.Eval(string(data), func(s string) (string, bool) { return vars[s], true })
	if err != nil {
		return fmt.Errorf("post build failed for '%s': envsubst error: variable substitution failed: %w", objectName(object.Object), err)
	}
	var substituted map[string]interface{}
	if err := yaml.Unmarshal([]byte(output), &substituted); err != nil {
		return fmt.Errorf("post build failed for '%s': %w", objectName(object.Object), err)
	}
	object.Object = substituted
	return nil
}

func objectName(object map[string]interface{}) string {
	metadata, _ := object["metadata"].(map[string]interface{})
	return fmt.Sprintf("%v/%v", object["kind"], metadata["name"])
}

func convert(value interface{}, into interface{}) error {
	if value == nil {
		return nil
	}
	data, err := json.Marshal(value)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, into)
}

func isLocalRelativePath(p string) bool {
	for _, prefix := range []string{"git::", "gh:", "ssh://", "https://", "http://", "git@", "github.com:", "github.com/"} {
		if len(prefix) < len(p) && strings.ToLower(p[:len(prefix)]) == prefix {
			return false
		}
	}
	return !path.IsAbs(p) && !path.IsAbs(strings.TrimPrefix(strings.ToLower(p), "file://"))
}

// setCommonMetadata is what kustomize-controller's apply does with spec.commonMetadata after the
// build (fluxcd/pkg/ssa/utils SetCommonMetadata): its labels and annotations set on every object's
// own metadata, over the values the object has; pod templates are left as they are.
func setCommonMetadata(object map[string]interface{}, common map[string]interface{}) {
	metadata, _ := object["metadata"].(map[string]interface{})
	if metadata == nil {
		metadata = map[string]interface{}{}
		object["metadata"] = metadata
	}
	for _, field := range []string{"labels", "annotations"} {
		entries, _ := common[field].(map[string]interface{})
		if len(entries) == 0 {
			continue
		}
		into, _ := metadata[field].(map[string]interface{})
		if into == nil {
			into = map[string]interface{}{}
			metadata[field] = into
		}
		for k, v := range entries {
			if text, ok := v.(string); ok {
				into[k] = text
			}
		}
	}
}
