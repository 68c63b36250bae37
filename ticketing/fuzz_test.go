package ticketing_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
)

var patchSeeds = []string{
	`{"status":"acknowledged"}`,
	`{"status":"resolved","resolution":"fp","actor":"bob"}`,
	`{"status":"open","assignee":""}`,
	`{"comment":"x","assignee":"carol","actor":"carol"}`,
	`{"status":null,"comment":"\u0000\ud800"}`,
	`{"status":"resolved"}`,
	`{"actor":"auto","comment":"x"}`,
	`{"unknown":1}`,
	`{"status":"open"}{"status":"open"}`,
	`{"Status":"open"}`,
	`[]`, `null`, ``, `{`, `"open"`,
}

func FuzzDecodePatch(f *testing.F) {
	for _, s := range patchSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, actor, err := ticketing.DecodePatch(bytes.NewReader(data))
		if err != nil {
			return
		}
		require.NoError(t, p.Validate(actor))
		require.NotEmpty(t, actor)
		if p.Status != nil {
			_, err := schemas.ParseStatus(string(*p.Status))
			require.NoError(t, err)
		}
		// What was accepted encodes back to a body that decodes the same.
		body := map[string]any{"actor": actor}
		if p.Status != nil {
			body["status"] = *p.Status
		}
		if p.Assignee != nil {
			body["assignee"] = *p.Assignee
		}
		if p.Comment != "" {
			body["comment"] = p.Comment
		}
		if p.Resolution != "" {
			body["resolution"] = p.Resolution
		}
		js, err := json.Marshal(body)
		require.NoError(t, err)
		p2, actor2, err := ticketing.DecodePatch(bytes.NewReader(js))
		require.NoError(t, err)
		require.Equal(t, p, p2)
		require.Equal(t, actor, actor2)
	})
}

func FuzzParseQueries(f *testing.F) {
	for _, s := range []string{
		"", "status=open&severity=high&min_severity=low&rule=ssh-bf&limit=10&offset=5",
		"limit=0", "limit=1000", "limit=99999999999999999999", "offset=-1", "severity=HIGH",
		"status=open&status=resolved", "x=1", "alerts_limit=5&events_offset=3", "reason=no_header&source=udp",
		"limit=+5", "limit=0x10", "%zz", "rule=%00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		if q, err := ticketing.ParseIncidentQuery(v); err == nil {
			require.GreaterOrEqual(t, q.Limit, 1)
			require.LessOrEqual(t, q.Limit, ticketing.MaxListLimit)
			require.GreaterOrEqual(t, q.Offset, 0)
			if q.Status != "" {
				_, err := schemas.ParseStatus(string(q.Status))
				require.NoError(t, err)
			}
			for _, s := range []*schemas.Severity{q.Severity, q.MinSeverity} {
				if s != nil {
					require.LessOrEqual(t, *s, schemas.SeverityCritical)
				}
			}
			for k, vals := range v {
				require.Len(t, vals, 1, k)
			}
		}
		if a, e, err := ticketing.ParseDetailQuery(v); err == nil {
			require.True(t, a.Limit >= 1 && a.Limit <= ticketing.MaxAlertsLimit && a.Offset >= 0)
			require.True(t, e.Limit >= 1 && e.Limit <= ticketing.MaxEventsLimit && e.Offset >= 0)
		}
		if q, err := ticketing.ParseFailureQuery(v); err == nil {
			require.True(t, q.Limit >= 1 && q.Limit <= ticketing.MaxListLimit && q.Offset >= 0)
		}
	})
}

// FuzzPatchEndpoint sends bodies to the real API over one store: whatever
// the body and the incident's state, the answer is a 2xx or 4xx JSON
// document, never a server error.
func FuzzPatchEndpoint(f *testing.F) {
	for _, s := range patchSeeds {
		f.Add([]byte(s))
	}
	e := newEnv(f, nil)
	e.handle(mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityHigh, t0))
	h := ticketing.NewAPI(ticketing.APIOptions{Manager: e.m})
	f.Fuzz(func(t *testing.T, data []byte) {
		req := httptest.NewRequest(http.MethodPatch, "/api/v1/incidents/INC-000001", bytes.NewReader(data))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			var inc schemas.Incident
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &inc))
			require.Equal(t, "INC-000001", inc.ID)
		case http.StatusBadRequest, http.StatusConflict:
			var out map[string]string
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
			require.NotEmpty(t, out["error"])
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, data, rec.Body)
		}
	})
}
