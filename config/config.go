// Package config is the configuration of `tandem serve`: one YAML file
// describing the role, the listen address, the tiers (local models and
// upstream pools), API keys and limits. The CLI's flags override the file's
// values; Config.YAML prints the effective configuration with secrets
// redacted.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/tandem-llm/tandem/units"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole serve configuration.
type Config struct {
	Role           string        `yaml:"role"`   // device (default) or cloud
	Listen         string        `yaml:"listen"` // host:port
	LogLevel       string        `yaml:"log_level"`
	MaxBody        Size          `yaml:"max_body"`        // request body limit
	RequestTimeout time.Duration `yaml:"request_timeout"` // per generation request; 0: none
	DrainTimeout   time.Duration `yaml:"drain_timeout"`   // how long in-flight requests may finish at shutdown

	// Local models.
	Threads  int  `yaml:"threads"`   // engine worker threads per model; 0: all CPUs
	MemLimit Size `yaml:"mem_limit"` // per model: weights + KV caches; 0: no limit

	// With no tier configured, the default model is pulled from the hub.
	AutoPull  bool   `yaml:"auto_pull"`
	PullModel string `yaml:"pull_model,omitempty"` // hub reference; empty: hub.DefaultModel
	ModelsDir string `yaml:"models_dir,omitempty"` // hub cache; empty: the hub's default

	Auth   Auth   `yaml:"auth"`
	Limits Limits `yaml:"limits"`
	Tiers  []Tier `yaml:"tiers"`

	Router Router `yaml:"router"`
	Device Device `yaml:"device"`
}

// Router configures the device role's per-request routing (docs/router.md).
type Router struct {
	// Enabled: nil routes on a device that has a local and a cloud tier.
	Enabled       *bool         `yaml:"enabled,omitempty"`
	Model         string        `yaml:"model,omitempty"`          // difficulty model file; empty: the built-in one
	CloudShare    float64       `yaml:"cloud_share,omitempty"`    // target share of requests leaving the smallest tier (online recalibration); default 0.3 unless threshold or quality_target is set
	Threshold     float64       `yaml:"threshold,omitempty"`      // fixed difficulty threshold; 0: the model's
	QualityTarget float64       `yaml:"quality_target,omitempty"` // smallest tier predicted to reach it
	CostPerDay    float64       `yaml:"cost_per_day,omitempty"`   // USD on paid tiers per UTC day; 0: no limit
	LatencySLO    time.Duration `yaml:"latency_slo,omitempty"`    // predicted latency above this moves the request
	Privacy       string        `yaml:"privacy,omitempty"`        // strict, mask (default) or allow
	SessionTTL    time.Duration `yaml:"session_ttl,omitempty"`    // conversations stick to a tier this long (default 30m)
	StickyMargin  float64       `yaml:"sticky_margin,omitempty"`  // difficulty margin to move a conversation up (default 0.1)
	Cascade       Cascade       `yaml:"cascade"`
}

// Cascade configures escalation of low-confidence local answers.
type Cascade struct {
	Enabled        bool    `yaml:"enabled"`
	Window         int     `yaml:"window,omitempty"`           // tokens (default 8)
	MinMeanLogprob float64 `yaml:"min_mean_logprob,omitempty"` // default -2.5
	MaxEntropy     float64 `yaml:"max_entropy,omitempty"`      // nats; 0: off
}

// Device configures where the device's state comes from (docs/device.md).
type Device struct {
	Sysfs   *bool         `yaml:"sysfs,omitempty"`    // read /sys and /proc (default: on Linux)
	Profile string        `yaml:"profile,omitempty"`  // simulated device: a built-in profile name or a YAML file
	PushTTL time.Duration `yaml:"push_ttl,omitempty"` // how long pushed values override read ones (default 5m)
}

// DefaultCloudShare is the share of requests the router sends beyond the
// smallest tier when no threshold, quality target or share is configured.
const DefaultCloudShare = 0.3

