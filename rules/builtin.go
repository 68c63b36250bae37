package rules

import (
	"embed"
	"io/fs"
)

//go:embed builtin
var builtinFS embed.FS

// Builtin returns tocsin's built-in rules: *.yaml files with their tests,
// and lists/ (empty allow-lists that operators extend with a list of the
// same name in their own rules directory).
func Builtin() fs.FS {
	sub, err := fs.Sub(builtinFS, "builtin")
	if err != nil {
		panic("BUG: embedded builtin directory missing: " + err.Error())
	}
	return sub
}

// BuiltinSource is the Source for Builtin(), named "builtin" in errors.
func BuiltinSource() Source { return Source{FS: Builtin(), Dir: ".", Name: "builtin"} }
