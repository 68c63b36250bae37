package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/tocsin-siem/tocsin/"

// TestStagesMeetOnlyThroughSchemasAndBus checks the import rules: ingest
// never imports the engine, the engine and ticketing never import each
// other, schemas imports no stage, and nothing imports cmd.
func TestStagesMeetOnlyThroughSchemasAndBus(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}}:{{join .Deps " "}}`, "../...").Output()
	require.NoError(t, err)
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, list, _ := strings.Cut(line, ":")
		for _, d := range strings.Fields(list) {
			if strings.HasPrefix(d, module) {
				deps[strings.TrimPrefix(pkg, module)] = append(deps[strings.TrimPrefix(pkg, module)], strings.TrimPrefix(d, module))
			}
		}
	}
	require.Contains(t, deps["engine"], "rules", "go list saw the module's imports")
	require.Contains(t, deps["ingest"], "ingest/parse")
	forbidden := map[string][]string{
		"ingest":    {"engine", "ticketing", "rules", "app"},
		"engine":    {"ticketing", "ingest", "app"},
		"stream":    {"ticketing", "ingest", "app"},
		"ticketing": {"engine", "ingest", "rules", "app"},
		"rules":     {"ticketing", "app"},
		"schemas":   {"ingest", "engine", "rules", "ticketing", "bus", "app", "config"},
		"bus":       {"ingest", "engine", "rules", "ticketing", "app"},
	}
	for pkg, ds := range deps {
		stage := strings.SplitN(pkg, "/", 2)[0]
		for _, d := range ds {
			require.False(t, strings.HasPrefix(d, "cmd"), "%s imports %s: nothing may import cmd", pkg, d)
			if stage == "rules" && strings.HasPrefix(pkg, "rules/rulestest") {
				continue // the rule test runner drives a real parser and engine
			}
			for _, f := range forbidden[stage] {
				require.False(t, d == f || strings.HasPrefix(d, f+"/"), "%s must not depend on %s", pkg, d)
			}
		}
	}
}
