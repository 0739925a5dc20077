package kubectllicense

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/yaml"
)

// Format is an output format of -o.
type Format string

const (
	// FormatTable is columns for a person, kubectl's layout.
	FormatTable Format = "table"
	// FormatJSON is the command's data as indented JSON.
	FormatJSON Format = "json"
	// FormatYAML is the command's data as YAML.
	FormatYAML Format = "yaml"
	// FormatCSV is one table as comma-separated values, for a spreadsheet.
	FormatCSV Format = "csv"
)

// OutputFlag is the -o/--output flag of a subcommand.
type OutputFlag struct {
	value   string
	allowed []Format
}

// AddOutputFlag registers -o/--output on cmd with the formats it offers,
// the default first, and their completion.
func AddOutputFlag(cmd *cobra.Command, allowed ...Format) *OutputFlag {
	o := &OutputFlag{value: string(allowed[0]), allowed: allowed}
	cmd.Flags().StringVarP(&o.value, "output", "o", o.value, "Output format. One of: "+o.names()+".")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return strings.Split(o.names(), "|"), cobra.ShellCompDirectiveNoFileComp
	})
	return o
}

func (o *OutputFlag) names() string {
	names := make([]string, len(o.allowed))
	for i, f := range o.allowed {
		names[i] = string(f)
	}
	return strings.Join(names, "|")
}

// Format is the format asked for, or an error naming those on offer.
func (o *OutputFlag) Format() (Format, error) {
	f := Format(strings.ToLower(o.value))
	if f == "wide" {
		f = FormatTable
	}
	if !slices.Contains(o.allowed, f) {
		return "", fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: %s", o.value, strings.ReplaceAll(o.names(), "|", ","))
	}
	return f, nil
}

// Column headers that several tables share (printed upper-case).
const (
	colNamespace = "Namespace"
	colProduct   = "Product"
	colSeats     = "Seats"
	colWaiting   = "Waiting"
	colState     = "State"
)

// Table is rows of cells under headers.
type Table struct {
	// Title is printed above the table in -o table, when set.
	Title   string
	Headers []string
	Rows    [][]string
}

// Output is what a subcommand prints, built once for every format.
type Output struct {
	// Data is written by -o json and -o yaml.
	Data any
	// Tables are written by -o table, one after the other, then Notes.
	Tables []Table
	// Notes are lines after the tables in -o table (in json and yaml they
	// are part of Data).
	Notes []string
	// CSV is the table -o csv writes; the first of Tables when nil.
	CSV *Table
	// Empty is said, alone, in -o table when every table has no rows.
	Empty string
}

// Print writes out to w in format f.
func Print(w io.Writer, f Format, out Output) error {
	switch f {
	case FormatJSON:
		b, err := json.MarshalIndent(out.Data, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case FormatYAML:
		b, err := yaml.Marshal(out.Data)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case FormatCSV:
		t := out.CSV
		if t == nil && len(out.Tables) > 0 {
			t = &out.Tables[0]
		}
		if t == nil {
			return nil
		}
		return writeCSV(w, *t)
	}
	return writeTables(w, out)
}

func writeCSV(w io.Writer, t Table) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Headers); err != nil {
		return err
	}
	if err := cw.WriteAll(t.Rows); err != nil {
		return err
	}
	return cw.Error()
}

func writeTables(w io.Writer, out Output) error {
	if out.Empty != "" && !slices.ContainsFunc(out.Tables, func(t Table) bool { return len(t.Rows) > 0 }) {
		_, err := fmt.Fprintln(w, out.Empty)
		return err
	}
	var lines []string // before each table: a blank line, then its title
	for _, t := range out.Tables {
		if len(t.Rows) == 0 && t.Title != "" {
			continue // an empty section is left out; an untitled table always prints its headers
		}
		if t.Title != "" {
			lines = append(lines, t.Title)
		}
		if err := writeLines(w, lines...); err != nil {
			return err
		}
		lines = []string{""}
		// A tab writer per table: each table has columns of its own.
		tw := printers.GetNewTabWriter(w)
		rows := append([][]string{upper(t.Headers)}, t.Rows...)
		for _, r := range rows {
			if _, err := fmt.Fprintln(tw, strings.Join(r, "\t")); err != nil {
				return err
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(out.Notes) == 0 {
		return nil
	}
	return writeLines(w, append(lines, out.Notes...)...)
}

func writeLines(w io.Writer, lines ...string) error {
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
}

func upper(s []string) []string {
	out := make([]string, len(s))
	for i, h := range s {
		out[i] = strings.ToUpper(h)
	}
	return out
}

// orDash is s, or "-" for an empty cell (kubectl's <none> is too wide here).
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