// CloudShareOrDefault is the target share of requests leaving the smallest tier:
// the configured one, else DefaultCloudShare unless a fixed threshold or a
// quality target is configured (then 0: no online recalibration).
func (r Router) CloudShareOrDefault() float64 {
	if r.CloudShare > 0 || r.Threshold > 0 || r.QualityTarget > 0 {
		return r.CloudShare
	}
	return DefaultCloudShare
}

// RouterEnabled reports whether requests are routed: on a device with a
// local and a cloud tier unless switched off, or when switched on.
func (c *Config) RouterEnabled() bool {
	if c.Router.Enabled != nil {
		return *c.Router.Enabled && c.Role == "device"
	}
	local, cloud := false, false
	for _, t := range c.Tiers {
		local = local || t.Local()
		cloud = cloud || !t.Local()
	}
	return c.Role == "device" && local && cloud
}

// Auth lists the API keys clients must present (as "Authorization: Bearer
// KEY"). Keys also come from the TANDEM_API_KEYS environment variable
// (comma-separated). With no key at all, requests are not authenticated.
type Auth struct {
	KeyFile string   `yaml:"key_file,omitempty"` // one key per line; blank lines and # comments skipped
	Keys    []string `yaml:"keys,omitempty"`     // prefer key_file or the environment
}

// Limits apply to each API key.
type Limits struct {
	RequestsPerMinute int   `yaml:"requests_per_minute"` // 0: unlimited
	TokensPerDay      int64 `yaml:"tokens_per_day"`      // prompt + completion per UTC day; 0: unlimited
}

// Tier is a local model (Path) or a pool of upstream replicas (URLs).
type Tier struct {
	Name string `yaml:"name"`
	// Where: a GGUF file, or the base URLs of OpenAI-compatible servers
	// (replicas of one model; "url" is accepted for a single one).
	Path string   `yaml:"path,omitempty"`
	URLs []string `yaml:"urls,omitempty"`
	URL  string   `yaml:"url,omitempty"`
	// Model is the name the tier serves: for a local model the file's base
	// name without .gguf by default; for upstreams the model they are asked
	// for (empty: the requested name is passed through).
	Model     string `yaml:"model,omitempty"`
	APIKeyEnv string `yaml:"api_key_env,omitempty"` // upstreams: environment variable holding the key to send

	CostInput  float64 `yaml:"cost_input"`  // USD per 1M prompt tokens
	CostOutput float64 `yaml:"cost_output"` // USD per 1M completion tokens

	// For the router: the model's size in billions of parameters (local:
	// read from the file when 0; cloud: 0 means 10× the tier before it),
	// the accelerator a local model runs on (cpu, gpu, npu), the difficulty
	// from which the tier is wanted, and the share of the smallest tier's
	// failures it answers well.
	ParamsB       float64 `yaml:"params_b,omitempty"`
	Accel         string  `yaml:"accel,omitempty"`
	MinDifficulty float64 `yaml:"min_difficulty,omitempty"`
	Recovers      float64 `yaml:"recovers,omitempty"`

	Context        int    `yaml:"context,omitempty"`         // tokens per request; 0: the model's
	MaxConcurrency int    `yaml:"max_concurrency,omitempty"` // requests generating at once; 0: default
	Queue          int    `yaml:"queue,omitempty"`           // local: requests waiting for a slot; 0: default
	ChatTemplate   string `yaml:"chat_template,omitempty"`   // local: template family overriding the model's
}

// Local reports whether the tier is a local model.
func (t Tier) Local() bool { return t.Path != "" }

// Defaults.
const (
	DefaultListen       = "127.0.0.1:8080"
	DefaultMaxBody      = 1 << 20
	DefaultDrainTimeout = 30 * time.Second
	DefaultRoleName     = "device"
)

// Default is the configuration with no file and no flags.
func Default() Config {
	return Config{Role: DefaultRoleName, Listen: DefaultListen, LogLevel: "info", MaxBody: DefaultMaxBody,
		DrainTimeout: DefaultDrainTimeout, RequestTimeout: 10 * time.Minute, AutoPull: true}
}

