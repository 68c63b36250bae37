package ticketing_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
)

// BenchmarkHandle files batches of 100 alerts (two events each) into the
// SQLite store: keys spread over 1,000 source addresses, so most alerts
// attach to an open incident and some open one. One op is one alert.
func BenchmarkHandle(b *testing.B) {
	for _, keys := range []int{1, 1000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			e := newEnv(b, nil)
			ctx := context.Background()
			const batch = 100
			alerts := make([]schemas.Alert, 0, batch)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				alerts = alerts[:0]
				for j := range min(batch, b.N-i) {
					n := i + j
					ip := fmt.Sprintf("10.%d.%d.%d", n%keys/65536, n%keys/256%256, n%keys%256)
					alerts = append(alerts, mkAlert("ssh-bf", ip, schemas.SeverityMedium, t0.Add(time.Duration(n)*time.Second)))
				}
				if err := e.m.Handle(ctx, alerts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAPIList lists the newest 50 of 2,000 incidents through the
// HTTP handler.
func BenchmarkAPIList(b *testing.B) {
	e := newEnv(b, nil)
	var alerts []schemas.Alert
	for i := range 2000 {
		alerts = append(alerts, mkAlert("ssh-bf", fmt.Sprintf("10.0.%d.%d", i/256, i%256), schemas.SeverityHigh, t0))
	}
	if err := e.m.Handle(context.Background(), alerts); err != nil {
		b.Fatal(err)
	}
	h := ticketing.NewAPI(ticketing.APIOptions{Manager: e.m})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/incidents?min_severity=high&limit=50", nil))
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code, rec.Body)
		}
	}
}
