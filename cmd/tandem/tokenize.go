package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tandem-llm/tandem/gguf"
	"github.com/tandem-llm/tandem/tokenizer"
)

func cmdTokenize(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tokenize", flag.ContinueOnError)
	modelPath := fs.String("m", "", "model or vocab-only `file` (GGUF)")
	bos := fs.Bool("bos", false, "add BOS (and EOS) as the vocabulary asks")
	file := fs.String("file", "", "read the text from `file`")
	special := fs.Bool("special", false, "parse special tokens written in the text (e.g. <|im_start|>)")
	rest, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	if *modelPath == "" {
		return usageError{errors.New("tokenize: -m MODEL.gguf is required")}
	}
	var text string
	switch {
	case *file != "" && len(rest) > 0:
		return usageError{errors.New("tokenize: give either --file or TEXT, not both")}
	case *file != "":
		b, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		text = string(b)
	default:
		text = strings.Join(rest, " ")
	}
	f, err := gguf.Open(*modelPath)
	if err != nil {
		return err
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return fmt.Errorf("%s: %w", *modelPath, err)
	}
	ids := tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: *bos, ParseSpecial: *special})
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	_, err = fmt.Fprintln(stdout, strings.Join(s, " "))
	return err
}
