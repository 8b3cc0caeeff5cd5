package main

// The render cache (src/renderer/render-cache.ts) reuses a build's output while every input it
// read is unchanged. What a build reads is not knowable from its request: kustomize follows
// resources, components, patches and generators' files, Flux lists folders, Helm walks charts. So
// every request runs over this filesystem, which records each path the build looked at and how.

import (
	"path"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// A path the build looked at, repository-relative ("" for the repository's root), and how:
// "file" read its content, "stat" asked whether it exists and is a folder, "list" listed the names
// in the folder, "tree" walked every file below it.
type read struct {
	Op   string `json:"op"`
	Path string `json:"path"`
}

type recordingFs struct {
	filesys.FileSystem
	seen  map[read]bool
	reads []read
}

func newRecordingFs(fs filesys.FileSystem) *recordingFs {
	return &recordingFs{FileSystem: fs, seen: map[read]bool{}}
}

// record keeps paths inside the repository only: outside it the filesystem holds nothing but the
// repository's own folder, whatever the tree.
func (r *recordingFs) record(op, name string) {
	clean := path.Clean(name)
	var rel string
	switch {
	case clean == repoRoot:
		rel = ""
	case strings.HasPrefix(clean, repoRoot+"/"):
		rel = strings.TrimPrefix(clean, repoRoot+"/")
	default:
		return
	}
	entry := read{Op: op, Path: rel}
	if !r.seen[entry] {
		r.seen[entry] = true
		r.reads = append(r.reads, entry)
	}
}

func (r *recordingFs) Open(name string) (filesys.File, error) {
	r.record("file", name)
	return r.FileSystem.Open(name)
}

func (r *recordingFs) ReadFile(name string) ([]byte, error) {
	r.record("file", name)
	return r.FileSystem.ReadFile(name)
}

func (r *recordingFs) IsDir(name string) bool {
	r.record("stat", name)
	return r.FileSystem.IsDir(name)
}

func (r *recordingFs) Exists(name string) bool {
	r.record("stat", name)
	return r.FileSystem.Exists(name)
}

func (r *recordingFs) CleanedAbs(name string) (filesys.ConfirmedDir, string, error) {
	r.record("stat", name)
	return r.FileSystem.CleanedAbs(name)
}

func (r *recordingFs) ReadDir(name string) ([]string, error) {
	r.record("list", name)
	return r.FileSystem.ReadDir(name)
}

// Glob's matches depend on every folder its pattern can reach: the whole tree below the pattern's
// last folder without a wildcard.
func (r *recordingFs) Glob(pattern string) ([]string, error) {
	dir := pattern
	for strings.ContainsAny(dir, "*?[\\") {
		dir = path.Dir(dir)
	}
	r.record("tree", dir)
	return r.FileSystem.Glob(pattern)
}

// Walk's callbacks see each entry's FileInfo, so the walked tree's names and kinds are inputs; the
// files the callback reads are recorded as it reads them (through this filesystem, when it does).
func (r *recordingFs) Walk(name string, walkFn filepath.WalkFunc) error {
	r.record("tree", name)
	return r.FileSystem.Walk(name, walkFn)
}
