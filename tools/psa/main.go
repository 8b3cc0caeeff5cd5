// parapet-psa: Kubernetes' own Pod Security Admission checks (k8s.io/pod-security-admission, pinned in
// go.mod) as a test-only helper, so that Parapet's Pod Security Standards policies can be compared
// with the implementation the API server runs. It reads one JSON request on stdin,
//
//	{"versions": ["v1.25", "latest"], "objects": [{"apiVersion": "v1", "kind": "Pod", ...}, ...]}
//
// and writes one JSON answer on stdout: for each object, its kind and name, and for each version and
// level, the checks that fail ({"id", "reason", "detail"}), or the error that stopped it. Objects are
// decoded and their Pod spec extracted as the admission plugin does (its DefaultPodSpecExtractor), so
// every workload kind PSA knows is judged through its Pod template.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/pod-security-admission/admission"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

type request struct {
	Versions []string          `json:"versions"`
	Objects  []json.RawMessage `json:"objects"`
}

type failure struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

type verdicts struct {
	Baseline   []failure `json:"baseline"`
	Restricted []failure `json:"restricted"`
}

type answer struct {
	Kind     string               `json:"kind,omitempty"`
	Name     string               `json:"name,omitempty"`
	Error    string               `json:"error,omitempty"`
	Versions map[string]*verdicts `json:"versions,omitempty"`
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "parapet-psa: %v\n", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	var req request
	if err := json.NewDecoder(in).Decode(&req); err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	versions := make(map[string]api.Version, len(req.Versions))
	for _, text := range req.Versions {
		version, err := api.ParseVersion(text)
		if err != nil {
			return fmt.Errorf("version %q: %w", text, err)
		}
		versions[text] = version
	}
	// Each check's functions are wrapped to note the failures with the check's ID (a CheckResult
	// carries none); which checks run at a level and version stays the registry's own decision.
	var failed []failure
	checks := policy.DefaultChecks()
	for i := range checks {
		id := string(checks[i].ID)
		versions := make([]policy.VersionedCheck, len(checks[i].Versions))
		for j, versioned := range checks[i].Versions {
			check := versioned.CheckPod
			versioned.CheckPod = func(meta *metav1.ObjectMeta, spec *corev1.PodSpec) policy.CheckResult {
				result := check(meta, spec)
				if !result.Allowed {
					failed = append(failed, failure{ID: id, Reason: result.ForbiddenReason, Detail: result.ForbiddenDetail})
				}
				return result
			}
			versions[j] = versioned
		}
		checks[i].Versions = versions
	}
	evaluator, err := policy.NewEvaluator(checks, nil)
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	decoder := serializer.NewCodecFactory(scheme).UniversalDeserializer()
	extractor := admission.DefaultPodSpecExtractor{}

	answers := make([]answer, 0, len(req.Objects))
	for _, raw := range req.Objects {
		obj, gvk, err := decoder.Decode(raw, nil, nil)
		if err != nil {
			answers = append(answers, answer{Error: err.Error()})
			continue
		}
		a := answer{Kind: gvk.Kind, Versions: map[string]*verdicts{}}
		if accessor, ok := obj.(interface{ GetName() string }); ok {
			a.Name = accessor.GetName()
		}
		meta, spec, err := extractor.ExtractPodSpec(obj)
		if err != nil {
			a.Error = err.Error()
			answers = append(answers, a)
			continue
		}
		for text, version := range versions {
			v := &verdicts{}
			for _, level := range []api.Level{api.LevelBaseline, api.LevelRestricted} {
				failed = []failure{}
				results := evaluator.EvaluatePod(api.LevelVersion{Level: level, Version: version}, meta, spec)
				if policy.AggregateCheckResults(results).Allowed != (len(failed) == 0) {
					return fmt.Errorf("%s %s: the wrapped checks disagree with the evaluator", a.Kind, a.Name)
				}
				if level == api.LevelBaseline {
					v.Baseline = failed
				} else {
					v.Restricted = failed
				}
			}
			a.Versions[text] = v
		}
		answers = append(answers, a)
	}
	return json.NewEncoder(out).Encode(answers)
}
