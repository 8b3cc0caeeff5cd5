// parapet-cel evaluates the K8sNativeValidation (CEL) code of ConstraintTemplates with Gatekeeper's
// own k8scel driver, the one the cluster and gator run, so verdicts and messages are Gatekeeper's by
// construction. Parapet starts one per check (or App process) and speaks JSON lines on stdio: every
// request line gets exactly one response line, in order.
//
//	{"op":"version"}                                   -> {"gatekeeper":"v3.23.1"}
//	{"op":"load","id":1,"template":{...}}              -> {"problems":[{"path":[...],"message":"..."}]} | {"error":"..."}
//	{"op":"constraint","id":2,"constraint":{...}}      -> {} | {"error":"..."}
//	{"op":"evaluate","reviews":[{...}],"tasks":[[template,constraint,review],...]}
//	                                                   -> {"outcomes":[{"results":[{"msg":"...","error":true}]} | {"error":"..."}]}
//	{"op":"release","templates":[1],"constraints":[2]} -> {}
//	{"op":"builtin","name":"...","args":["..."]}      -> builtin.go
//	{"op":"parse","name":"template.rego","text":"...","regoVersion":"v0"}
//	                                                   -> {"module":{...}} | {"error":"..."} (parse.go)
//
// PARAPET_CEL_CPUPROFILE=<file> writes a CPU profile of the whole session there when stdin ends.
//
// A review is the JSON of an admission/v1 AdmissionRequest plus `namespaceObject`, as Gatekeeper's
// target builds it. A load's problems are expressions that do not compile: Gatekeeper accepts such a
// template and fails every evaluation with the compile error, so the template is still loaded.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"

	"github.com/open-policy-agent/frameworks/constraint/pkg/apis"
	"github.com/open-policy-agent/frameworks/constraint/pkg/client/reviews"
	"github.com/open-policy-agent/frameworks/constraint/pkg/core/templates"
	"github.com/open-policy-agent/gatekeeper/v3/pkg/drivers/k8scel"
	celschema "github.com/open-policy-agent/gatekeeper/v3/pkg/drivers/k8scel/schema"
	"github.com/open-policy-agent/gatekeeper/v3/pkg/drivers/k8scel/transform"
	"github.com/open-policy-agent/gatekeeper/v3/pkg/gator/reader"
	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/cel/environment"
)

// The target Gatekeeper's K8sValidationTarget answers for; the driver copies it into results.
const target = "admission.k8s.gatekeeper.sh"

// Texts of the driver's evaluation errors that carry no expression (apiserver's cel/activation.go,
// policy/validating/validator.go). Together with "expression '<one of the template's>' resulted in
// error: " and the compile errors they tell a failed evaluation from a denial, which Gatekeeper's
// results do not (both are deny decisions with a message).
var budgetErrors = []string{
	"validation failed due to running out of cost budget, no further validation rules will be run",
	"runtime cost could not be calculated for expression: ",
	"failed messageExpression: ",
}

var scheme = func() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	if err := apis.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}()

type template struct {
	ct *templates.ConstraintTemplate
	// Index of the driver that holds it.
	driver int
	// Prefixes of the messages that are evaluation errors rather than the template's denials.
	errorPrefixes []string
	// Whether any expression names namespaceObject, the only way CEL reaches the Namespace.
	readsNamespace bool
}

// driver is one k8scel driver and the template names it holds. The driver keys templates by name
// (and finds a constraint's by its kind), so two loaded templates of one name, from checks that
// run at once, go to different drivers; a check's own templates, whose names differ, share one,
// and a review is then one Query for all its constraints, as Gatekeeper's client asks it.
type driver struct {
	k8scel *k8scel.Driver
	names  map[string]bool
}

type helper struct {
	templates   map[int]*template
	constraints map[int]*unstructured.Unstructured
	drivers     []*driver
	diagnoses   *diagnosisCache
}

type request struct {
	Op          string            `json:"op"`
	ID          int               `json:"id"`
	Template    json.RawMessage   `json:"template"`
	Constraint  json.RawMessage   `json:"constraint"`
	Reviews     []json.RawMessage `json:"reviews"`
	Tasks       [][3]int          `json:"tasks"`
	Templates   []int             `json:"templates"`
	Constraints []int             `json:"constraints"`
	Name        string            `json:"name"`
	Text        string            `json:"text"`
	RegoVersion string            `json:"regoVersion"`
	Args        []string          `json:"args"`
	TimeoutMs   int               `json:"timeoutMs"`
}

