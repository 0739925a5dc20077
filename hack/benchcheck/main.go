// Command benchcheck reads the output of `go test -bench` and the goals table
// of docs/benchmarks.md, prints every figure a benchmark reported against its
// goal, and warns where a figure is more than 20 % worse than the one the
// document records for the same benchmark and size.
//
// The goals table is the Markdown table of docs/benchmarks.md whose header
// row has the columns "benchmark", "metric", "figure" and "goal" (others are
// free text). A row names the benchmark with its sub-benchmark, sizes
// included, without the -GOMAXPROCS suffix (`BenchmarkConverge/assignments=10000`),
// the metric as b.ReportMetric's unit (`converge/raw`), the figure recorded
// (a number; thousands separators and a trailing unit are ignored) and the
// goal as "≤ 1.2" or "≥ 0.95" (or "<=", ">="). The goal's direction says which
// way is worse.
//
// Usage:
//
//	go test ./test/bench/ -run '^$' -bench . -benchtime=1x | tee bench.log
//	go run ./hack/benchcheck -doc docs/benchmarks.md bench.log
//
// It exits non-zero only when its input cannot be read: a missed goal or a
// regression is a warning, printed, for a person to read.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Result is one metric of one benchmark run.
type Result struct {
	Bench  string // without the -GOMAXPROCS suffix
	Metric string
	Value  float64
}

// Goal is one row of the goals table.
type Goal struct {
	Bench, Metric string
	Figure        float64
	HasFigure     bool
	Target        float64
	// Lower is true when a smaller value is better (a goal "≤ x").
	Lower bool
	Line  int
}

var procSuffix = regexp.MustCompile(`-\d+$`)

// ParseBench reads `go test -bench` output: lines that start with
// "Benchmark", a name, an iteration count, then value-unit pairs.
func ParseBench(r io.Reader) ([]Result, error) {
	var out []Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(fields[1]); err != nil {
			continue // a log line that starts with a benchmark's name
		}
		name := procSuffix.ReplaceAllString(fields[0], "")
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				break
			}
			out = append(out, Result{Bench: name, Metric: fields[i+1], Value: v})
		}
	}
	return out, sc.Err()
}

var numberRe = regexp.MustCompile(`[-+]?[0-9][0-9,]*(\.[0-9]+)?`)

// number reads the first number of a table cell: "**1.04**", "2,401 B",
// "≤ 1.2" all read.
func number(cell string) (float64, bool) {
	m := numberRe.FindString(cell)
	if m == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(m, ",", ""), 64)
	return v, err == nil
}

func cells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	line = strings.TrimSuffix(line, "|")
	parts := strings.Split(line, "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func unquote(cell string) string {
	return strings.Trim(strings.TrimSpace(cell), "`*")
}

// ParseGoals reads the goals table(s) of a Markdown document.
func ParseGoals(r io.Reader) ([]Goal, error) {
	var goals []Goal
	sc := bufio.NewScanner(r)
	col := map[string]int{}
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			col = map[string]int{}
			continue
		}
		cs := cells(line)
		if len(col) == 0 {
			hdr := map[string]int{}
			for i, c := range cs {
				hdr[strings.ToLower(unquote(c))] = i
			}
			_, b := hdr["benchmark"]
			_, m := hdr["metric"]
			_, f := hdr["figure"]
			_, g := hdr["goal"]
			if b && m && f && g {
				col = hdr
			}
			continue
		}
		if strings.Trim(line, "|-: ") == "" {
			continue // the separator row
		}
		get := func(k string) string {
			if i := col[k]; i < len(cs) {
				return cs[i]
			}
			return ""
		}
		g := Goal{Bench: unquote(get("benchmark")), Metric: unquote(get("metric")), Line: n}
		if !strings.HasPrefix(g.Bench, "Benchmark") || g.Metric == "" {
			continue
		}
		g.Figure, g.HasFigure = number(get("figure"))
		goal := get("goal")
		switch {
		case strings.Contains(goal, "≤"), strings.Contains(goal, "<="):
			g.Lower = true
		case strings.Contains(goal, "≥"), strings.Contains(goal, ">="):
		default:
			return nil, fmt.Errorf("line %d: goal %q is neither ≤ x nor ≥ x", n, goal)
		}
		var ok bool
		if g.Target, ok = number(strings.NewReplacer("≤", "", "≥", "", "<=", "", ">=", "").Replace(goal)); !ok {
			return nil, fmt.Errorf("line %d: goal %q has no number", n, goal)
		}
		goals = append(goals, g)
	}
	return goals, sc.Err()
}

