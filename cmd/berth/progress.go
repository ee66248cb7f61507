package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth"
)

// progressView shows per-service progress: lines redrawn in place on a terminal (as docker's
// service progress), one line per change otherwise. --progress chooses: auto, tty or plain.
// It is safe for concurrent use: a stack's actions of one step are applied in parallel.
type progressView struct {
	mu    sync.Mutex
	w     io.Writer
	live  bool
	order []string
	lines map[string]string
	drawn int
}

func addProgressFlag(cmd *cobra.Command, mode *string) {
	cmd.Flags().StringVar(mode, "progress", "auto", `Progress output: "auto" (redrawn on a terminal), "tty" or "plain"`)
}

func newProgress(w io.Writer, mode string) (*progressView, error) {
	p := &progressView{w: w, lines: map[string]string{}}
	switch mode {
	case "auto", "":
		f, ok := w.(*os.File)
		p.live = ok && isTerminal(f)
	case "tty":
		p.live = true
	case "plain":
	default:
		return nil, berth.Invalid("progress", "%q: want auto, tty or plain", mode)
	}
	return p, nil
}

// Set shows line as the current state of key.
func (p *progressView) Set(key, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.live {
		fmt.Fprintln(p.w, line)
		return
	}
	if _, ok := p.lines[key]; !ok {
		p.order = append(p.order, key)
	}
	p.lines[key] = line
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA", p.drawn)
	}
	for _, k := range p.order {
		fmt.Fprintf(p.w, "\x1b[2K%s\n", p.lines[k])
	}
	p.drawn = len(p.order)
}

// Line prints a line below the redrawn block, which starts again after it.
func (p *progressView) Line(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, s)
	p.order, p.lines, p.drawn = nil, map[string]string{}, 0
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}
