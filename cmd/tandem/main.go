// Command tandem is the Tandem CLI: run, tokenize and inspect GGUF models.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

const usage = `tandem: a hybrid on-device + cloud LLM runtime

Usage:
  tandem serve [-m MODEL.gguf]... [--upstream URL]... [--config FILE]      OpenAI-compatible API server
  tandem run -m MODEL.gguf [-p PROMPT | -f FILE] [-n N] [--temp T] ...   generate text
  tandem tokenize -m MODEL.gguf [--bos] [--file F | TEXT]                  print token ids
  tandem inspect MODEL.gguf [-c CTX]                                      describe a model file
  tandem bench -m MODEL.gguf [-p 128] [-n 64] [-t N] [-r REPS] [--json]    prefill and decode speed
  tandem synth --preset NAME --type Q4_K_M [-o FILE]                       write a synthetic model of a real shape
  tandem simulate --profile P --traffic FILE [--json] [--plot out.png]     replay traffic on a simulated device through the router
  tandem pull REF [--force] [--quiet]                                      download a GGUF from the Hugging Face hub
  tandem list                                                              list pulled models
  tandem rm REF|FILE...                                                    delete pulled models
  tandem router train|eval|score|calibrate ...                             train and evaluate the local/cloud difficulty router

Run 'tandem COMMAND -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "tandem:", err)
		}
		os.Exit(exitCode(err))
	}
}

// usageError marks errors in how the command was called (exit status 2).
type usageError struct{ error }

func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{errors.New("no command given")}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "run":
		return cmdRun(ctx, rest, stdout, stderr)
	case "tokenize":
		return cmdTokenize(rest, stdout, stderr)
	case "inspect":
		return cmdInspect(rest, stdout, stderr)
	case "bench":
		return cmdBench(ctx, rest, stdout, stderr)
	case "synth":
		return cmdSynth(rest, stdout, stderr)
	case "pull":
		return cmdPull(ctx, rest, stdout, stderr)
	case "simulate":
		return cmdSimulate(ctx, rest, stdout, stderr)
	case "list":
		return cmdList(rest, stdout, stderr)
	case "rm":
		return cmdRm(rest, stdout, stderr)
	case "router":
		return cmdRouter(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Errorf("unknown command %q", cmd)}
}

// parseFlags parses a subcommand's flags, turning flag errors into usage
// errors; positional arguments are returned.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err}
	}
	return fs.Args(), nil
}
