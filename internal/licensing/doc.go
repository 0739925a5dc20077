// Package licensing holds the arithmetic of licensing as pure functions: no
// client, no clock of its own (the time is a parameter), no I/O. The
// controllers and the webhooks read the cluster, hand what they read to a
// function here, and write what it decides; a webhook and a controller that
// ask the same question call the same function, so they cannot disagree.
// "Where is the rule for X?" should be answered by one function in this
// package:
//
//   - durations: ParseDuration and Duration (the calendar syntax 1y, 2m, 3d,
//     4h, 5min, 1w), used by the CRD schema, webhooks and controllers alike;
//   - the effective policy: ResolvePolicy (override, chosen policy, product
//     defaults, built-in defaults), BuiltinPolicy;
//   - a licence's state at an instant: ComputeLifecycle (validity.go: start,
//     expiry, grace, renewal), Usable and UsableForAdmission (state.go,
//     admission.go);
//   - seats: Grant (grant.go: which assignments get seats of which licence),
//     TakeSeats and LineOrder (takeseats.go: the line of waiting workloads),
//     ComputeCompliance, AvailableSeats and SeatsExhausted (compliance.go),
//     the seat ledger's rules (ledger.go) and the messages a waiting
//     workload is told (line_messages.go);
//   - who may hold a seat: AssigneeFits and NamespaceAllowedByProduct
//     (assignment_rules.go), the user of a workload (identity.go), licence
//     managers' RoleBindings (ManagerSubjects);
//   - what a workload needs: WorkloadFromPodSpec and MatchImage
//     (admission.go), features (features.go), consumption and feature uses
//     (consumption.go, uses.go), activations (activations.go);
//   - NodeLocked seats: fingerprints and offline grace (nodelock.go), virtual
//     machines and preventVM (vm.go, affinity.go);
//   - money: ComputeCost (cost.go);
//   - keys: GenerateKey and KeyFingerprint (key.go), access to a tenant's
//     key Secret (secretaccess.go);
//   - deletion: what happens to a licence or product that still has holders
//     (deletion.go);
//   - who the operator is to the API server: NotTheOperatorExpression
//     (requester.go).
package licensing
