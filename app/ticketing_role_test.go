package app

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStandbyTicketingIsReadOnly: an instance that holds no alerts
// partition serves reads, is not ready, and refuses changes.
func TestStandbyTicketingIsReadOnly(t *testing.T) {
	h := &ticketHandler{alertsTopic: "tocsin.alerts"}
	reached := 0
	api := h.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++ }))
	do := func(method, path string) int {
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec.Code
	}
	require.Equal(t, http.StatusServiceUnavailable, do("GET", "/healthz"))
	require.Equal(t, http.StatusServiceUnavailable, do("PATCH", "/api/v1/incidents/INC-000001"))
	require.Equal(t, http.StatusOK, do("GET", "/api/v1/incidents"))
	require.Equal(t, http.StatusOK, do("GET", "/livez"))
	require.Equal(t, 2, reached, "only the reads reached the API")

	h.active.Add(1) // the group gave it the alerts partition
	require.Equal(t, http.StatusOK, do("GET", "/healthz"))
	require.Equal(t, http.StatusOK, do("PATCH", "/api/v1/incidents/INC-000001"))
	require.Equal(t, 4, reached)
}
