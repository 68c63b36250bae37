package rules

import (
	"bufio"
	"bytes"
	"io/fs"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// List is a named set of values that conditions consult with
// in_list(value, "name"): allow-lists of scanners and bastion hosts,
// watch-lists of known-bad sources. Values that parse as IP addresses or
// CIDR prefixes match any textual form of an address they cover; other
// values match exactly.
type List struct {
	// Name is the file name without extension ("trusted_sources").
	Name string
	// Files are the files the values came from; a name defined in several
	// sources is the union of all of them.
	Files []string

	exact    map[string]struct{}
	addrs    map[netip.Addr]struct{}
	prefixes map[netip.Prefix]struct{}
	bits     []int // distinct prefix lengths in prefixes, longest first
}

func newList(name string) *List {
	return &List{
		Name:     name,
		exact:    map[string]struct{}{},
		addrs:    map[netip.Addr]struct{}{},
		prefixes: map[netip.Prefix]struct{}{},
	}
}

// Len is the number of values and prefixes in the list.
func (l *List) Len() int { return len(l.exact) + len(l.prefixes) }

// Contains reports whether v is in the list: an exact value, an address
// equal to a listed one, or an address inside a listed prefix. It does
// not allocate.
func (l *List) Contains(v string) bool {
	if _, ok := l.exact[v]; ok {
		return true
	}
	if len(l.addrs) == 0 && len(l.bits) == 0 {
		return false
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	if _, ok := l.addrs[a]; ok {
		return true
	}
	for _, b := range l.bits {
		if b > a.BitLen() {
			continue
		}
		p, err := a.Prefix(b)
		if err != nil {
			continue
		}
		if _, ok := l.prefixes[p]; ok {
			return true
		}
	}
	return false
}

// add records one value; it returns a problem description or "".
func (l *List) add(v string) string {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return "invalid CIDR prefix " + strconvQuote(v) + ": " + err.Error()
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), unmapBits(p)).Masked()
		if _, dup := l.prefixes[p]; !dup {
			l.prefixes[p] = struct{}{}
			if !slices.Contains(l.bits, p.Bits()) {
				l.bits = append(l.bits, p.Bits())
				slices.SortFunc(l.bits, func(a, b int) int { return b - a })
			}
		}
		return ""
	}
	l.exact[v] = struct{}{}
	if a, err := netip.ParseAddr(v); err == nil {
		l.addrs[a.Unmap().WithZone("")] = struct{}{}
	}
	return ""
}

// unmapBits turns the length of an IPv4-mapped IPv6 prefix into its IPv4
// length, so ::ffff:10.0.0.0/104 covers 10.0.0.0/8.
func unmapBits(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return max(p.Bits()-96, 0)
	}
	return p.Bits()
}

func strconvQuote(s string) string { return `"` + truncate(s, 60) + `"` }

var listNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// loadLists reads every list file under dir ("lists" of a source) into
// lists, reporting problems with file and line.
func loadLists(fsys fs.FS, dir, display string, lists map[string]*List, errs *Errors) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return // no lists directory: nothing to load
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		ext := path.Ext(e.Name())
		if ext != ".txt" && ext != ".yaml" && ext != ".yml" {
			continue
		}
		name := strings.TrimSuffix(e.Name(), ext)
		file := path.Join(display, e.Name())
		rep := reporter{file: file, errs: errs}
		if !listNameRE.MatchString(name) {
			rep.add(0, "", "", "list name %q must be letters, digits, '_', '.' or '-'", name)
			continue
		}
		data, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			rep.add(0, "", "", "cannot read list: %v", err)
			continue
		}
		l := lists[name]
		if l == nil {
			l = newList(name)
			lists[name] = l
		}
		l.Files = append(l.Files, file)
		if ext == ".txt" {
			parseTextList(data, l, rep)
		} else {
			parseYAMLList(data, l, rep)
		}
	}
}

// parseTextList reads one value per line; '#' starts a comment (at the
// start of a line or after white space), blank lines are skipped.
func parseTextList(data []byte, l *List, rep reporter) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, "#"); i == 0 || (i > 0 && (line[i-1] == ' ' || line[i-1] == '\t')) {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if msg := l.add(line); msg != "" {
			rep.add(n, "", "", "%s", msg)
		}
	}
	if err := sc.Err(); err != nil {
		rep.add(0, "", "", "cannot read list: %v", err)
	}
}

// parseYAMLList reads a YAML list of scalars.
func parseYAMLList(data []byte, l *List, rep reporter) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		rep.add(yamlErrLine(err), "", "", "cannot parse YAML: %s", yamlErrMsg(err))
		return
	}
	if len(doc.Content) == 0 {
		return
	}
	seq := doc.Content[0]
	if seq.Kind != yaml.SequenceNode {
		rep.add(seq.Line, "", "", "a YAML list file must hold a list of values, got %s", kindName(seq))
		return
	}
	for _, v := range seq.Content {
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			rep.add(v.Line, "", "", "want a value, got %s", kindName(v))
			continue
		}
		if msg := l.add(strings.TrimSpace(v.Value)); msg != "" {
			rep.add(v.Line, "", "", "%s", msg)
		}
	}
}