// Load reads a YAML file over the defaults. Unknown keys are errors (a typo
// must not silently drop a setting).
func Load(path string) (Config, error) {
	c := Default()
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	if err := Parse(b, &c); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	// Relative model paths and key files are relative to the file.
	dir := filepath.Dir(path)
	for i := range c.Tiers {
		if p := c.Tiers[i].Path; p != "" && !filepath.IsAbs(p) {
			c.Tiers[i].Path = filepath.Join(dir, p)
		}
	}
	if p := c.Auth.KeyFile; p != "" && !filepath.IsAbs(p) {
		c.Auth.KeyFile = filepath.Join(dir, p)
	}
	return c, nil
}

// Parse decodes YAML into c, keeping c's values for absent keys.
func Parse(b []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) { // an empty file is the defaults
		return err
	}
	return nil
}

// Normalize fills derived fields: tier names and model names from paths,
// URL into URLs. Call it after flags are applied and before Validate.
func (c *Config) Normalize() {
	for i := range c.Tiers {
		t := &c.Tiers[i]
		if t.URL != "" {
			t.URLs = append([]string{t.URL}, t.URLs...)
			t.URL = ""
		}
		if t.Local() && t.Model == "" {
			t.Model = ModelName(t.Path)
		}
		if t.Name == "" {
			switch {
			case t.Local():
				t.Name = t.Model
			default:
				t.Name = "cloud"
			}
		}
	}
	// Make generated names unique: cloud, cloud-2, …
	seen := map[string]int{}
	for i := range c.Tiers {
		t := &c.Tiers[i]
		seen[t.Name]++
		if n := seen[t.Name]; n > 1 {
			t.Name = fmt.Sprintf("%s-%d", t.Name, n)
		}
	}
}

// ModelName is the name a local model is served under: its file's base name
// without .gguf.
func ModelName(path string) string {
	base := filepath.Base(path)
	if strings.HasSuffix(strings.ToLower(base), ".gguf") {
		base = base[:len(base)-len(".gguf")]
	}
	return base
}

// Validate checks the configuration; every problem is reported.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Role != "device" && c.Role != "cloud" {
		bad("role %q: want device or cloud", c.Role)
	}
	if c.Listen == "" {
		bad("listen: an address (host:port) is required")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level %q: want debug, info, warn or error", c.LogLevel)
	}
	if c.MaxBody <= 0 {
		bad("max_body must be positive")
	}
	if c.RequestTimeout < 0 || c.DrainTimeout < 0 {
		bad("request_timeout and drain_timeout must not be negative")
	}
	if c.Threads < 0 || c.MemLimit < 0 {
		bad("threads and mem_limit must not be negative")
	}
	if c.Limits.RequestsPerMinute < 0 || c.Limits.TokensPerDay < 0 {
		bad("limits must not be negative")
	}
	r := c.Router
	for _, f := range []struct {
		name string
		v    float64
	}{{"cloud_share", r.CloudShare}, {"threshold", r.Threshold}, {"quality_target", r.QualityTarget}, {"sticky_margin", r.StickyMargin}} {
		if f.v < 0 || f.v > 1 {
			bad("router.%s %v: want a value within [0, 1]", f.name, f.v)
		}
	}
	if r.CostPerDay < 0 || r.LatencySLO < 0 || r.SessionTTL < 0 || r.Cascade.Window < 0 || r.Cascade.MinMeanLogprob > 0 || r.Cascade.MaxEntropy < 0 {
		bad("router: cost_per_day, latency_slo, session_ttl, cascade.window and cascade.max_entropy must not be negative; cascade.min_mean_logprob must not be positive")
	}
	switch r.Privacy {
	case "", "strict", "mask", "allow":
	default:
		bad("router.privacy %q: want strict, mask or allow", r.Privacy)
	}
	if c.Device.PushTTL < 0 {
		bad("device.push_ttl must not be negative")
	}
	names, models := map[string]bool{}, map[string]bool{}
	for i, t := range c.Tiers {
		id := fmt.Sprintf("tier %d (%s)", i+1, t.Name)
		if names[t.Name] {
			bad("%s: the name is used twice", id)
		}
		names[t.Name] = true
		switch {
		case t.Path != "" && (len(t.URLs) > 0 || t.URL != ""):
			bad("%s: set either path (a local model) or urls (upstreams), not both", id)
		case t.Path == "" && len(t.URLs) == 0 && t.URL == "":
			bad("%s: set path (a local model) or urls (upstreams)", id)
		}
		for _, u := range append(t.URLs, t.URL) {
			if u == "" {
				continue
			}
			pu, err := url.Parse(u)
			if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				bad("%s: url %q: want http(s)://host[:port][/path]", id, u)
			}
		}
		if t.Local() {
			if models[t.Model] {
				bad("%s: two local models are served as %q; set model: to tell them apart", id, t.Model)
			}
			models[t.Model] = true
			if t.APIKeyEnv != "" {
				bad("%s: api_key_env is for upstreams", id)
			}
		} else if t.ChatTemplate != "" {
			bad("%s: chat_template is for local models", id)
		}
		if t.CostInput < 0 || t.CostOutput < 0 || t.Context < 0 || t.MaxConcurrency < 0 || t.Queue < 0 {
			bad("%s: cost, context, max_concurrency and queue must not be negative", id)
		}
		if t.ParamsB < 0 || t.MinDifficulty < 0 || t.MinDifficulty > 1 || t.Recovers < 0 || t.Recovers > 1 {
			bad("%s: params_b must not be negative; min_difficulty and recovers are within [0, 1]", id)
		}
		switch t.Accel {
		case "", "cpu", "gpu", "npu":
		default:
			bad("%s: accel %q: want cpu, gpu or npu", id, t.Accel)
		}
	}
	return errors.Join(errs...)
}

