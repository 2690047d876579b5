package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tandem-llm/tandem/config"
	"github.com/tandem-llm/tandem/device"
	"github.com/tandem-llm/tandem/privacy"
	"github.com/tandem-llm/tandem/sim"
)

const simulateHelp = `Replays a traffic file (JSON Lines: {"at": seconds, "prompt" | "messages", "max_tokens",
"session", "route"}) against a device profile's timeline and the real router, without generating:
each request is decided on the device state at its arrival, and the chosen tier's predicted
latency, energy, battery and cost are summed up.

Profiles: a built-in name (` + "phone-8gb-hot, phone-airplane, phone-low-memory, phone-low-battery, desktop" + `)
or a YAML file (docs/device.md). Tiers and the router policy come from --config (the serve
configuration; local tiers need params_b or an existing path), else the default matrix:
local-1b (1.2B, on the device), cloud-10b and cloud-100b.
`

func cmdSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	profile := fs.String("profile", "", "device profile: a built-in `name` or a YAML file (required)")
	traffic := fs.String("traffic", "", "traffic `file` (JSON Lines; required)")
	cfgFile := fs.String("config", "", "serve configuration `file` for the tiers and the router policy")
	jsonOut := fs.Bool("json", false, "print the summary and every request as JSON")
	plot := fs.String("plot", "", "write a PNG timeline (battery, temperature, tier) to `file`")
	privacyMode := fs.String("privacy", "", "override the router's privacy mode (strict, mask, allow)")
	routerModel := fs.String("router-model", "", "difficulty model `file` (default: the configuration's, else built-in)")
	cloudShare := fs.Float64("cloud-share", -1, "override the router's target cloud share (0..1)")
	setUsage(fs, "tandem simulate --profile P --traffic FILE [--config serve.yaml] [--json] [--plot out.png]", simulateHelp)
	rest, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Errorf("simulate: unexpected argument %q", rest[0])}
	}
	if *profile == "" || *traffic == "" {
		return usageError{errors.New("simulate: --profile and --traffic are required")}
	}
	prof, err := device.OpenProfile(*profile)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	f, err := os.Open(*traffic)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	reqs, err := sim.ParseTraffic(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("simulate: %s: %w", *traffic, err)
	}
	cfg := config.Default()
	tiers := sim.DefaultTiers()
	if *cfgFile != "" {
		if cfg, err = config.Load(*cfgFile); err != nil {
			return usageError{fmt.Errorf("simulate: %w", err)}
		}
		cfg.Normalize()
		if err := cfg.Validate(); err != nil {
			return usageError{fmt.Errorf("simulate: %w", err)}
		}
		if tiers, err = sim.TiersFromConfig(cfg); err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
	}
	if *privacyMode != "" {
		cfg.Router.Privacy = *privacyMode
	}
	if *routerModel != "" {
		cfg.Router.Model = *routerModel
	}
	if *cloudShare >= 0 {
		cfg.Router.CloudShare = *cloudShare
	}
	pm, err := privacy.ParseMode(orDefault(cfg.Router.Privacy, "mask"))
	if err != nil {
		return usageError{fmt.Errorf("simulate: %w", err)}
	}
	cfg.Router.Privacy = string(pm)
	rt, err := newRouter(cfg.Router, tiers, prof.Cost, nil, nil)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	res, err := sim.Run(ctx, rt, prof, reqs)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	if *plot != "" {
		out, err := os.Create(*plot)
		if err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
		err = res.Plot(out)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("simulate: plot: %w", err)
		}
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		return enc.Encode(struct {
			Profile string        `json:"profile"`
			Tiers   []string      `json:"tiers"`
			Summary sim.Summary   `json:"summary"`
			Rows    []sim.JSONRow `json:"requests"`
		}{res.Profile, res.Tiers, res.Summary, res.JSONRows()})
	}
	return res.WriteTable(stdout)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
