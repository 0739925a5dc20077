// Package kubectllicense is the kubectl plugin kubectl-license
// (cmd/kubectl-license): the licence administrator's view of the cluster.
// It reads what the operator writes (status, events, the labels and gates
// it puts on Pods) and never its internal seat ledgers (SeatLedger).
//
// # Layout
//
//   - root.go: NewRootCmd, the command tree, the one place that lists the
//     subcommands; Execute, what cmd/kubectl-license runs.
//   - factory.go: Factory, what every subcommand gets: the kubeconfig flags
//     of k8s.io/cli-runtime (--kubeconfig, --context, -n/--namespace, ...),
//     -A/--all-namespaces, a controller-runtime client with this project's
//     scheme, and the clock.
//   - printer.go: the -o flag (AddOutputFlag) and Print, which writes an
//     Output as a table, CSV, JSON or YAML. A subcommand builds its result
//     once, as data (for json/yaml) and as tables (for table/csv).
//   - access.go: reading in the namespaces the user may read and skipping
//     those that answer Forbidden (ListReadable, ListIn): what is not read
//     is counted from status, never named.
//   - complete.go: shell completion of licence, product, namespace and
//     context names.
//   - one file per subcommand, with its pure parts beside it: report.go,
//     holders.go (holders_events.go: the queue's events), export.go
//     (export_record.go: the seed 000 record).
//   - subpackages for the larger subcommands, which take their streams (and
//     the root's ConfigFlags) rather than the Factory: diagnose (why and
//     can-i, whose exit code main takes from diagnose.ExitCode), importer
//     (import) and validate (validate, also used by import).
//   - clitest: running a subcommand in a test, in-process or as the built
//     binary.
//
// # Adding a subcommand
//
// A subcommand is one file and one line:
//
//  1. In its own file, write
//
//     func NewXxxCmd(f *Factory, streams genericiooptions.IOStreams) *cobra.Command
//
//     It reads the cluster with f.Client() in the namespace of
//     f.ListNamespace() (or f.Namespace() for one object), takes the time
//     from f.Clock, and prints with AddOutputFlag and Print into
//     streams.Out. It returns its error from RunE: cmd/kubectl-license
//     prints it on stderr as "error: ..." and exits 1. Completion of names:
//     ValidArgsFunction: CompleteLicenceNames(f), or one like it.
//
//  2. In newRootCmd (root.go), add it: root.AddCommand(NewXxxCmd(f, streams)).
//
//  3. Test it like report_envtest_test.go: envtest (suite_test.go), the
//     objects and their status written as the operator would
//     (createLicence, createAssignment), the command run in-process by
//     runPlugin with a kubeconfig file, as a user runs it, on a fake clock;
//     and its pure parts in table tests like report_test.go.
//
//  4. Document it in docs/kubectl-license.md.
//
// Nothing else is shared: the Factory is built once by NewRootCmd, and its
// flags are parsed before any RunE runs.
package kubectllicense
