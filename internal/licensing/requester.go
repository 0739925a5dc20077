package licensing

// DefaultOperatorUsername is the username the API server gives the operator's
// ServiceAccount as config/default deploys it (namespace
// license-operator-system, ServiceAccount license-operator-controller-manager).
// The static parts of the installation that must recognise the operator (the
// ValidatingAdmissionPolicy that keeps tenants out of the seat ledgers, the
// matchConditions that let the operator's own writes skip its webhooks) name
// it; a deployment under another name must change them with it
// (docs/security.md).
const DefaultOperatorUsername = "system:serviceaccount:license-operator-system:license-operator-controller-manager"

// NotTheOperatorCondition is the name of the matchCondition on every webhook
// of the operator that lets the operator's own writes skip it.
const NotTheOperatorCondition = "not-the-operator"

// NotTheOperatorExpression is the CEL expression of that matchCondition for
// the operator's username: every request but the operator's reaches the
// webhook. config/webhook carries it for DefaultOperatorUsername.
func NotTheOperatorExpression(operatorUsername string) string {
	return "request.userInfo.username != '" + operatorUsername + "'"
}
