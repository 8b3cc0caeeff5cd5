// Argo CD's kustomize options that a Flux Kustomization has no field for. Argo CD applies them to a
// copy of the folder's kustomization with `kustomize edit add label|annotation` and `kustomize edit
// set replicas` before it builds (argo-cd util/kustomize Build); these follow those commands
// (kustomize/v5 commands/edit/add/addmetadata.go, commands/edit/set/setreplicas.go).
package main

import (
	"fmt"
	"sort"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

type argoEdits struct {
	CommonLabels           map[string]string `json:"commonLabels,omitempty"`
	CommonAnnotations      map[string]string `json:"commonAnnotations,omitempty"`
	ForceCommonLabels      bool              `json:"forceCommonLabels,omitempty"`
	ForceCommonAnnotations bool              `json:"forceCommonAnnotations,omitempty"`
	LabelWithoutSelector   bool              `json:"labelWithoutSelector,omitempty"`
	LabelIncludeTemplates  bool              `json:"labelIncludeTemplates,omitempty"`
	Replicas               []types.Replica   `json:"replicas,omitempty"`
}

func applyArgoEdits(content []byte, edits *argoEdits) ([]byte, error) {
	kus := types.Kustomization{}
	if err := yaml.Unmarshal(content, &kus); err != nil {
		return nil, err
	}
	if len(edits.Replicas) > 0 {
		byName := map[string]types.Replica{}
		for _, r := range edits.Replicas {
			byName[r.Name] = r
		}
		for _, r := range kus.Replicas {
			if _, ok := byName[r.Name]; !ok {
				byName[r.Name] = r
			}
		}
		kus.Replicas = kus.Replicas[:0]
		for _, r := range byName {
			kus.Replicas = append(kus.Replicas, r)
		}
		sort.Slice(kus.Replicas, func(i, j int) bool { return kus.Replicas[i].Name < kus.Replicas[j].Name })
	}
	if len(edits.CommonLabels) > 0 {
		if edits.LabelWithoutSelector {
			if err := addLabelsWithoutSelector(&kus, edits); err != nil {
				return nil, err
			}
		} else {
			if kus.CommonLabels == nil {
				kus.CommonLabels = map[string]string{}
			}
			if err := addEntries(kus.CommonLabels, edits.CommonLabels, "label", edits.ForceCommonLabels); err != nil {
				return nil, err
			}
		}
	}
	if len(edits.CommonAnnotations) > 0 {
		if kus.CommonAnnotations == nil {
			kus.CommonAnnotations = map[string]string{}
		}
		if err := addEntries(kus.CommonAnnotations, edits.CommonAnnotations, "annotation", edits.ForceCommonAnnotations); err != nil {
			return nil, err
		}
	}
	return yaml.Marshal(kus)
}

// addEntries is writeToMap: a key the kustomization already has is an error unless forced.
func addEntries(into, entries map[string]string, kind string, force bool) error {
	for _, k := range sortedKeys(entries) {
		if _, ok := into[k]; ok && !force {
			return fmt.Errorf("%s %s already in kustomization file. Use --force to override.", kind, k)
		}
		into[k] = entries[k]
	}
	return nil
}

// addLabelsWithoutSelector is writeToLabels: the pairs go into the `labels` entry with the same
// settings (no selectors, templates as asked), a new one when there is none.
func addLabelsWithoutSelector(kus *types.Kustomization, edits *argoEdits) error {
	index := -1
	for i, l := range kus.Labels {
		if !l.IncludeSelectors && l.IncludeTemplates == edits.LabelIncludeTemplates {
			index = i
			break
		}
	}
	if index < 0 {
		kus.Labels = append(kus.Labels, types.Label{Pairs: map[string]string{}, IncludeTemplates: edits.LabelIncludeTemplates})
		index = len(kus.Labels) - 1
	}
	if kus.Labels[index].Pairs == nil {
		kus.Labels[index].Pairs = map[string]string{}
	}
	return addEntries(kus.Labels[index].Pairs, edits.CommonLabels, "label", edits.ForceCommonLabels)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
