package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/schemas"
)

// Request bodies as the shippers send them, built from their documented
// output formats: Vector's http sink (codec json: a JSON array; framing
// newline_delimited: NDJSON), Fluent Bit's http output (format json: an
// array with the "date" key as a float epoch; json_lines: one object per
// line), Filebeat's and Winlogbeat's Elasticsearch output (_bulk with
// create actions, as 8.x writes to data streams). The log lines and the
// Windows event were written for these tests.
const (
	vectorRec1 = `{"file":"/var/log/auth.log","host":"web1","message":"Dec 10 06:55:48 web1 sshd[4242]: Failed password for root from 192.0.2.7 port 4022 ssh2","source_type":"file","timestamp":"2024-12-10T06:55:48.412913571Z"}`
	vectorRec2 = `{"file":"/var/log/auth.log","host":"web1","message":"Dec 10 06:55:50 web1 sshd[4242]: Connection closed by authenticating user root 192.0.2.7 port 4022 [preauth]","source_type":"file","timestamp":"2024-12-10T06:55:50.001200000Z"}`
	fluentRec1 = `{"date":1733813748.412913,"log":"Dec 10 06:55:48 web1 sshd[4242]: Failed password for root from 192.0.2.7 port 4022 ssh2"}`
	fluentRec2 = `{"date":1733813750.0012,"log":"Dec 10 06:55:50 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id"}`

	filebeatDoc = `{"@timestamp":"2024-12-10T06:55:48.412Z","log":{"offset":20412,"file":{"path":"/var/log/auth.log"}},` +
		`"message":"Dec 10 06:55:48 web1 sshd[4242]: Failed password for root from 192.0.2.7 port 4022 ssh2",` +
		`"input":{"type":"filestream"},"ecs":{"version":"8.0.0"},"host":{"name":"web1"},` +
		`"agent":{"type":"filebeat","version":"8.15.0","name":"web1","id":"3f0c2a5e-7b1d-4c8e-9f51-2d6a7e0b9c44"}}`
	winlogbeatDoc = `{"@timestamp":"2024-12-10T07:01:02.345Z","event":{"code":"4625","kind":"event",` +
		`"provider":"Microsoft-Windows-Security-Auditing","action":"Logon","outcome":"failure","created":"2024-12-10T07:01:03.100Z"},` +
		`"winlog":{"channel":"Security","event_id":"4625","provider_name":"Microsoft-Windows-Security-Auditing",` +
		`"provider_guid":"{54849625-5478-4994-a5ba-3e3b0328c30d}","computer_name":"DC01.corp.example","record_id":"190327",` +
		`"keywords":["Audit Failure"],"opcode":"Info","task":"Logon","process":{"pid":652,"thread":{"id":4012}},` +
		`"event_data":{"SubjectUserSid":"S-1-0-0","TargetUserName":"administrator","TargetDomainName":"CORP",` +
		`"Status":"0xc000006d","SubStatus":"0xc000006a","LogonType":"3","IpAddress":"192.0.2.44","IpPort":"49822",` +
		`"WorkstationName":"WS-17","AuthenticationPackageName":"NTLM","LogonProcessName":"NtLmSsp "}},` +
		`"message":"An account failed to log on.\n\nSubject:\n\tSecurity ID:\t\tS-1-0-0\n\nLogon Type:\t\t\t3\n\n` +
		`Account For Which Logon Failed:\n\tAccount Name:\t\tadministrator\n\tAccount Domain:\t\tCORP",` +
		`"host":{"name":"DC01"},"log":{"level":"information"},"ecs":{"version":"8.0.0"},"agent":{"type":"winlogbeat","version":"8.15.0"}}`
)

