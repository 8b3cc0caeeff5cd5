// Charts from a Helm repository (an HTTP(S) index) or an OCI registry, fetched with Helm's own
// code as `helm pull` fetches them (pkg/repo's index and pkg/getter for HTTP, pkg/registry for OCI),
// the version resolved as Flux's source-controller and Argo CD resolve it (an exact version first,
// else the newest that satisfies the semver range; the newest when none is given). Each archive is
// kept in the user's cache by repository URL, chart and resolved version, so an exact version is
// rendered again without a request. The network is reached here only: the rest of the process keeps
// the refusing default transport, and no credentials are read (no Helm or Docker config, no env).
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"
)

// remoteChart names a chart outside the repository.
type remoteChart struct {
	// https://host/path (a Helm repository) or oci://host/path (a registry; the chart is appended).
	URL   string `json:"url"`
	Chart string `json:"chart"`
	// A version or a semver range; empty: the newest.
	Version string `json:"version,omitempty"`
	// OCI over plain HTTP (Flux's `insecure: true`).
	PlainHTTP bool `json:"plainHTTP,omitempty"`
	// Where archives are kept; empty: not kept.
	CacheDir  string `json:"cacheDir,omitempty"`
	TimeoutMs int    `json:"timeoutMs,omitempty"`
	// Largest response read (index or archive), in bytes.
	MaxBytes int64 `json:"maxBytes,omitempty"`
}

// fetched says which chart was rendered.
type fetched struct {
	Version string `json:"version"`
	Digest  string `json:"digest,omitempty"`
	Cached  bool   `json:"cached,omitempty"`
}