// Regression is how much worse v is than the recorded figure, as a fraction
// (0.25 is 25 % worse); 0 or less is no worse.
func (g Goal) Regression(v float64) float64 {
	if !g.HasFigure || g.Figure == 0 {
		return 0
	}
	if g.Lower {
		return v/g.Figure - 1
	}
	return 1 - v/g.Figure
}

// Met says whether v meets the goal.
func (g Goal) Met(v float64) bool {
	if g.Lower {
		return v <= g.Target
	}
	return v >= g.Target
}

// figure prints a value as the tables write it: four significant digits,
// whole numbers from 1,000 up.
func figure(v float64) string {
	if v >= 1000 || v <= -1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// Report writes one line per result that has a goal, and a warning for each
// regression over threshold. It returns the number of warnings.
func Report(w io.Writer, results []Result, goals []Goal, threshold float64) int {
	byKey := map[string]Goal{}
	for _, g := range goals {
		byKey[g.Bench+" "+g.Metric] = g
	}
	sort.SliceStable(results, func(i, j int) bool { return results[i].Bench < results[j].Bench })
	warnings := 0
	printf := func(format string, a ...any) { _, _ = fmt.Fprintf(w, format, a...) }
	printf("benchcheck: figures against docs/benchmarks.md\n")
	for _, r := range results {
		g, ok := byKey[r.Bench+" "+r.Metric]
		if !ok {
			continue
		}
		op := "≥"
		if g.Lower {
			op = "≤"
		}
		verdict := "met"
		if !g.Met(r.Value) {
			verdict = "MISSED"
		}
		recorded := "none recorded"
		if g.HasFigure {
			recorded = fmt.Sprintf("recorded %g", g.Figure)
		}
		printf("  %s %s = %s (goal %s %g: %s; %s)\n", r.Bench, r.Metric, figure(r.Value), op, g.Target, verdict, recorded)
		if reg := g.Regression(r.Value); reg > threshold {
			warnings++
			printf("WARNING: %s %s regressed %.0f%% from %g recorded in docs/benchmarks.md (line %d) to %s\n",
				r.Bench, r.Metric, 100*reg, g.Figure, g.Line, figure(r.Value))
		}
	}
	if warnings == 0 {
		printf("benchcheck: no regression over %.0f%%\n", 100*threshold)
	}
	return warnings
}

func main() {
	doc := flag.String("doc", "docs/benchmarks.md", "the document with the goals table")
	threshold := flag.Float64("threshold", 0.20, "warn when a figure is worse than the recorded one by more than this fraction")
	flag.Parse()
	in := io.Reader(os.Stdin)
	if flag.NArg() > 0 {
		f, err := os.Open(flag.Arg(0))
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchcheck:", err)
			os.Exit(2)
		}
		defer func() { _ = f.Close() }()
		in = f
	}
	results, err := ParseBench(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchcheck:", err)
		os.Exit(2)
	}
	f, err := os.Open(*doc)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchcheck:", err)
		os.Exit(2)
	}
	defer func() { _ = f.Close() }()
	goals, err := ParseGoals(f)
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchcheck: %s: %v\n", *doc, err)
		os.Exit(2)
	}
	Report(os.Stdout, results, goals, *threshold)
}