// startHTTP starts an HTTP listener on a free loopback port, on a pipeline
// whose parser keeps each record as the event's Original.
func startHTTP(t *testing.T, mod func(*PipelineOptions), opts HTTPOptions) (*testPipeline, *HTTPListener, string) {
	t.Helper()
	tp := newTestPipeline(t, mod)
	tp.parser = nopParser{}
	opts.Address = "127.0.0.1:0"
	l, err := NewHTTPListener(tp.Pipeline, opts)
	require.NoError(t, err)
	require.NoError(t, l.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, l.Stop(context.Background())) })
	return tp, l, "http://" + l.Addr().String()
}

// request makes one request and returns the answer and its body.
func request(t *testing.T, c *http.Client, method, url string, body []byte, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, out
}

func originals(evs []*schemas.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Event.Original
	}
	return out
}

func TestHTTPShipperBodies(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, body string
		want                    []string
		records                 int // blank lines count as records
	}{
		{"vector json array", "application/json", "[" + vectorRec1 + "," + vectorRec2 + "]", []string{vectorRec1, vectorRec2}, 2},
		{"vector ndjson", "application/x-ndjson", vectorRec1 + "\n" + vectorRec2 + "\n", []string{vectorRec1, vectorRec2}, 2},
		{"fluent bit json", "application/json", "[" + fluentRec1 + "," + fluentRec2 + "]", []string{fluentRec1, fluentRec2}, 2},
		{"fluent bit json_lines", "application/x-ndjson", fluentRec1 + "\n" + fluentRec2 + "\n", []string{fluentRec1, fluentRec2}, 2},
		{"fluent bit json_stream", "application/stream+json", fluentRec1 + fluentRec2, []string{fluentRec1, fluentRec2}, 2},
		{"one object, no content type", "", "  " + vectorRec1 + "\r\n", []string{vectorRec1}, 1},
		{"array of raw lines", "application/json", `["Dec 10 06:55:48 web1 sshd[1]: a\tb", "c \"d\""]`,
			[]string{"Dec 10 06:55:48 web1 sshd[1]: a\tb", `c "d"`}, 2},
		{"plain text", "text/plain; charset=utf-8", "line one\r\n\nline three", []string{"line one", "line three"}, 3},
		{"text/plain keeps JSON-looking lines apart", "text/plain", "{\"a\":\n1}", []string{`{"a":`, "1}"}, 2},
		{"empty body", "application/json", "", []string{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp, _, url := startHTTP(t, nil, HTTPOptions{})
			resp, body := request(t, nil, http.MethodPost, url+"/ingest", []byte(tc.body), "Content-Type", tc.contentType)
			require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
			require.JSONEq(t, `{"records":`+strconv.Itoa(tc.records)+`}`, string(body))
			evs, fails := tp.sink.snapshot()
			require.Empty(t, fails)
			require.Equal(t, tc.want, originals(evs))
			for _, e := range evs {
				require.Equal(t, "127.0.0.1", e.Log.Source.Address)
			}
		})
	}
}