type problem struct {
	Path    []interface{} `json:"path"`
	Message string        `json:"message"`
}

type result struct {
	Msg   string `json:"msg"`
	Error bool   `json:"error,omitempty"`
}

type outcome struct {
	Results []result `json:"results"`
	Error   string   `json:"error,omitempty"`
}

func main() {
	os.Exit(serve())
}

// serve answers requests until stdin ends and returns the exit code, after its deferred work (the
// CPU profile) is done.
func serve() int {
	// The heap is small (templates, constraints, one batch) and short-lived: collecting less often
	// saves a third of the CPU that evaluating costs. GOGC, when set, is the runtime's to apply, so
	// other settings can be measured against this one.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	// For `go tool pprof`: where the helper's CPU goes over a whole check, as Parapet drives it.
	if path := os.Getenv("PARAPET_CEL_CPUPROFILE"); path != "" {
		stop, err := startCPUProfile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "parapet-cel: PARAPET_CEL_CPUPROFILE:", err)
			return 1
		}
		defer stop()
	}
	h := &helper{templates: map[int]*template{}, constraints: map[int]*unstructured.Unstructured{}, diagnoses: newDiagnosisCache(os.Getenv("PARAPET_CEL_CACHE_DIR"))}
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 {
			response := h.handle(line)
			encoded, merr := json.Marshal(response)
			if merr != nil {
				encoded, _ = json.Marshal(map[string]string{"error": merr.Error()})
			}
			out.Write(encoded)
			out.WriteByte('\n')
			if in.Buffered() == 0 {
				out.Flush()
			}
		}
		if err != nil {
			out.Flush()
			if errors.Is(err, io.EOF) {
				return 0
			}
			fmt.Fprintln(os.Stderr, "parapet-cel: reading requests:", err)
			return 1
		}
	}
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func (h *helper) handle(line []byte) (response interface{}) {
	defer func() {
		// A panic in the driver is a bug to report with the request that caused it, not a crash
		// that loses every other request of the check.
		if p := recover(); p != nil {
			response = map[string]string{"error": fmt.Sprintf("internal error: %v\n%s", p, debug.Stack())}
		}
	}()
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return map[string]string{"error": "malformed request: " + err.Error()}
	}
	switch req.Op {
	case "version":
		return map[string]string{"gatekeeper": gatekeeperVersion()}
	case "parse":
		return parseModule(req.Name, req.Text, req.RegoVersion)
	case "load":
		problems, err := h.load(req.ID, req.Template)
		if err != nil {
			return map[string]string{"error": err.Error()}
		}
		return map[string]interface{}{"problems": problems}
	case "constraint":
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(req.Constraint); err != nil {
			return map[string]string{"error": "reading the constraint: " + err.Error()}
		}
		h.constraints[req.ID] = u
		return struct{}{}
	case "builtin":
		return callBuiltin(req.Name, req.Args, req.TimeoutMs)
	case "evaluate":
		return map[string]interface{}{"outcomes": h.evaluate(req.Reviews, req.Tasks)}
	case "release":
		for _, id := range req.Templates {
			if t := h.templates[id]; t != nil {
				d := h.drivers[t.driver]
				if err := d.k8scel.RemoveTemplate(context.Background(), t.ct); err != nil {
					return map[string]string{"error": err.Error()}
				}
				delete(d.names, t.ct.GetName())
			}
			delete(h.templates, id)
		}
		for _, id := range req.Constraints {
			delete(h.constraints, id)
		}
		return struct{}{}
	default:
		return map[string]string{"error": fmt.Sprintf("unknown op %q", req.Op)}
	}
}

func gatekeeperVersion() string {
	return moduleVersion("github.com/open-policy-agent/gatekeeper/v3")
}

func moduleVersion(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == path {
				return dep.Version
			}
		}
	}
	return "unknown"
}