// APIKeys collects the keys from the config, the key file and the
// TANDEM_API_KEYS environment variable (getenv; nil: os.Getenv).
func (c *Config) APIKeys(getenv func(string) string) ([]string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var keys []string
	add := func(k string) {
		if k = strings.TrimSpace(k); k != "" && !strings.HasPrefix(k, "#") {
			keys = append(keys, k)
		}
	}
	for _, k := range c.Auth.Keys {
		add(k)
	}
	for _, k := range strings.Split(getenv("TANDEM_API_KEYS"), ",") {
		add(k)
	}
	if c.Auth.KeyFile != "" {
		b, err := os.ReadFile(c.Auth.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("config: api key file: %w", err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			add(line)
		}
	}
	return keys, nil
}

// YAML is the configuration as a YAML document, with inline API keys
// redacted.
func (c Config) YAML() ([]byte, error) {
	if n := len(c.Auth.Keys); n > 0 {
		c.Auth.Keys = make([]string, n)
		for i := range c.Auth.Keys {
			c.Auth.Keys[i] = "<redacted>"
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return buf.Bytes(), nil
}

// Size is a byte count written as 1048576, "512K", "1MiB", "1.5G".
type Size int64

// UnmarshalYAML accepts a number of bytes or a size with a binary unit.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a size must be a number or a string such as 1MiB", n.Line)
	}
	v, err := units.ParseBytes(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*s = Size(v)
	return nil
}

// MarshalYAML writes whole binary units when it can (1MiB), else bytes.
func (s Size) MarshalYAML() (any, error) {
	if str := s.String(); strings.HasSuffix(str, "B") {
		return str, nil
	}
	return int64(s), nil
}

// String prints the size as MarshalYAML does.
func (s Size) String() string {
	n := int64(s)
	for _, u := range []struct {
		shift uint
		name  string
	}{{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n != 0 && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d%s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprint(n)
}

// Set parses a flag value (flag.Value).
func (s *Size) Set(v string) error {
	n, err := units.ParseBytes(v)
	if err != nil {
		return err
	}
	*s = Size(n)
	return nil
}
