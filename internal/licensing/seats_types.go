package licensing

// SeatUsage is what the assignments of a licence hold, as counted by the
// seat accounting of the SoftwareLicense controller.
type SeatUsage struct {
	// Used is the number of seats held by Bound assignments.
	Used int32
	// Pending is the number of seats requested by assignments that reference
	// the licence and are not Bound.
	Pending int32
	// Activations is the number of Bound assignments (activations) of the licence.
	Activations int32
	// Consumption is the usage reported by the licence's assignments in the
	// current consumption period.
	Consumption int64
}
