package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/tandem-llm/tandem/chat"
	"github.com/tandem-llm/tandem/cloud"
	"github.com/tandem-llm/tandem/config"
	"github.com/tandem-llm/tandem/device"
	"github.com/tandem-llm/tandem/engine"
	"github.com/tandem-llm/tandem/hub"
	"github.com/tandem-llm/tandem/local"
	"github.com/tandem-llm/tandem/privacy"
	"github.com/tandem-llm/tandem/router"
	"github.com/tandem-llm/tandem/server"
)

const serveHelp = `Serves the OpenAI-compatible API (/v1/chat/completions, /v1/completions,
/v1/models, /health, /metrics) from local models (-m, repeatable; a model is
served under its file's base name without .gguf) and/or upstream
OpenAI-compatible servers (--upstream, repeatable: replicas of one pool).

Roles: device (default) answers with the local model and falls back to the
upstreams when it is overloaded or fails (also mid-stream); a request for the
upstream's model falls back to the local one. cloud serves each model only from
the tiers that serve it, with API keys (TANDEM_API_KEYS, comma-separated,
and/or --api-key-file), per-key limits and per-request timeouts.

Flags override the --config file: a scalar flag replaces the file's value;
-m and --upstream add tiers after the file's; the per-tier flags apply to
every local tier (--context, --parallel, --queue, --chat-template,
--cost-input, --cost-output) or every upstream tier (--upstream-*).

With no model and no upstream, the default model (` + hub.DefaultModel + `)
is pulled from the hub first (--no-pull or TANDEM_NO_PULL=1 disable this).
SIGINT/SIGTERM drain: new requests get 503, those in flight finish.
`

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, printOnly, err := serveConfig(args, stderr)
	if err != nil {
		return err
	}
	if printOnly {
		b, err := cfg.YAML()
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	}
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	if len(cfg.Tiers) == 0 {
		if !cfg.AutoPull {
			return usageError{errors.New("serve: no model: give -m MODEL.gguf, --upstream URL or a --config with tiers (pulling the default model is disabled)")}
		}
		ref := cfg.PullModel
		if ref == "" {
			ref = hub.DefaultModel
		}
		fmt.Fprintf(stderr, "tandem serve: no model configured; pulling %s (--no-pull disables this)\n", ref)
		path, err := hub.Pull(ctx, ref, hub.Options{Dir: cfg.ModelsDir, Progress: stderr, Logger: cliLogger(stderr)})
		if err != nil {
			return fmt.Errorf("serve: pulling the default model: %w", err)
		}
		cfg.Tiers = append(cfg.Tiers, config.Tier{Path: path})
		cfg.Normalize()
	}

	reg := server.NewRegistry()
	um, err := server.NewUpstreamMetrics(reg)
	if err != nil {
		return err
	}
	tiers, specs, closeAll, err := buildTiers(ctx, cfg, um, log)
	defer closeAll()
	if err != nil {
		return err
	}
	rt, mon, err := buildRouter(cfg, specs, log)
	if err != nil {
		return err
	}
	keys, err := cfg.APIKeys(nil)
	if err != nil {
		return err
	}
	if cfg.Role == server.RoleCloud && len(keys) == 0 {
		log.Warn("cloud role without API keys: requests are not authenticated (set TANDEM_API_KEYS or --api-key-file)")
	}
	srv, err := server.New(server.Options{
		Role: cfg.Role, Tiers: tiers, Chain: cloud.Chain,
		APIKeys: keys, RequestsPerMinute: cfg.Limits.RequestsPerMinute, TokensPerDay: cfg.Limits.TokensPerDay,
		RequestTimeout: cfg.RequestTimeout, MaxBodyBytes: int64(cfg.MaxBody),
		Router: rt, Device: mon,
		Logger: log, Registry: reg,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	names := make([]string, len(tiers))
	for i, t := range tiers {
		names[i] = fmt.Sprintf("%s (%s, model %q)", t.Name, t.Kind, t.Model)
	}
	fmt.Fprintf(stderr, "tandem serve: %s role, tiers: %s\n", cfg.Role, strings.Join(names, ", "))
	if rt != nil {
		fmt.Fprintf(stderr, "tandem serve: router on (model \"auto\"; privacy %s; threshold %.2f)\n", rt.PrivacyMode(), rt.Threshold())
	}
	fmt.Fprintf(stderr, "tandem serve: listening on http://%s\n", ln.Addr())
	err = srv.Serve(ctx, ln, cfg.DrainTimeout)
	fmt.Fprintln(stderr, "tandem serve: stopped")
	return err
}

// serveConfig builds the effective configuration: defaults, the --config
// file, the environment, then the flags given.
func serveConfig(args []string, stderr io.Writer) (config.Config, bool, error) {
	def := config.Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfgFile := fs.String("config", "", "YAML configuration `file`")
	printCfg := fs.Bool("print-config", false, "print the effective configuration (YAML) and exit")
	role := fs.String("role", def.Role, "device or cloud")
	var models, upstreams stringList
	fs.Var(&models, "m", "serve this model `file` (GGUF; repeatable)")
	fs.Var(&upstreams, "upstream", "upstream OpenAI-compatible base `URL` (repeatable; http://host:port means http://host:port/v1)")
	listen := fs.String("listen", def.Listen, "listen `address` (host:port; port 0 picks a free one)")
	logLevel := fs.String("log-level", def.LogLevel, "debug, info, warn or error")
	maxBody := def.MaxBody
	fs.Var(&maxBody, "max-body", "request body `size` limit (e.g. 1MiB)")
	reqTimeout := fs.Duration("request-timeout", def.RequestTimeout, "per generation request (0: none)")
	drainTimeout := fs.Duration("drain-timeout", def.DrainTimeout, "time in-flight requests get to finish at shutdown")
	threads := fs.Int("threads", def.Threads, "engine threads per local model (0: all CPUs)")
	memLimit := def.MemLimit
	fs.Var(&memLimit, "mem-limit", "per local model: refuse to load beyond this `size` (weights + KV caches)")
	noPull := fs.Bool("no-pull", false, "do not pull the default model when none is configured (also TANDEM_NO_PULL=1)")
	pullModel := fs.String("pull", "", "hub `REF` to pull when no model is configured (default "+hub.DefaultModel+")")
	modelsDir := fs.String("models-dir", "", "hub cache `dir` (default $TANDEM_HOME/models)")
	keyFile := fs.String("api-key-file", "", "`file` of API keys clients must send, one per line (also TANDEM_API_KEYS)")
	rpm := fs.Int("rate-limit", 0, "requests per minute per API key (0: unlimited)")
	tpd := fs.Int64("token-budget", 0, "tokens per day per API key (0: unlimited)")
	ctxLen := fs.Int("context", 0, "local tiers: tokens per request (prompt + answer; 0: the model's)")
	parallel := fs.Int("parallel", 0, "local tiers: requests generating at once (default 4)")
	queue := fs.Int("queue", 0, "local tiers: requests waiting for a slot before 429 (default 16)")
	tmpl := fs.String("chat-template", "", "local tiers: chat template `family` overriding the model's ("+strings.Join(chat.Names(), ", ")+")")
	costIn := fs.Float64("cost-input", 0, "local tiers: USD per 1M prompt tokens")
	costOut := fs.Float64("cost-output", 0, "local tiers: USD per 1M completion tokens")
	upModel := fs.String("upstream-model", "", "upstream tiers: model `name` to ask for (default: the requested one)")
	upKeyEnv := fs.String("upstream-key-env", "", "upstream tiers: environment `variable` holding the key sent upstream")
	upCtx := fs.Int("upstream-context", 0, "upstream tiers: context length, as shown in /v1/models")
	upParallel := fs.Int("upstream-parallel", 0, "upstream tiers: requests at once before 429 / failover (0: unlimited)")
	upCostIn := fs.Float64("upstream-cost-input", 0, "upstream tiers: USD per 1M prompt tokens")
	upCostOut := fs.Float64("upstream-cost-output", 0, "upstream tiers: USD per 1M completion tokens")
	privacyMode := fs.String("privacy", "", "router: strict (personal data stays local), mask (default) or allow")
	cloudShare := fs.Float64("cloud-share", 0, "router: target share of requests sent beyond the smallest tier (online recalibration)")
	cascade := fs.Bool("cascade", false, "router: escalate low-confidence local answers to a larger tier mid-stream")
	routerModel := fs.String("router-model", "", "router: difficulty model `file` (default: built-in; see tandem router train)")
	noRouter := fs.Bool("no-router", false, "route by model name only (the router is on by default on a device with local and cloud tiers)")
	deviceProfile := fs.String("device-profile", "", "simulate the device: a built-in profile `name` or a YAML file (see docs/device.md)")
	setUsage(fs, "tandem serve [--config FILE] [--role device|cloud] [-m MODEL.gguf]... [--upstream URL]... [--listen ADDR] [--api-key-file F] [--print-config]", serveHelp)
	rest, err := parseFlags(fs, args, stderr)
	if err != nil {
		return config.Config{}, false, err
	}
	if len(rest) > 0 {
		return config.Config{}, false, usageError{fmt.Errorf("serve: unexpected argument %q (models go in -m)", rest[0])}
	}
	cfg := def
	if *cfgFile != "" {
		if cfg, err = config.Load(*cfgFile); err != nil {
			return cfg, false, usageError{err}
		}
	}
	if v := os.Getenv("TANDEM_NO_PULL"); v != "" && v != "0" {
		cfg.AutoPull = false
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	apply := func(name string, f func()) {
		if set[name] {
			f()
		}
	}
	apply("role", func() { cfg.Role = *role })
	apply("listen", func() { cfg.Listen = *listen })
	apply("log-level", func() { cfg.LogLevel = *logLevel })
	apply("max-body", func() { cfg.MaxBody = maxBody })
	apply("request-timeout", func() { cfg.RequestTimeout = *reqTimeout })
	apply("drain-timeout", func() { cfg.DrainTimeout = *drainTimeout })
	apply("threads", func() { cfg.Threads = *threads })
	apply("mem-limit", func() { cfg.MemLimit = memLimit })
	apply("no-pull", func() { cfg.AutoPull = !*noPull })
	apply("pull", func() { cfg.PullModel = *pullModel })
	apply("models-dir", func() { cfg.ModelsDir = *modelsDir })
	apply("api-key-file", func() { cfg.Auth.KeyFile = *keyFile })
	apply("rate-limit", func() { cfg.Limits.RequestsPerMinute = *rpm })
	apply("token-budget", func() { cfg.Limits.TokensPerDay = *tpd })
	apply("privacy", func() { cfg.Router.Privacy = *privacyMode })
	apply("cloud-share", func() { cfg.Router.CloudShare = *cloudShare })
	apply("cascade", func() { cfg.Router.Cascade.Enabled = *cascade })
	apply("router-model", func() { cfg.Router.Model = *routerModel })
	apply("no-router", func() { on := !*noRouter; cfg.Router.Enabled = &on })
	apply("device-profile", func() { cfg.Device.Profile = *deviceProfile })
	for _, m := range models {
		cfg.Tiers = append(cfg.Tiers, config.Tier{Path: m})
	}
	if len(upstreams) > 0 {
		cfg.Tiers = append(cfg.Tiers, config.Tier{URLs: upstreams})
	}
	for i := range cfg.Tiers {
		t := &cfg.Tiers[i]
		if t.Local() {
			apply("context", func() { t.Context = *ctxLen })
			apply("parallel", func() { t.MaxConcurrency = *parallel })
			apply("queue", func() { t.Queue = *queue })
			apply("chat-template", func() { t.ChatTemplate = *tmpl })
			apply("cost-input", func() { t.CostInput = *costIn })
			apply("cost-output", func() { t.CostOutput = *costOut })
		} else {
			apply("upstream-model", func() { t.Model = *upModel })
			apply("upstream-key-env", func() { t.APIKeyEnv = *upKeyEnv })
			apply("upstream-context", func() { t.Context = *upCtx })
			apply("upstream-parallel", func() { t.MaxConcurrency = *upParallel })
			apply("upstream-cost-input", func() { t.CostInput = *upCostIn })
			apply("upstream-cost-output", func() { t.CostOutput = *upCostOut })
		}
	}
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return cfg, false, usageError{fmt.Errorf("serve: %w", err)}
	}
	return cfg, *printCfg, nil
}

// buildTiers loads the local models and sets up the upstream pools. The
// returned function releases what was built, also after an error.
func buildTiers(ctx context.Context, cfg config.Config, um *server.UpstreamMetrics, log *slog.Logger) ([]server.Tier, []router.Tier, func(), error) {
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	var tiers []server.Tier
	var specs []router.Tier
	for _, t := range cfg.Tiers {
		st := server.Tier{Name: t.Name, Model: t.Model, Context: t.Context, CostInput: t.CostInput, CostOutput: t.CostOutput}
		rt := router.Tier{Name: t.Name, Local: t.Local(), MinDifficulty: t.MinDifficulty, Recovers: t.Recovers,
			Spec: device.TierSpec{ParamsB: t.ParamsB, Accel: t.Accel, PriceInPerM: t.CostInput, PriceOutPerM: t.CostOutput}}
		if t.Local() {
			st.Kind = server.KindLocal
			start := time.Now()
			e, err := engine.Load(t.Path, engine.Options{Threads: cfg.Threads, Context: t.Context, MemLimit: int64(cfg.MemLimit)})
			if err != nil {
				return nil, nil, closeAll, fmt.Errorf("serve: tier %s: %w", t.Name, err)
			}
			closers = append(closers, func() { e.Close() })
			tmpl, err := chatTemplate(e, t.ChatTemplate)
			if err != nil {
				if t.ChatTemplate != "" {
					return nil, nil, closeAll, fmt.Errorf("serve: tier %s: %w", t.Name, err)
				}
				log.Warn("no usable chat template: serving /v1/completions only", "tier", t.Name, "err", err)
			}
			b, err := local.New(e, tmpl, local.Options{Parallel: t.MaxConcurrency, Queue: t.Queue, Context: t.Context})
			if err != nil {
				return nil, nil, closeAll, fmt.Errorf("serve: tier %s: %w", t.Name, err)
			}
			closers = append(closers, b.Close)
			st.Backend = b
			st.QueueDepth = b.QueueDepth
			if st.Context == 0 {
				st.Context = e.DefaultContext()
			}
			mem := e.Memory(st.Context)
			rt.Spec.WeightsBytes, rt.Spec.KVBytes = uint64(mem.Weights), uint64(mem.KV)
			if rt.Spec.ParamsB == 0 {
				rt.Spec.ParamsB = float64(e.Model.ParamCount()) / 1e9
			}
			tn := "none"
			if tmpl != nil {
				tn = tmpl.Name()
			}
			log.Info("loaded model", "tier", t.Name, "model", t.Model, "path", t.Path, "context", st.Context,
				"chat_template", tn, "ms", time.Since(start).Milliseconds())
		} else {
			st.Kind = server.KindCloud
			var ups []cloud.Upstream
			for _, u := range t.URLs {
				up := cloud.Upstream{URL: upstreamURL(u), Model: t.Model}
				if t.APIKeyEnv != "" {
					up.APIKey = os.Getenv(t.APIKeyEnv)
				}
				ups = append(ups, up)
			}
			pool, err := cloud.NewPool(ups, cloud.Options{Observer: um.Observer(t.Name), Logger: log})
			if err != nil {
				return nil, nil, closeAll, fmt.Errorf("serve: tier %s: %w", t.Name, err)
			}
			pool.Start(ctx)
			st.Backend = server.Limit(pool, t.MaxConcurrency)
			log.Info("upstream tier", "tier", t.Name, "model", t.Model, "replicas", len(ups))
		}
		tiers = append(tiers, st)
		specs = append(specs, rt)
	}
	return tiers, specs, closeAll, nil
}

// buildRouter sets up the router and the device monitor from the
// configuration (nil, nil when routing is off).
func buildRouter(cfg config.Config, specs []router.Tier, log *slog.Logger) (*router.Router, *device.Monitor, error) {
	if !cfg.RouterEnabled() {
		return nil, nil, nil
	}
	mo := device.MonitorOptions{PushTTL: cfg.Device.PushTTL, Logger: log}
	if cfg.Device.Sysfs == nil || *cfg.Device.Sysfs {
		if runtime.GOOS == "linux" || runtime.GOOS == "android" {
			mo.FS = os.DirFS("/")
		}
	}
	costParams := device.DefaultCostParams()
	if name := cfg.Device.Profile; name != "" {
		p, err := device.OpenProfile(name)
		if err != nil {
			return nil, nil, fmt.Errorf("serve: device profile: %w", err)
		}
		mo.Profile = p
		costParams = p.Cost
	}
	mon := device.NewMonitor(mo)
	rt, err := newRouter(cfg.Router, specs, costParams, &device.Governor{MaxThreads: cfg.Threads}, log)
	if err != nil {
		return nil, nil, fmt.Errorf("serve: %w", err)
	}
	return rt, mon, nil
}

// newRouter builds the router a configuration describes (serve and
// simulate): its difficulty model file, if any, and its policy.
func newRouter(rc config.Router, tiers []router.Tier, cost device.CostParams, gov *device.Governor, log *slog.Logger) (*router.Router, error) {
	var model *router.Model
	if rc.Model != "" {
		m, err := router.LoadModelFile(rc.Model)
		if err != nil {
			return nil, fmt.Errorf("router model: %w", err)
		}
		model = m
	}
	return router.New(router.Options{
		Tiers: tiers,
		Model: model,
		Policy: router.Policy{
			CloudShare: rc.CloudShareOrDefault(), Threshold: rc.Threshold, QualityTarget: rc.QualityTarget,
			CostPerDayUSD: rc.CostPerDay, LatencySLO: rc.LatencySLO, Privacy: privacy.Mode(rc.Privacy),
			SessionTTL: rc.SessionTTL, StickyMargin: rc.StickyMargin,
			Cascade: router.CascadeConfig{Enabled: rc.Cascade.Enabled, Window: rc.Cascade.Window,
				MinMeanLogprob: rc.Cascade.MinMeanLogprob, MaxEntropy: rc.Cascade.MaxEntropy},
		},
		Cost:     device.NewCostModel(cost),
		Governor: gov,
		Logger:   log,
	})
}

// chatTemplate is the override when one is named, else the model's own.
func chatTemplate(e *engine.Engine, override string) (*chat.Template, error) {
	var t chat.Template
	var err error
	if override != "" {
		t, err = chat.ByName(override)
	} else {
		t, err = chat.FromGGUF(e.Model.File)
	}
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// upstreamURL completes a bare http://host:port with the /v1 API prefix.
func upstreamURL(u string) string {
	pu, err := url.Parse(u)
	if err != nil || strings.Trim(pu.Path, "/") != "" {
		return strings.TrimRight(u, "/")
	}
	pu.Path = "/v1"
	return pu.String()
}
