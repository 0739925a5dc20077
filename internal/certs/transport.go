package certs

import (
	"net/http"
	"strings"
)

// nameScopedTransport adds a metadata.name field selector to the list and
// watch requests of some collections, and sends every request on to next.
type nameScopedTransport struct {
	next http.RoundTripper
	// names is the one object name allowed per collection path
	// ("/api/v1/namespaces/<ns>/secrets").
	names map[string]string
}

// scopeByName wraps rt so that a list or a watch (a GET of the collection
// itself, without a name segment) of a collection in names asks for the
// object of that name only: fieldSelector=metadata.name=<name>, ANDed with a
// selector the request already has. The API server authorizes such a list or
// watch against the resourceNames of RBAC rules, so a role that names the
// object is enough. Other requests (gets and writes of one object, other
// collections) pass unchanged.
//
// A collection matches when the request's path ends with it, so that a
// config whose host has a path (an API server behind a proxy) matches too.
func scopeByName(rt http.RoundTripper, names map[string]string) http.RoundTripper {
	return &nameScopedTransport{next: rt, names: names}
}

// RoundTrip implements http.RoundTripper.
func (t *nameScopedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	name, ok := t.nameFor(req)
	if !ok {
		return t.next.RoundTrip(req)
	}
	// A RoundTripper must not modify the request it is given.
	scoped := req.Clone(req.Context())
	q := scoped.URL.Query()
	selector := "metadata.name=" + name
	if existing := q.Get("fieldSelector"); existing != "" {
		selector = existing + "," + selector
	}
	q.Set("fieldSelector", selector)
	scoped.URL.RawQuery = q.Encode()
	return t.next.RoundTrip(scoped)
}

// nameFor returns the name a list or watch request must select, if it is one
// of a scoped collection.
func (t *nameScopedTransport) nameFor(req *http.Request) (string, bool) {
	if req.Method != http.MethodGet || req.URL == nil {
		return "", false
	}
	path := strings.TrimSuffix(req.URL.Path, "/")
	for collection, name := range t.names {
		if strings.HasSuffix(path, collection) { // every collection starts with "/"
			return name, true
		}
	}
	return "", false
}
