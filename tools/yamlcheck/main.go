// Command yamlcheck decodes YAML as the appliers Parapet models do, for the differential test of
// Parapet's own decoding (test/engine/yaml-decoding.test.ts). It is a test tool: nothing at run
// time uses it. Stdin: a JSON array of file texts. Stdout: a JSON array, per file, of each
// reading's documents (JSON text, or the error that stopped the reading):
//
//   - sigs: what kubectl and Argo CD read. apimachinery's YAML reader splits the stream at `---`
//     lines and sigs.k8s.io/yaml turns each document into JSON (go-yaml v2's YAML 1.1 underneath).
//   - kyaml: kyaml's own decoding (kio.FromBytes, then RNode.Map), what kustomize's transformers
//     see (go-yaml v3 underneath, aliases and merge keys resolved by DeAnchor).
//   - kustomize: what Flux's kustomize-controller (and `kubectl apply -k`, and Argo CD's kustomize
//     source) sends to the cluster: a kustomization listing the file, built by the pinned kustomize
//     API, written out as YAML and read back with apimachinery's decoder, which is sigs.k8s.io/yaml.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/yaml"
)

type document struct {
	JSON  json.RawMessage `json:"json,omitempty"`
	Error string          `json:"error,omitempty"`
}

type reading struct {
	Documents []document `json:"documents"`
	// An error that stopped the whole reading (kustomize refuses the file as a whole).
	Error string `json:"error,omitempty"`
}

type result struct {
	Sigs      reading `json:"sigs"`
	Kyaml     reading `json:"kyaml"`
	Kustomize reading `json:"kustomize"`
}

func main() {
	var files []string
	if err := json.NewDecoder(bufio.NewReader(os.Stdin)).Decode(&files); err != nil {
		fail(err)
	}
	results := make([]result, 0, len(files))
	for _, text := range files {
		results = append(results, result{Sigs: sigsReading([]byte(text)), Kyaml: kyamlReading([]byte(text)), Kustomize: kustomizeReading([]byte(text))})
	}
	out := bufio.NewWriter(os.Stdout)
	if err := json.NewEncoder(out).Encode(results); err != nil {
		fail(err)
	}
	if err := out.Flush(); err != nil {
		fail(err)
	}
}

// sigsReading splits as kubectl's resource builder does and converts each part with sigs.k8s.io/yaml.
func sigsReading(text []byte) reading {
	r := reading{Documents: []document{}}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(text)))
	for {
		part, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return r
		}
		if err != nil {
			r.Error = err.Error()
			return r
		}
		converted, err := yaml.YAMLToJSON(part)
		if err != nil {
			r.Documents = append(r.Documents, document{Error: err.Error()})
			continue
		}
		r.Documents = append(r.Documents, document{JSON: converted})
	}
}

func kyamlReading(text []byte) reading {
	r := reading{Documents: []document{}}
	nodes, err := kio.FromBytes(text)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	for _, node := range nodes {
		m, err := node.Map()
		if err != nil {
			r.Documents = append(r.Documents, document{Error: err.Error()})
			continue
		}
		converted, err := json.Marshal(m)
		if err != nil {
			r.Documents = append(r.Documents, document{Error: err.Error()})
			continue
		}
		r.Documents = append(r.Documents, document{JSON: converted})
	}
	return r
}

func kustomizeReading(text []byte) reading {
	r := reading{Documents: []document{}}
	fs := filesys.MakeFsInMemory()
	if err := fs.WriteFile("/repo/manifest.yaml", text); err != nil {
		fail(err)
	}
	if err := fs.WriteFile("/repo/kustomization.yaml", []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- manifest.yaml\n")); err != nil {
		fail(err)
	}
	options := krusty.MakeDefaultOptions()
	resMap, err := krusty.MakeKustomizer(options).Run(fs, "/repo")
	if err != nil {
		r.Error = err.Error()
		return r
	}
	out, err := resMap.AsYaml()
	if err != nil {
		r.Error = err.Error()
		return r
	}
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		var object map[string]interface{}
		err := decoder.Decode(&object)
		if errors.Is(err, io.EOF) {
			return r
		}
		if err != nil {
			r.Documents = append(r.Documents, document{Error: err.Error()})
			return r
		}
		converted, err := json.Marshal(object)
		if err != nil {
			r.Documents = append(r.Documents, document{Error: err.Error()})
			continue
		}
		r.Documents = append(r.Documents, document{JSON: converted})
	}
}

func fail(err error) {
	os.Stderr.WriteString("yamlcheck: " + err.Error() + "\n")
	os.Exit(2)
}
