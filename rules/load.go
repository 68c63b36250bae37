package rules

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Source is a directory of rule files: *.yaml and *.yml files, searched
// recursively, plus named lists in its lists/ subdirectory.
type Source struct {
	// FS holds the files.
	FS fs.FS
	// Dir is the directory inside FS ("." for its root).
	Dir string
	// Name prefixes file names in errors and alerts ("rules", "builtin").
	Name string
}

// DirSource is a Source for a directory on disk, named by its path.
func DirSource(dir string) Source {
	return Source{FS: os.DirFS(dir), Dir: ".", Name: path.Clean(strings.ReplaceAll(dir, `\`, "/"))}
}

// Set is a loaded, compiled set of rules with its lists and tests.
type Set struct {
	// Rules are sorted by ID.
	Rules []*Rule
	// Lists are the named lists, by name.
	Lists map[string]*List
	// Files are the rule files in load order, with their rules and tests.
	Files []*File

	byID map[string]*Rule
}

// File is one rule file.
type File struct {
	// Path is the file's name as shown to operators ("rules/ssh.yaml").
	Path  string
	Rules []*Rule
	Tests []*Test
}

// Rule returns the rule with the given ID, or nil.
func (s *Set) Rule(id string) *Rule { return s.byID[id] }

// Subset returns a set holding only the named rules (and every list).
// Unknown IDs are ignored.
func (s *Set) Subset(ids ...string) *Set {
	sub := &Set{Lists: s.Lists, byID: map[string]*Rule{}}
	for _, id := range ids {
		if r := s.byID[id]; r != nil && sub.byID[id] == nil {
			sub.byID[id] = r
			sub.Rules = append(sub.Rules, r)
		}
	}
	sort.Slice(sub.Rules, func(i, j int) bool { return sub.Rules[i].Spec.ID < sub.Rules[j].Spec.ID })
	return sub
}

// Loader loads rule sources with a given set of kinds.
type Loader struct {
	// Kinds are the rule kinds to accept; nil means DefaultKinds().
	Kinds []Kind
}

// DefaultKinds returns the kinds tocsin ships: match and threshold.
func DefaultKinds() []Kind { return []Kind{matchKind{}, thresholdKind{}} }

// Load loads sources with the default kinds.
func Load(srcs ...Source) (*Set, error) { return Loader{}.Load(srcs...) }

// LoadDirs loads directories on disk with the default kinds.
func LoadDirs(dirs ...string) (*Set, error) {
	srcs := make([]Source, len(dirs))
	for i, d := range dirs {
		srcs[i] = DirSource(d)
	}
	return Load(srcs...)
}

// Load reads, checks and compiles every rule file and list of the
// sources. It reports every problem of every file at once: the error is
// an Errors value listing each one with its file and line. Rule IDs must
// be unique across all sources; a list name found in several sources is
// the union of those files.
func (l Loader) Load(srcs ...Source) (*Set, error) {
	kinds := l.Kinds
	if kinds == nil {
		kinds = DefaultKinds()
	}
	ld := &loadState{
		kinds: make(map[string]Kind, len(kinds)),
		lists: map[string]*List{},
		set:   &Set{byID: map[string]*Rule{}},
		where: map[string]string{},

		placeholders: map[string]map[string]string{},
	}
	for _, k := range kinds {
		ld.kinds[k.Name()] = k
		if pk, ok := k.(PlaceholderKind); ok {
			ld.placeholders[k.Name()] = pk.Placeholders()
		}
	}
	for _, src := range srcs {
		if src.Dir == "" {
			src.Dir = "."
		}
		if _, err := fs.Stat(src.FS, src.Dir); err != nil {
			ld.errs = append(ld.errs, &Error{File: src.Name, Msg: "cannot open rules directory: " + unwrapPathErr(err)})
			continue
		}
		loadLists(src.FS, path.Join(src.Dir, "lists"), path.Join(src.Name, "lists"), ld.lists, &ld.errs)
	}
	ld.set.Lists = ld.lists
	for _, src := range srcs {
		if src.Dir == "" {
			src.Dir = "."
		}
		ld.loadSource(src)
	}
	if len(ld.errs) > 0 {
		ld.errs.sort()
		return nil, ld.errs
	}
	sort.Slice(ld.set.Rules, func(i, j int) bool { return ld.set.Rules[i].Spec.ID < ld.set.Rules[j].Spec.ID })
	return ld.set, nil
}

type loadState struct {
	kinds map[string]Kind
	lists map[string]*List
	set   *Set
	where map[string]string // rule id -> file:line of its definition
	errs  Errors
	// placeholders are the reason placeholders of each kind that says
	// (PlaceholderKind), by kind name.
	placeholders map[string]map[string]string
}

func (ld *loadState) loadSource(src Source) {
	err := fs.WalkDir(src.FS, src.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			ld.errs = append(ld.errs, &Error{File: path.Join(src.Name, rel(src.Dir, p)), Msg: "cannot read: " + unwrapPathErr(err)})
			return nil
		}
		if d.IsDir() {
			if p != src.Dir && (d.Name() == "lists" || strings.HasPrefix(d.Name(), ".")) {
				return fs.SkipDir
			}
			return nil
		}
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := fs.ReadFile(src.FS, p)
		display := path.Join(src.Name, rel(src.Dir, p))
		if err != nil {
			ld.errs = append(ld.errs, &Error{File: display, Msg: "cannot read: " + unwrapPathErr(err)})
			return nil
		}
		ld.loadFile(display, data)
		return nil
	})
	if err != nil {
		ld.errs = append(ld.errs, &Error{File: src.Name, Msg: "cannot walk rules directory: " + err.Error()})
	}
}

func rel(dir, p string) string {
	if dir == "." {
		return p
	}
	return strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
}

func unwrapPathErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// maxFileSize bounds one rule file, so a stray large file is refused
// with a clear message instead of being decoded.
const maxFileSize = 4 << 20

func (ld *loadState) loadFile(display string, data []byte) {
	rep := reporter{file: display, errs: &ld.errs}
	if len(data) > maxFileSize {
		rep.add(0, "", "", "file is %d bytes; rule files are limited to %d", len(data), maxFileSize)
		return
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		rep.add(yamlErrLine(err), "", "", "cannot parse YAML: %s", yamlErrMsg(err))
		return
	}
	if len(doc.Content) == 0 {
		rep.add(0, "", "", "empty file; want a mapping with a rules: list")
		return
	}
	top, ok := newMapNode(doc.Content[0], rep, "", "", "the file")
	if !ok {
		return
	}
	f := &File{Path: display}
	rulesNode, hasRules := top.node("rules")
	switch {
	case !hasRules:
		top.missing("rules", true)
	case rulesNode.Kind != yaml.SequenceNode:
		top.errorf("rules", "want a list of rules, got %s", kindName(rulesNode))
	default:
		for _, rn := range rulesNode.Content {
			if r := ld.decodeRule(rn, rep); r != nil {
				ld.addRule(r, f)
			}
		}
	}
	if testsNode, ok := top.node("tests"); ok {
		f.Tests = ld.decodeTests(testsNode, top, rep, f)
	}
	top.finish([]string{"rules", "tests"})
	ld.set.Files = append(ld.set.Files, f)
}

// addRule records a compiled rule; decodeRule has already checked that
// its id is unique.
func (ld *loadState) addRule(r *Rule, f *File) {
	ld.set.byID[r.Spec.ID] = r
	ld.set.Rules = append(ld.set.Rules, r)
	f.Rules = append(f.Rules, r)
}

var yamlLineRE = regexp.MustCompile(`line (\d+):?`)

// yamlErrLine extracts the line number from a YAML decoder error.
func yamlErrLine(err error) int {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// yamlErrMsg strips the decoder's "yaml: line N:" prefix, which the
// error's own position already carries.
func yamlErrMsg(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	s = yamlLineRE.ReplaceAllString(s, "")
	return strings.TrimSpace(s)
}