// load converts the template as gator does and adds it to the first driver that holds no template
// of its name.
func (h *helper) load(id int, raw json.RawMessage) ([]problem, error) {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("reading the template: %w", err)
	}
	ct, err := reader.ToTemplate(scheme, u)
	if err != nil {
		return nil, err
	}
	index := 0
	for index < len(h.drivers) && h.drivers[index].names[ct.GetName()] {
		index++
	}
	if index == len(h.drivers) {
		d, err := k8scel.New()
		if err != nil {
			return nil, err
		}
		h.drivers = append(h.drivers, &driver{k8scel: d, names: map[string]bool{}})
	}
	d := h.drivers[index]
	if err := d.k8scel.AddTemplate(context.Background(), ct); err != nil {
		return nil, err
	}
	d.names[ct.GetName()] = true
	found, cached := h.diagnoses.get(raw)
	if !cached {
		found.Problems, found.Prefixes = diagnose(ct)
		h.diagnoses.put(raw, found)
	}
	h.templates[id] = &template{ct: ct, driver: index, errorPrefixes: found.Prefixes, readsNamespace: readsNamespace(ct)}
	return found.Problems, nil
}

// diagnose compiles each expression the way the driver's AddTemplate does (same environment, same
// variables, same options), because the driver keeps compile errors to itself until evaluation.
func diagnose(ct *templates.ConstraintTemplate) ([]problem, []string) {
	problems := []problem{}
	prefixes := append([]string{}, budgetErrors...)
	source, err := celschema.GetSourceFromTemplate(ct)
	if err != nil {
		return problems, prefixes
	}
	codeIndex := 0
	for i, code := range ct.Spec.Targets[0].Code {
		if code.Engine == celschema.Name {
			codeIndex = i
			break
		}
	}
	at := func(field string, i int, key string) []interface{} {
		return []interface{}{"spec", "targets", 0, "code", codeIndex, "source", field, i, key}
	}
	compiler, err := cel.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	if err != nil {
		return append(problems, problem{Message: err.Error()}), prefixes
	}
	expression := func(e string) {
		prefixes = append(prefixes, fmt.Sprintf("expression '%v' resulted in error: ", e))
	}
	report := func(path []interface{}, result cel.CompilationResult) {
		if result.Error != nil {
			problems = append(problems, problem{Path: path, Message: result.Error.Error()})
			prefixes = append(prefixes, "compilation error: ")
		}
	}
	withParams := cel.OptionalVariableDeclarations{HasParams: true}
	for _, v := range transform.AllVariablesCEL() {
		compiler.CompileAndStoreVariable(v, withParams, environment.StoredExpressions)
	}
	for i, v := range source.Variables {
		expression(v.Expression)
		report(at("variables", i, "expression"), compiler.CompileAndStoreVariable(&validating.Variable{Name: v.Name, Expression: v.Expression}, withParams, environment.StoredExpressions))
	}
	plain := cel.OptionalVariableDeclarations{}
	for i, m := range source.MatchConditions {
		expression(m.Expression)
		report(at("matchCondition", i, "expression"), compiler.CompileCELExpression(&matchconditions.MatchCondition{Name: m.Name, Expression: m.Expression}, plain, environment.StoredExpressions))
	}
	for i, v := range source.Validations {
		expression(v.Expression)
		report(at("validations", i, "expression"), compiler.CompileCELExpression(&validating.ValidationCondition{Expression: v.Expression, Message: v.Message}, plain, environment.StoredExpressions))
		if v.MessageExpression != "" {
			report(at("validations", i, "messageExpression"), compiler.CompileCELExpression(&validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}, plain, environment.StoredExpressions))
		}
	}
	return problems, prefixes
}

// readsNamespace tells whether the template's CEL names namespaceObject. The driver converts the
// Namespace for every validation it evaluates; when no expression can read it, leaving it out
// changes no result and saves that work.
func readsNamespace(ct *templates.ConstraintTemplate) bool {
	source, err := celschema.GetSourceFromTemplate(ct)
	if err != nil {
		return true
	}
	var expressions []string
	for _, v := range source.Variables {
		expressions = append(expressions, v.Expression)
	}
	for _, m := range source.MatchConditions {
		expressions = append(expressions, m.Expression)
	}
	for _, v := range source.Validations {
		expressions = append(expressions, v.Expression, v.MessageExpression)
	}
	for _, e := range expressions {
		if strings.Contains(e, "namespaceObject") {
			return true
		}
	}
	return false
}

