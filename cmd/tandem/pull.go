package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/tandem-llm/tandem/units"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"

	"github.com/tandem-llm/tandem/hub"
	"golang.org/x/term"
)

const refHelp = `REF is OWNER/NAME[/FILE.gguf][:QUANT][@REVISION], e.g.
  ` + hub.DefaultModel + `
  Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf
Files are kept in $TANDEM_HOME/models (TANDEM_HOME defaults to the user cache
directory + /tandem). TANDEM_HF_ENDPOINT replaces https://huggingface.co and
HF_TOKEN is sent as a bearer token (needed for private and gated models).
`

// parseInterspersed parses flags before, between and after positional
// arguments ("tandem pull REF --force").
func parseInterspersed(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	var pos []string
	for {
		rest, err := parseFlags(fs, args, stderr)
		if err != nil || len(rest) == 0 {
			return pos, err
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

func setUsage(fs *flag.FlagSet, synopsis, more string) {
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: %s\n\n", synopsis)
		fs.PrintDefaults()
		if more != "" {
			fmt.Fprint(out, "\n"+more)
		}
	}
}

// cliLogger writes hub events to stderr as "level=… msg=… key=value …"
// lines; on a terminal each line first clears the progress bar's line.
func cliLogger(stderr io.Writer) *slog.Logger {
	w := stderr
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		w = lineClearer{stderr}
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// lineClearer clears the terminal line before each write.
type lineClearer struct{ w io.Writer }

func (c lineClearer) Write(p []byte) (int, error) {
	if _, err := io.WriteString(c.w, "\r\x1b[K"); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

func cmdPull(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pull", flag.ContinueOnError)
	force := fs.Bool("force", false, "download again even if the file is already pulled")
	quiet := fs.Bool("quiet", false, "print only the path: no progress or log lines")
	setUsage(fs, "tandem pull REF [--force] [--quiet]", "Downloads a GGUF file from the Hugging Face hub and prints its local path.\n"+refHelp)
	rest, err := parseInterspersed(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{errors.New("pull: give exactly one model reference")}
	}
	opts := hub.Options{Force: *force}
	if !*quiet {
		opts.Progress = stderr
		opts.Logger = cliLogger(stderr)
	}
	path, err := hub.Pull(ctx, rest[0], opts)
	if err != nil {
		var re *hub.RefError
		if errors.As(err, &re) {
			return usageError{fmt.Errorf("pull: %w", err)}
		}
		return err
	}
	fmt.Fprintln(stdout, path)
	return nil
}

func cmdList(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	setUsage(fs, "tandem list", "Lists the pulled models.\n")
	rest, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Errorf("list: unexpected argument %q", rest[0])}
	}
	dir, err := hub.DefaultDir()
	if err != nil {
		return err
	}
	entries, err := hub.List(dir)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		fmt.Fprintf(stderr, "no models pulled yet (in %s); try 'tandem pull %s'\n", dir, hub.DefaultModel)
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tSIZE\tPULLED")
	for _, e := range entries {
		fmt.Fprintf(w, "%s\t%s\t%s\n", e.Name(), units.FormatBytes(e.Size), e.PulledAt.Local().Format("2006-01-02 15:04"))
	}
	return w.Flush()
}

func cmdRm(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rm", flag.ContinueOnError)
	setUsage(fs, "tandem rm REF|FILE...", "Deletes pulled models, named by reference (as for pull) or by file name.\n")
	rest, err := parseInterspersed(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return usageError{errors.New("rm: name at least one model")}
	}
	dir, err := hub.DefaultDir()
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range rest {
		if err := hub.Remove(dir, name); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(stdout, "removed %s\n", name)
	}
	return errors.Join(errs...)
}
