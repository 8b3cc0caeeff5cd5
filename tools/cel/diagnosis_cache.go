package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// diagnosisCache keeps what diagnose found for each template text on disk. diagnose compiles every
// expression a second time (the driver compiles them too but keeps the errors to itself), which is
// half the work of loading a template, and a warm check loads the same templates as the last one.
// Parapet names the folder (PARAPET_CEL_CACHE_DIR, beside its compiled Rego); an entry is keyed by
// the template's bytes and this binary (its size and time), so a rebuilt helper never reads another
// build's answers. The cache is best effort: an entry that cannot be read or written is compiled.
type diagnosisCache struct {
	dir    string
	binary string
}

type diagnosis struct {
	Problems []problem `json:"problems"`
	Prefixes []string  `json:"prefixes"`
}

// newDiagnosisCache is nil (no cache) when Parapet gave no folder.
func newDiagnosisCache(dir string) *diagnosisCache {
	if dir == "" {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	info, err := os.Stat(exe)
	if err != nil {
		return nil
	}
	return &diagnosisCache{dir: dir, binary: fmt.Sprintf("%s %d %d", gatekeeperVersion(), info.Size(), info.ModTime().UnixNano())}
}

func (c *diagnosisCache) path(raw []byte) string {
	hash := sha256.New()
	hash.Write([]byte(c.binary))
	hash.Write([]byte{0})
	hash.Write(raw)
	return filepath.Join(c.dir, "diagnosis-"+hex.EncodeToString(hash.Sum(nil))+".json")
}

func (c *diagnosisCache) get(raw []byte) (diagnosis, bool) {
	var d diagnosis
	if c == nil {
		return d, false
	}
	data, err := os.ReadFile(c.path(raw))
	if err != nil || json.Unmarshal(data, &d) != nil || d.Problems == nil || d.Prefixes == nil {
		return diagnosis{}, false
	}
	return d, true
}

func (c *diagnosisCache) put(raw []byte, d diagnosis) {
	if c == nil {
		return
	}
	data, err := json.Marshal(d)
	if err != nil || os.MkdirAll(c.dir, 0o755) != nil {
		return
	}
	// Written aside and renamed: a check running at the same time reads a whole entry or none.
	target := c.path(raw)
	tmp, err := os.CreateTemp(c.dir, ".diagnosis-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), target) != nil {
		os.Remove(tmp.Name())
	}
}