func TestHTTPPrettyPrintedObjectIsOneRecord(t *testing.T) {
	tp, _, url := startHTTP(t, nil, HTTPOptions{})
	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, []byte(vectorRec1), "", "  "))
	require.Greater(t, bytes.Count(pretty.Bytes(), []byte("\n")), 3)
	resp, _ := request(t, nil, http.MethodPost, url+"/", append(append([]byte("\n\t"), pretty.Bytes()...), "\n\n"...),
		"Content-Type", "application/json")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	evs, _ := tp.sink.snapshot()
	require.Equal(t, []string{pretty.String()}, originals(evs), "the record's bytes, trimmed, newlines inside kept")
}

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestHTTPBulkFilebeatGzip(t *testing.T) {
	tp, _, url := startHTTP(t, nil, HTTPOptions{})
	action := `{"create":{"_index":"filebeat-8.15.0"}}`
	body := action + "\n" + filebeatDoc + "\n" + action + "\n" + strings.Replace(filebeatDoc, "20412", "20510", 1) + "\n"
	resp, out := request(t, nil, http.MethodPost, url+"/_bulk?filter_path=errors,items.*.error,items.*.status",
		gz(t, []byte(body)), "Content-Type", "application/json", "Content-Encoding", "gzip")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(out))
	require.Equal(t, "Elasticsearch", resp.Header.Get("X-Elastic-Product"))

	var raw struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Index  string `json:"_index"`
			ID     string `json:"_id"`
			Status int    `json:"status"`
			Result string `json:"result"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(out, &raw))
	require.False(t, raw.Errors)
	require.Len(t, raw.Items, 2)
	evs, fails := tp.sink.snapshot()
	require.Empty(t, fails)
	require.Equal(t, []string{filebeatDoc, strings.Replace(filebeatDoc, "20412", "20510", 1)}, originals(evs))
	for i, it := range raw.Items {
		c, ok := it["create"]
		require.True(t, ok)
		require.Equal(t, 201, c.Status)
		require.Equal(t, "created", c.Result)
		require.Equal(t, "filebeat-8.15.0", c.Index)
		require.Equal(t, strconv.FormatUint(evs[i].ID, 16), strings.TrimLeft(c.ID, "0"), "the _id is the event ID")
	}
}

func TestHTTPBulkWinlogbeatItemErrors(t *testing.T) {
	tp, _, url := startHTTP(t, nil, HTTPOptions{})
	body := strings.Join([]string{
		`{"create":{"_index":"winlogbeat-8.15.0"}}`, winlogbeatDoc,
		`{"delete":{"_index":"winlogbeat-8.15.0","_id":"gone"}}`,
		`{"update":{"_id":"x1"}}`, `{"doc":{"a":1}}`,
		``, // blank lines between items are skipped
		`{"index":{"_id":"mine"}}`, `{"broken": `,
		`{"index":{}}`, `["not","an","object"]`,
		`{"index":{}}`, `{"ok":true}`,
	}, "\n") + "\n"
	resp, out := request(t, nil, http.MethodPost, url+"/logs-windows/_bulk", []byte(body), "Content-Type", "application/x-ndjson")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(out))
	var r struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Index  string `json:"_index"`
			ID     string `json:"_id"`
			Status int    `json:"status"`
			Error  struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"error"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(out, &r))
	require.True(t, r.Errors)
	type item struct {
		action, index string
		status        int
		errType       string
	}
	var got []item
	for _, m := range r.Items {
		require.Len(t, m, 1)
		for action, v := range m {
			got = append(got, item{action, v.Index, v.Status, v.Error.Type})
		}
	}
	require.Equal(t, []item{
		{"create", "winlogbeat-8.15.0", 201, ""},
		{"delete", "winlogbeat-8.15.0", 400, "illegal_argument_exception"},
		{"update", "logs-windows", 400, "illegal_argument_exception"},
		{"index", "logs-windows", 400, "mapper_parsing_exception"},
		{"index", "logs-windows", 400, "mapper_parsing_exception"},
		{"index", "logs-windows", 201, ""},
	}, got)
	require.Equal(t, "mine", r.Items[3]["index"].ID, "a sender's _id is answered back")
	evs, fails := tp.sink.snapshot()
	require.Empty(t, fails)
	require.Equal(t, []string{winlogbeatDoc, `{"ok":true}`}, originals(evs))
	require.Equal(t, float64(2), tp.metric(t, "tocsin_ingest_http_records_total", "result", "acknowledged"))
	require.Equal(t, float64(4), tp.metric(t, "tocsin_ingest_http_records_total", "result", "refused"))
}

func TestHTTPBulkMalformedActionFailsRequest(t *testing.T) {
	tp, _, url := startHTTP(t, nil, HTTPOptions{})
	for _, body := range []string{
		`{"create":{}}` + "\n" + `{"a":1}` + "\n" + `{"frobnicate":{}}` + "\n" + `{"a":2}` + "\n",
		`{"create":{}}` + "\n" + `{"a":1}` + "\n" + `{"create":{}}` + "\n", // no document line
		`not json` + "\n",
		`{"create":{},"index":{}}` + "\n" + `{"a":1}` + "\n",
	} {
		resp, out := request(t, nil, http.MethodPost, url+"/_bulk", []byte(body))
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
		require.Contains(t, string(out), "illegal_argument_exception")
		require.Contains(t, string(out), "line ")
	}
	evs, fails := tp.sink.snapshot()
	require.Empty(t, evs, "nothing of a malformed bulk request is taken")
	require.Empty(t, fails)
}

func TestHTTPElasticsearchHandshake(t *testing.T) {
	_, _, url := startHTTP(t, nil, HTTPOptions{})
	resp, out := request(t, nil, http.MethodGet, url+"/", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "Elasticsearch", resp.Header.Get("X-Elastic-Product"))
	var info struct {
		Version struct {
			Number      string `json:"number"`
			BuildFlavor string `json:"build_flavor"`
		} `json:"version"`
		Tagline string `json:"tagline"`
	}
	require.NoError(t, json.Unmarshal(out, &info))
	require.Equal(t, DefaultESVersion, info.Version.Number)
	require.Equal(t, "default", info.Version.BuildFlavor)
	require.True(t, strings.HasPrefix(info.Version.Number, "8."), "Beats 8.x accept an 8.x cluster at least as new")

	resp, out = request(t, nil, http.MethodHead, url+"/", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, out)

	resp, out = request(t, nil, http.MethodGet, url+"/_license?human=false", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var lic struct {
		License struct{ Status, Type, Mode, UID string } `json:"license"`
	}
	require.NoError(t, json.Unmarshal(out, &lic))
	require.Equal(t, "active", lic.License.Status)
	require.Equal(t, "basic", lic.License.Type)
	require.Equal(t, "basic", lic.License.Mode)
	require.NotEmpty(t, lic.License.UID)

	resp, _ = request(t, nil, http.MethodHead, url+"/_index_template/filebeat-8.15.0", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, out = request(t, nil, http.MethodPut, url+"/_ingest/pipeline/filebeat-8.15.0-system-auth-pipeline", []byte(`{}`))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"acknowledged":true}`, string(out))

	// Behind a path prefix (output.elasticsearch.path), as Beats send it.
	resp, out = request(t, nil, http.MethodGet, url+"/es/", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(out), `"number":"`+DefaultESVersion+`"`)
	resp, _ = request(t, nil, http.MethodGet, url+"/es/_license", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, out = request(t, nil, http.MethodPost, url+"/es/_bulk", []byte(`{"index":{}}`+"\n"+`{"a":1}`+"\n"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(out), `"_index":"es"`)

	resp, out = request(t, nil, http.MethodGet, url+"/_cat/indices", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Contains(t, string(out), `"status":404`)
	resp, _ = request(t, nil, http.MethodGet, url+"/_bulk", nil)
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestHTTPGzipBomb(t *testing.T) {
	tp := newTestPipeline(t, nil)
	tp.parser = nopParser{}
	l, err := NewHTTPListener(tp.Pipeline, HTTPOptions{MaxBodyBytes: 1 << 20})
	require.NoError(t, err)
	// 64 MiB of zeros as 1024 gzip members of 64 KiB each (a gzip stream
	// may hold several), about 100 KiB on the wire.
	member := gz(t, make([]byte, 64<<10))
	bomb := bytes.Repeat(member, 1024)
	require.Less(t, len(bomb), 1<<20, "the compressed body is within the limit")
	zr, err := gzip.NewReader(bytes.NewReader(bomb))
	require.NoError(t, err)
	n, err := io.Copy(io.Discard, zr)
	require.NoError(t, err)
	require.Equal(t, int64(64<<20), n, "the bomb inflates to 64 MiB")

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(bomb))
	req.Header.Set("Content-Encoding", "gzip")
	rec := httptest.NewRecorder()
	l.ServeHTTP(rec, req)
	runtime.ReadMemStats(&after)

	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), "max_body_bytes")
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20), "the bomb was not inflated past the limit")
	evs, fails := tp.sink.snapshot()
	require.Empty(t, evs)
	require.Empty(t, fails)

	// A plain body over the limit, by its Content-Length.
	req = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(make([]byte, 2<<20)))
	rec = httptest.NewRecorder()
	l.ServeHTTP(rec, req)
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
}