// fetchFailure is why a chart could not be fetched: a notice, not an error in the repository.
type fetchFailure struct {
	// unreachable | timeout | not-found | auth | too-large | digest | invalid
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func (f *fetchFailure) Error() string { return f.Message }

const (
	defaultFetchTimeout = 20 * time.Second
	defaultMaxBytes     = 50 << 20
)

func fetchChart(rc remoteChart) (*chart.Chart, *fetched, *fetchFailure) {
	timeout := defaultFetchTimeout
	if rc.TimeoutMs > 0 {
		timeout = time.Duration(rc.TimeoutMs) * time.Millisecond
	}
	maxBytes := rc.MaxBytes
	if maxBytes <= 0 {
		maxBytes = defaultMaxBytes
	}
	transport := cappedTransport(maxBytes)
	oci := registry.IsOCI(rc.URL)
	if !oci && !strings.HasPrefix(rc.URL, "http://") && !strings.HasPrefix(rc.URL, "https://") {
		return nil, nil, &fetchFailure{Reason: "invalid", Message: fmt.Sprintf("%s is neither an http(s):// Helm repository nor an oci:// registry", rc.URL)}
	}
	// An exact version already fetched needs no request: a published version does not change.
	if _, err := semver.StrictNewVersion(strings.TrimPrefix(rc.Version, "v")); err == nil && rc.Version != "" {
		if c, f := fromCache(rc, rc.Version); c != nil {
			return c, f, nil
		}
	}
	if oci {
		return fetchOCI(rc, transport, timeout)
	}
	return fetchHTTP(rc, transport, timeout)
}

func fetchHTTP(rc remoteChart, transport *http.Transport, timeout time.Duration) (*chart.Chart, *fetched, *fetchFailure) {
	get, err := getter.NewHTTPGetter(getter.WithURL(rc.URL), getter.WithTimeout(timeout), getter.WithTransport(transport))
	if err != nil {
		return nil, nil, &fetchFailure{Reason: "invalid", Message: err.Error()}
	}
	httpGet := func(href string) ([]byte, error) {
		buf, err := get.Get(href)
		if err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	indexURL, err := repo.ResolveReferenceURL(rc.URL, "index.yaml")
	if err != nil {
		return nil, nil, &fetchFailure{Reason: "invalid", Message: err.Error()}
	}
	data, err := httpGet(indexURL)
	if err != nil {
		return nil, nil, classify(fmt.Sprintf("fetching the repository index %s", indexURL), err)
	}
	index, err := loadIndex(data)
	if err != nil {
		return nil, nil, &fetchFailure{Reason: "invalid", Message: fmt.Sprintf("the repository index %s cannot be read: %v", indexURL, err)}
	}
	cv, err := index.Get(rc.Chart, rc.Version)
	if err != nil {
		if errors.Is(err, repo.ErrNoChartName) {
			return nil, nil, &fetchFailure{Reason: "not-found", Message: fmt.Sprintf("the repository index %s has no chart %s", indexURL, rc.Chart)}
		}
		return nil, nil, &fetchFailure{Reason: "not-found", Message: fmt.Sprintf("the repository index %s has no version of %s matching %q", indexURL, rc.Chart, rc.Version)}
	}
	if c, f := fromCache(rc, cv.Version); c != nil {
		return c, f, nil
	}
	if len(cv.URLs) == 0 {
		return nil, nil, &fetchFailure{Reason: "invalid", Message: fmt.Sprintf("%s %s has no download URL in %s", rc.Chart, cv.Version, indexURL)}
	}
	archiveURL, err := repo.ResolveReferenceURL(rc.URL, cv.URLs[0])
	if err != nil {
		return nil, nil, &fetchFailure{Reason: "invalid", Message: err.Error()}
	}
	archive, err := httpGet(archiveURL)
	if err != nil {
		return nil, nil, classify(fmt.Sprintf("fetching %s", archiveURL), err)
	}
	sum := sha256.Sum256(archive)
	digest := hex.EncodeToString(sum[:])
	if cv.Digest != "" && !strings.EqualFold(strings.TrimPrefix(cv.Digest, "sha256:"), digest) {
		return nil, nil, &fetchFailure{Reason: "digest", Message: fmt.Sprintf("%s has digest sha256:%s, the repository index says %s", archiveURL, digest, cv.Digest)}
	}
	return loaded(rc, cv.Version, archive, "sha256:"+digest)
}

func fetchOCI(rc remoteChart, transport *http.Transport, timeout time.Duration) (*chart.Chart, *fetched, *fetchFailure) {
	opts := []registry.ClientOption{
		registry.ClientOptHTTPClient(&http.Client{Transport: transport, Timeout: timeout}),
		// No login of this machine's Helm or Docker is used for a repository's chart.
		registry.ClientOptCredentialsFile(filepath.Join(os.TempDir(), "parapet-no-registry-credentials.json")),
	}
	if rc.PlainHTTP {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	client, err := registry.NewClient(opts...)
	if err != nil {
		return nil, nil, &fetchFailure{Reason: "invalid", Message: err.Error()}
	}
	ref := strings.TrimSuffix(strings.TrimPrefix(rc.URL, "oci://"), "/")
	if rc.Chart != "" {
		ref += "/" + rc.Chart
	}
	tags, err := client.Tags(ref)
	if err != nil {
		return nil, nil, classify(fmt.Sprintf("listing the tags of %s", ref), err)
	}
	tag, err := registry.GetTagMatchingVersionOrConstraint(tags, rc.Version)
	if err != nil {
		return nil, nil, &fetchFailure{Reason: "not-found", Message: fmt.Sprintf("%s has no tag matching %q", ref, rc.Version)}
	}
	if c, f := fromCache(rc, tag); c != nil {
		return c, f, nil
	}
	result, err := client.Pull(ref + ":" + tag)
	if err != nil {
		return nil, nil, classify(fmt.Sprintf("pulling %s:%s", ref, tag), err)
	}
	// oras verified every blob against the digest its manifest names.
	return loaded(rc, tag, result.Chart.Data, result.Chart.Digest)
}

func loaded(rc remoteChart, version string, archive []byte, digest string) (*chart.Chart, *fetched, *fetchFailure) {
	c, err := loader.LoadArchive(bytes.NewReader(archive))
	if err != nil {
		return nil, nil, &fetchFailure{Reason: "invalid", Message: fmt.Sprintf("the archive of %s %s cannot be loaded: %v", rc.Chart, version, err)}
	}
	if rc.CacheDir != "" {
		// Written whole then renamed: a concurrent check never reads half an archive.
		if err := os.MkdirAll(rc.CacheDir, 0o755); err == nil {
			if tmp, err := os.CreateTemp(rc.CacheDir, ".fetch-*"); err == nil {
				_, werr := tmp.Write(archive)
				cerr := tmp.Close()
				if werr == nil && cerr == nil {
					_ = os.Rename(tmp.Name(), cachePath(rc, version))
				} else {
					_ = os.Remove(tmp.Name())
				}
			}
		}
	}
	return c, &fetched{Version: version, Digest: digest}, nil
}

func fromCache(rc remoteChart, version string) (*chart.Chart, *fetched) {
	if rc.CacheDir == "" {
		return nil, nil
	}
	archive, err := os.ReadFile(cachePath(rc, version))
	if err != nil {
		return nil, nil
	}
	c, err := loader.LoadArchive(bytes.NewReader(archive))
	if err != nil {
		return nil, nil
	}
	sum := sha256.Sum256(archive)
	return c, &fetched{Version: version, Digest: "sha256:" + hex.EncodeToString(sum[:]), Cached: true}
}

// cachePath keys an archive by repository URL, chart and resolved version.
func cachePath(rc remoteChart, version string) string {
	sum := sha256.Sum256([]byte(strings.TrimSuffix(rc.URL, "/") + "\n" + rc.Chart + "\n" + version))
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, rc.Chart+"-"+version)
	if name == "" || strings.HasPrefix(name, ".") {
		name = "chart" + name
	}
	return filepath.Join(rc.CacheDir, hex.EncodeToString(sum[:8])+"-"+name+".tgz")
}

// loadIndex reads an index as Helm's repo.LoadIndexFile does (entries sorted, invalid ones skipped).
func loadIndex(data []byte) (*repo.IndexFile, error) {
	tmp, err := os.CreateTemp("", "parapet-index-*.yaml")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	return repo.LoadIndexFile(tmp.Name())
}

type tooLarge struct{ max int64 }

func (e *tooLarge) Error() string { return fmt.Sprintf("the response is larger than %d bytes", e.max) }

// An HTTP status in the words of Helm's getter ("failed to fetch URL : 404 Not Found") and of oras
// ("response status code 401: unauthorized").
var statusCode = regexp.MustCompile(`(?: : |status code )(\d{3})\b`)

// classify names why a fetch failed in the words a person acts on.
func classify(what string, err error) *fetchFailure {
	var large *tooLarge
	var dns *net.DNSError
	var netErr net.Error
	text := err.Error()
	code := 0
	if m := statusCode.FindStringSubmatch(text); m != nil {
		code, _ = strconv.Atoi(m[1])
	}
	switch {
	case errors.As(err, &large), strings.Contains(text, "the response is larger than"):
		return &fetchFailure{Reason: "too-large", Message: fmt.Sprintf("%s: the response is larger than the limit", what)}
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return &fetchFailure{Reason: "auth", Message: fmt.Sprintf("%s: the repository requires credentials (HTTP %d)", what, code)}
	// oras answers a 401 challenge it has no credential for with this, before any status is seen.
	case strings.Contains(text, "credential not found"):
		return &fetchFailure{Reason: "auth", Message: fmt.Sprintf("%s: the repository requires credentials (HTTP 401)", what)}
	case code == http.StatusNotFound:
		return &fetchFailure{Reason: "not-found", Message: fmt.Sprintf("%s: not found (HTTP 404)", what)}
	case errors.As(err, &dns):
		return &fetchFailure{Reason: "unreachable", Message: fmt.Sprintf("%s: the host %s cannot be resolved", what, dns.Name)}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &fetchFailure{Reason: "unreachable", Message: fmt.Sprintf("%s: the connection was refused", what)}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout(), strings.Contains(text, "Client.Timeout exceeded"):
		return &fetchFailure{Reason: "timeout", Message: fmt.Sprintf("%s: no answer in time", what)}
	case code != 0:
		return &fetchFailure{Reason: "unreachable", Message: fmt.Sprintf("%s: HTTP %d", what, code)}
	}
	return &fetchFailure{Reason: "unreachable", Message: fmt.Sprintf("%s: %v", what, err)}
}

// cappedTransport is a transport whose every connection stops reading past max bytes: Helm's getter
// takes an *http.Transport, not a client, so the cap sits below it. One request per connection, so
// the cap is per response (the index and an archive are each read whole).
func cappedTransport(max int64) *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Transport{
		DisableCompression: true,
		DisableKeepAlives:  true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &cappedConn{Conn: conn, left: max, max: max}, nil
		},
	}
}

type cappedConn struct {
	net.Conn
	left, max int64
}

func (c *cappedConn) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, &tooLarge{max: c.max}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.Conn.Read(p)
	c.left -= int64(n)
	return n, err
}