// review is what Gatekeeper's target hands the driver: the AdmissionRequest, and the Namespace that
// the webhook and audit pass along (reviews.Namespace) for CEL's namespaceObject.
type review struct {
	admissionv1.AdmissionRequest
	NamespaceObject map[string]interface{} `json:"namespaceObject,omitempty"`
}

func (r *review) GetAdmissionRequest() *admissionv1.AdmissionRequest { return &r.AdmissionRequest }

// evaluate answers a batch: tasks that share a review and a driver are one Query, as Gatekeeper's
// client asks its driver for all of a review's constraints at once; the queries run on every core.
func (h *helper) evaluate(rawReviews []json.RawMessage, tasks [][3]int) []outcome {
	outcomes := make([]outcome, len(tasks))
	parsed := make([]*review, len(rawReviews))
	parseErrors := make([]error, len(rawReviews))
	for i, raw := range rawReviews {
		r := &review{}
		parseErrors[i] = json.Unmarshal(raw, r)
		parsed[i] = r
	}
	type group struct {
		driver, review int
		tasks          []int
	}
	var groups []*group
	index := map[[2]int]*group{}
	for i, task := range tasks {
		t := h.templates[task[0]]
		if t == nil {
			outcomes[i] = outcome{Error: fmt.Sprintf("unknown template %d", task[0])}
			continue
		}
		key := [2]int{t.driver, task[2]}
		g := index[key]
		if g == nil {
			g = &group{driver: t.driver, review: task[2]}
			index[key] = g
			groups = append(groups, g)
		}
		g.tasks = append(g.tasks, i)
	}
	work := make(chan *group)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range work {
				h.query(g.driver, g.review, g.tasks, tasks, parsed, parseErrors, outcomes)
			}
		}()
	}
	for _, g := range groups {
		work <- g
	}
	close(work)
	wg.Wait()
	return outcomes
}

func (h *helper) query(driverIndex, reviewIndex int, group []int, tasks [][3]int, parsed []*review, parseErrors []error, outcomes []outcome) {
	fail := func(message string) {
		for _, i := range group {
			outcomes[i] = outcome{Error: message}
		}
	}
	defer func() {
		if p := recover(); p != nil {
			fail(fmt.Sprintf("internal error: %v\n%s", p, debug.Stack()))
		}
	}()
	if reviewIndex < 0 || reviewIndex >= len(parsed) {
		fail(fmt.Sprintf("unknown review %d", reviewIndex))
		return
	}
	if parseErrors[reviewIndex] != nil {
		fail("reading the review: " + parseErrors[reviewIndex].Error())
		return
	}
	constraints := make([]*unstructured.Unstructured, 0, len(group))
	for _, i := range group {
		c := h.constraints[tasks[i][1]]
		if c == nil {
			fail(fmt.Sprintf("unknown constraint %d", tasks[i][1]))
			return
		}
		constraints = append(constraints, c)
	}
	r := parsed[reviewIndex]
	needsNamespace := false
	for _, i := range group {
		needsNamespace = needsNamespace || h.templates[tasks[i][0]].readsNamespace
	}
	var opts []reviews.ReviewOpt
	if r.NamespaceObject != nil && needsNamespace {
		opts = append(opts, reviews.Namespace(r.NamespaceObject))
	}
	response, err := h.drivers[driverIndex].k8scel.Query(context.Background(), target, constraints, r, opts...)
	if err != nil {
		fail(err.Error())
		return
	}
	for _, i := range group {
		outcomes[i] = outcome{Results: []result{}}
	}
	for _, res := range response.Results {
		for k, c := range constraints {
			if res.Constraint == c {
				i := group[k]
				t := h.templates[tasks[i][0]]
				outcomes[i].Results = append(outcomes[i].Results, result{Msg: res.Msg, Error: t.isError(res.Msg)})
				break
			}
		}
	}
}

func (t *template) isError(message string) bool {
	for _, prefix := range t.errorPrefixes {
		if strings.HasPrefix(message, prefix) {
			return true
		}
	}
	return false
}