func TestHTTPBadBodies(t *testing.T) {
	tp, _, url := startHTTP(t, nil, HTTPOptions{})
	for _, tc := range []struct {
		name, contentType, encoding, body string
		code                              int
		reason                            string
	}{
		{"array with a broken element", "application/json", "", "[" + vectorRec1 + `,{"a":}]`, 400, "record 2"},
		{"ndjson with a broken third line", "application/x-ndjson", "", vectorRec1 + "\n" + vectorRec2 + "\n{\"a\" 1}\n", 400, "record 3"},
		{"unclosed array", "application/json", "", "[" + vectorRec1, 400, "not closed"},
		{"number record", "application/json", "", "[1,2]", 400, "where a JSON object"},
		{"too deep", "application/json", "", `{"a":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "}", 400, "nested deeper"},
		{"not gzip", "application/json", "gzip", vectorRec1, 400, "not gzip"},
		{"brotli", "application/json", "br", vectorRec1, 415, "not supported"},
		{"msgpack", "application/msgpack", "", "\x92\xa1a\xa1b", 415, "MessagePack"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := request(t, nil, http.MethodPost, url+"/", []byte(tc.body),
				"Content-Type", tc.contentType, "Content-Encoding", tc.encoding)
			require.Equal(t, tc.code, resp.StatusCode, string(out))
			require.Contains(t, string(out), tc.reason)
		})
	}
	evs, fails := tp.sink.snapshot()
	require.Empty(t, evs, "records before a bad one are not taken either")
	require.Empty(t, fails)
	require.Equal(t, float64(6), tp.metric(t, "tocsin_ingest_http_requests_total", "code", "400"))
	require.Equal(t, float64(2), tp.metric(t, "tocsin_ingest_http_requests_total", "code", "415"))
}

func TestHTTPRecordTooLong(t *testing.T) {
	tp, _, url := startHTTP(t, nil, HTTPOptions{MaxRecordBytes: 480})
	long := `{"message":"` + strings.Repeat("x", 1000) + `"}`
	resp, _ := request(t, nil, http.MethodPost, url+"/", []byte("["+vectorRec1+","+long+"]"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	evs, fails := tp.sink.snapshot()
	require.Equal(t, []string{vectorRec1}, originals(evs))
	require.Len(t, fails, 1)
	require.Equal(t, ReasonTooLong, fails[0].Reason)
	require.Equal(t, long[:480], string(fails[0].Raw))
	require.Contains(t, fails[0].Detail, strconv.Itoa(len(long))+" bytes")
	require.Equal(t, "http", fails[0].Source)
	require.Equal(t, float64(1), tp.metric(t, "tocsin_ingest_oversize_total", "source", "http"))
}

func TestHTTPAuth(t *testing.T) {
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	_, _, url := startHTTP(t, nil, HTTPOptions{Token: "s3cret-token", APIKey: "VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw",
		Username: "shipper", Password: "pa:ss"})
	for _, tc := range []struct {
		auth string
		code int
	}{
		{"Bearer s3cret-token", 200},
		{"bearer s3cret-token", 200},
		{"ApiKey " + base64.StdEncoding.EncodeToString([]byte("VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw")), 200},
		{"ApiKey VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw", 200},
		{basic("shipper", "pa:ss"), 200},
		{"", 401},
		{"Bearer s3cret-tokeN", 401},
		{"Bearer s3cret-token-and-more", 401},
		{"ApiKey " + base64.StdEncoding.EncodeToString([]byte("VuaCfGcBCdbkQm-e5aOx:wrong")), 401},
		{basic("shipper", "pa"), 401},
		{basic("other", "pa:ss"), 401},
		{"Basic !!!", 401},
		{"Digest s3cret-token", 401},
	} {
		resp, out := request(t, nil, http.MethodPost, url+"/", []byte(vectorRec1), "Authorization", tc.auth)
		require.Equal(t, tc.code, resp.StatusCode, "%q: %s", tc.auth, out)
		if tc.code == 401 {
			require.Contains(t, resp.Header.Get("WWW-Authenticate"), `Bearer realm="tocsin"`)
			require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Basic")
			require.Contains(t, string(out), "security_exception")
			require.NotContains(t, string(out), "s3cret")
		}
	}
	resp, _ := request(t, nil, http.MethodGet, url+"/", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the handshake needs credentials too")
}

// syncingPublisher publishes into a sink and blocks in Sync until release
// is closed, as the Kafka buffer does while the broker is down.
type syncingPublisher struct {
	bus.Publisher[*schemas.Event]
	release chan struct{}
	syncs   atomic.Int32
}

func (s *syncingPublisher) Sync(ctx context.Context) error {
	s.syncs.Add(1)
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func newSyncingPipeline(t *testing.T, sp **syncingPublisher) func(*PipelineOptions) {
	return func(o *PipelineOptions) {
		*sp = &syncingPublisher{Publisher: o.Events, release: make(chan struct{})}
		o.Events = *sp
	}
}

func TestHTTPAnswersOnlyOnceSynced(t *testing.T) {
	var sp *syncingPublisher
	tp, _, url := startHTTP(t, newSyncingPipeline(t, &sp), HTTPOptions{})
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Post(url+"/", "application/json", strings.NewReader("["+vectorRec1+","+vectorRec2+"]"))
		if err == nil {
			resp.Body.Close()
			answered <- resp.StatusCode
		}
		close(answered)
	}()
	require.Eventually(t, func() bool { return sp.syncs.Load() == 1 }, 5*time.Second, time.Millisecond)
	evs, _ := tp.sink.snapshot()
	require.Len(t, evs, 2, "published before the sync")
	select {
	case code := <-answered:
		t.Fatalf("answered %d before the batch was synced", code)
	case <-time.After(100 * time.Millisecond):
	}
	close(sp.release)
	require.Equal(t, http.StatusOK, <-answered)
	require.Equal(t, float64(2), tp.metric(t, "tocsin_ingest_http_records_total", "result", "acknowledged"))
}

func TestHTTPSyncTimeoutAnswers503(t *testing.T) {
	var sp *syncingPublisher
	tp, _, url := startHTTP(t, newSyncingPipeline(t, &sp), HTTPOptions{AckTimeout: 200 * time.Millisecond})
	start := time.Now()
	resp, out := request(t, nil, http.MethodPost, url+"/_bulk", []byte(`{"create":{}}`+"\n"+filebeatDoc+"\n"))
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, string(out))
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond, "the answer waited for the ack timeout")
	require.Equal(t, retryAfter, resp.Header.Get("Retry-After"))
	require.Contains(t, string(out), "send them again")
	require.Equal(t, float64(1), tp.metric(t, "tocsin_ingest_http_records_total", "result", "unacknowledged"))
	require.Equal(t, float64(1), tp.metric(t, "tocsin_ingest_http_requests_total", "code", "503"))
	require.Contains(t, tp.logs.String(), "answered 503")
}

func TestHTTPConcurrencyLimit(t *testing.T) {
	var sp *syncingPublisher
	_, _, url := startHTTP(t, newSyncingPipeline(t, &sp), HTTPOptions{MaxConcurrent: 1})
	first := make(chan int, 1)
	go func() {
		resp, err := http.Post(url+"/", "application/json", strings.NewReader(vectorRec1))
		if err == nil {
			resp.Body.Close()
			first <- resp.StatusCode
		}
		close(first)
	}()
	require.Eventually(t, func() bool { return sp.syncs.Load() == 1 }, 5*time.Second, time.Millisecond)
	resp, out := request(t, nil, http.MethodPost, url+"/", []byte(vectorRec2))
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, "1", resp.Header.Get("Retry-After"))
	require.Contains(t, string(out), "max_concurrent")
	close(sp.release)
	require.Equal(t, http.StatusOK, <-first)
}

func TestHTTPRateLimit(t *testing.T) {
	tp, _, url := startHTTP(t, nil, HTTPOptions{Rate: 10})
	var lines strings.Builder
	for i := range 30 {
		lines.WriteString("line " + strconv.Itoa(i) + "\n")
	}
	resp, _ := request(t, nil, http.MethodPost, url+"/", []byte(lines.String()), "Content-Type", "text/plain")
	require.Equal(t, http.StatusOK, resp.StatusCode, "a request over the bucket passes, into debt")
	resp, out := request(t, nil, http.MethodPost, url+"/", []byte("one more\n"), "Content-Type", "text/plain")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.InDelta(t, 3, wait, 1, "20 records of debt at 10 a second")
	require.Contains(t, string(out), "http_ingest.rate")
	evs, _ := tp.sink.snapshot()
	require.Len(t, evs, 30)
}

func TestHTTPSlowBodyIsCut(t *testing.T) {
	tp, l, _ := startHTTP(t, nil, HTTPOptions{ReadTimeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{\"a\":1},")
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	start := time.Now()
	rest, err := io.ReadAll(c)
	require.NoError(t, err, "the server closed the connection")
	require.Less(t, time.Since(start), 3*time.Second)
	if len(rest) > 0 {
		require.Contains(t, string(rest), "408")
	}
	evs, fails := tp.sink.snapshot()
	require.Empty(t, evs)
	require.Empty(t, fails)
}

func TestHTTPSameBodySameIDs(t *testing.T) {
	tp, _, url := startHTTP(t, nil, HTTPOptions{})
	body := []byte(vectorRec1 + "\n" + vectorRec2 + "\n")
	for range 2 {
		resp, _ := request(t, nil, http.MethodPost, url+"/", body)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	resp, _ := request(t, nil, http.MethodPost, url+"/", []byte(vectorRec2+"\n"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	evs, _ := tp.sink.snapshot()
	require.Len(t, evs, 5)
	require.Equal(t, evs[0].ID, evs[2].ID, "a body sent again keeps its event IDs")
	require.Equal(t, evs[1].ID, evs[3].ID)
	require.NotEqual(t, evs[0].ID, evs[1].ID)
	require.NotEqual(t, evs[1].ID, evs[4].ID, "the same record in another body is another event")
	require.Equal(t, float64(3), tp.metric(t, "tocsin_ingest_http_requests_total", "code", "200"))
	require.Equal(t, float64(5), tp.metric(t, "tocsin_ingest_lines_total", "source", "http"))
}

func TestHTTPAdmitRefuses(t *testing.T) {
	full := atomic.Bool{}
	full.Store(true)
	tp, _, url := startHTTP(t, nil, HTTPOptions{Admit: func() error {
		if full.Load() {
			return io.ErrShortBuffer
		}
		return nil
	}})
	resp, out := request(t, nil, http.MethodPost, url+"/", []byte(vectorRec1))
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Contains(t, string(out), "cannot take more input")
	full.Store(false)
	resp, _ = request(t, nil, http.MethodPost, url+"/", []byte(vectorRec1))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	evs, _ := tp.sink.snapshot()
	require.Len(t, evs, 1)
}

// testCerts writes a CA, a server certificate for 127.0.0.1 and a client
// certificate into dir, and returns their paths.
func testCerts(t *testing.T, dir string) (caFile, certFile, keyFile, clientCert, clientKey string) {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		return k
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return p
	}
	caKey := newKey()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tocsin test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, ip bool) ([]byte, []byte) {
		k := newKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
		if ip {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		require.NoError(t, err)
		kd, err := x509.MarshalECPrivateKey(k)
		require.NoError(t, err)
		return der, kd
	}
	sDER, sKey := leaf(2, "tocsin", x509.ExtKeyUsageServerAuth, true)
	cDER, cKey := leaf(3, "filebeat-web1", x509.ExtKeyUsageClientAuth, false)
	return write("ca.pem", "CERTIFICATE", caDER),
		write("server.pem", "CERTIFICATE", sDER), write("server.key", "EC PRIVATE KEY", sKey),
		write("client.pem", "CERTIFICATE", cDER), write("client.key", "EC PRIVATE KEY", cKey)
}

func TestHTTPSWithClientCertificates(t *testing.T) {
	ca, cert, key, ccert, ckey := testCerts(t, t.TempDir())
	tp, l, _ := startHTTP(t, nil, HTTPOptions{CertFile: cert, KeyFile: key, ClientCAFile: ca})
	url := "https://" + l.Addr().String()
	pool := x509.NewCertPool()
	pemCA, err := os.ReadFile(ca)
	require.NoError(t, err)
	require.True(t, pool.AppendCertsFromPEM(pemCA))
	clientPair, err := tls.LoadX509KeyPair(ccert, ckey)
	require.NoError(t, err)

	with := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{clientPair}}}}
	resp, _ := request(t, with, http.MethodPost, url+"/", []byte(vectorRec1))
	require.Equal(t, http.StatusOK, resp.StatusCode)

	without := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(vectorRec2))
	require.NoError(t, err)
	_, err = without.Do(req)
	require.Error(t, err, "a client without a certificate is refused in the handshake")

	// Plain HTTP on the TLS port gets net/http's 400, nothing more.
	resp, err = http.Post("http://"+l.Addr().String()+"/", "application/json", strings.NewReader(vectorRec2))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	evs, _ := tp.sink.snapshot()
	require.Equal(t, []string{vectorRec1}, originals(evs))
}

func TestHTTPOptionsChecked(t *testing.T) {
	tp := newTestPipeline(t, nil)
	_, err := NewHTTPListener(tp.Pipeline, HTTPOptions{MaxBodyBytes: -1, CertFile: "x", Username: "u"})
	require.ErrorContains(t, err, "max body bytes -1 is negative")
	require.ErrorContains(t, err, "set both or neither")
	require.ErrorContains(t, err, "user name and password")
	_, err = NewHTTPListener(tp.Pipeline, HTTPOptions{CertFile: "/nonexistent/cert.pem", KeyFile: "/nonexistent/key.pem"})
	require.ErrorContains(t, err, "cannot load the certificate")
}

func TestHTTPStopWaitsForAnswers(t *testing.T) {
	var sp *syncingPublisher
	tp := newTestPipeline(t, newSyncingPipeline(t, &sp))
	tp.parser = nopParser{}
	l, err := NewHTTPListener(tp.Pipeline, HTTPOptions{Address: "127.0.0.1:0"})
	require.NoError(t, err)
	require.NoError(t, l.Start(context.Background()))
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Post("http://"+l.Addr().String()+"/", "application/json", strings.NewReader(vectorRec1))
		if err == nil {
			resp.Body.Close()
			answered <- resp.StatusCode
		}
		close(answered)
	}()
	require.Eventually(t, func() bool { return sp.syncs.Load() == 1 }, 5*time.Second, time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- l.Stop(context.Background()) }()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a request waited for its batch")
	case <-time.After(100 * time.Millisecond):
	}
	close(sp.release)
	require.Equal(t, http.StatusOK, <-answered)
	require.NoError(t, <-stopped)
}

// readCapped never holds more than its limit, whatever the buffer held
// before, and reads a body under the limit whole.
func TestReadCapped(t *testing.T) {
	for _, size := range []int{0, 1, 100 << 10, 1 << 20, 3<<20 + 7} {
		var buf bytes.Buffer
		n, err := readCapped(&buf, bytes.NewReader(bytes.Repeat([]byte{'x'}, size)), 1<<20+1)
		require.NoError(t, err)
		require.Equal(t, int64(min(size, 1<<20+1)), n)
		require.Equal(t, int(n), buf.Len())
		require.LessOrEqual(t, buf.Cap(), 1<<20+1, "size %d", size)
	}
}
