package app

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/config"
	"github.com/tocsin-siem/tocsin/ingest"
)

// startFeeds starts the HTTP ingest endpoint and the file tailer of cfg,
// when configured, feeding pipe, and returns their Stop functions. admit,
// when set, is asked before each HTTP request and each tail poll. On
// error what was started is stopped.
func startFeeds(ctx context.Context, cfg config.Config, pipe *ingest.Pipeline, admit func() error, log zerolog.Logger) ([]func(context.Context) error, error) {
	var stops []func(context.Context) error
	stopAll := func() {
		for _, stop := range stops {
			_ = stop(context.Background())
		}
	}
	if h := &cfg.HTTPIngest; h.Address != "" {
		token, apiKey, user, password := h.Credentials()
		l, err := ingest.NewHTTPListener(pipe, ingest.HTTPOptions{
			Address:        h.Address,
			CertFile:       h.CertFile,
			KeyFile:        h.KeyFile,
			ClientCAFile:   h.ClientCAFile,
			Token:          token,
			APIKey:         apiKey,
			Username:       user,
			Password:       password,
			MaxBodyBytes:   int64(h.MaxBodyBytes),
			MaxRecordBytes: h.MaxRecordBytes,
			MaxConcurrent:  h.MaxConcurrent,
			AckTimeout:     h.AckTimeout,
			Rate:           h.Rate,
			Location:       h.ListenerLocation(),
			Format:         h.Format,
			Admit:          admit,
		})
		if err == nil {
			err = l.Start(ctx)
		}
		if err != nil {
			return nil, fmt.Errorf("cannot start the HTTP ingest endpoint on %s (see http_ingest in the configuration): %w", h.Address, err)
		}
		stops = append(stops, l.Stop)
		log.Info().Str("address", l.Addr().String()).Str("protocol", "http").Msg("http ingest listener started")
	}
	if t := cfg.Tail; len(t.Paths) > 0 {
		tl, err := ingest.NewTailer(pipe, ingest.TailOptions{
			Paths:            t.Paths,
			StateFile:        cfg.TailStateFile(),
			FromStart:        t.StartAt == "beginning",
			PollInterval:     t.PollInterval,
			MaxLineSize:      t.MaxLineBytes,
			PartialLineDelay: t.PartialLineDelay,
			Location:         t.ListenerLocation(),
			Format:           t.Format,
			Admit:            admit,
		})
		if err == nil {
			err = tl.Start(ctx)
		}
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("cannot start file tailing (see tail in the configuration): %w", err)
		}
		stops = append(stops, tl.Stop)
	}
	return stops, nil
}
