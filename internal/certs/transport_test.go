package certs

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// The transport of scopedConfig adds fieldSelector=metadata.name=<name> to
// lists and watches of the Secrets of the Secret's namespace and of the two
// kinds of webhook configuration, and to nothing else. The requests go
// through an HTTP client built from the config, as cache.New builds it, to a
// server that records what it receives.
func TestScopedConfig(t *testing.T) {
	const (
		secrets    = "/api/v1/namespaces/license-operator-system/secrets"
		validating = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
		mutating   = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"
	)
	secretName := "fieldSelector=metadata.name%3Dwebhook-server-cert"
	cases := []struct {
		name, method, path, query string
		// wantQuery is the query the API server receives.
		wantQuery string
	}{
		{name: "a list of the namespace's Secrets", method: http.MethodGet, path: secrets, query: "limit=500&resourceVersion=0",
			wantQuery: secretName + "&limit=500&resourceVersion=0"},
		{name: "a watch of the namespace's Secrets", method: http.MethodGet, path: secrets, query: "resourceVersion=7&watch=true",
			wantQuery: secretName + "&resourceVersion=7&watch=true"},
		{name: "a streaming list (sendInitialEvents) of the namespace's Secrets", method: http.MethodGet, path: secrets,
			query:     "allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&sendInitialEvents=true&watch=true",
			wantQuery: "allowWatchBookmarks=true&" + secretName + "&resourceVersionMatch=NotOlderThan&sendInitialEvents=true&watch=true"},
		{name: "a selector the request has is kept, ANDed", method: http.MethodGet, path: secrets, query: "fieldSelector=type%3DOpaque",
			wantQuery: "fieldSelector=type%3DOpaque%2Cmetadata.name%3Dwebhook-server-cert"},
		{name: "a trailing slash", method: http.MethodGet, path: secrets + "/", wantQuery: secretName},
		{name: "behind a proxy that prefixes the path", method: http.MethodGet, path: "/k8s/clusters/c-1" + secrets, wantQuery: secretName},
		{name: "a list of validating webhook configurations", method: http.MethodGet, path: validating, query: "limit=500",
			wantQuery: "fieldSelector=metadata.name%3Dlicense-operator-validating-webhook-configuration&limit=500"},
		{name: "a watch of mutating webhook configurations", method: http.MethodGet, path: mutating, query: "watch=true",
			wantQuery: "fieldSelector=metadata.name%3Dlicense-operator-mutating-webhook-configuration&watch=true"},

		{name: "a get of the Secret by name", method: http.MethodGet, path: secrets + "/webhook-server-cert"},
		{name: "a get of another Secret by name", method: http.MethodGet, path: secrets + "/other"},
		{name: "an update of the Secret", method: http.MethodPut, path: secrets + "/webhook-server-cert"},
		{name: "a create in the Secrets' collection", method: http.MethodPost, path: secrets},
		{name: "a deletecollection of the Secrets", method: http.MethodDelete, path: secrets},
		{name: "a list of another namespace's Secrets", method: http.MethodGet, path: "/api/v1/namespaces/default/secrets", query: "limit=500"},
		{name: "a namespace whose name ends like the Secret's", method: http.MethodGet, path: "/api/v1/namespaces/my-license-operator-system/secrets"},
		{name: "a list of every namespace's Secrets", method: http.MethodGet, path: "/api/v1/secrets"},
		{name: "a list of the namespace's ConfigMaps", method: http.MethodGet, path: "/api/v1/namespaces/license-operator-system/configmaps"},
		{name: "an update of a webhook configuration", method: http.MethodPut, path: validating + "/license-operator-validating-webhook-configuration"},
		{name: "a get of a webhook configuration by name", method: http.MethodGet, path: mutating + "/license-operator-mutating-webhook-configuration"},
		{name: "a list of the v1beta1 webhook configurations", method: http.MethodGet,
			path: "/apis/admissionregistration.k8s.io/v1beta1/validatingwebhookconfigurations"},
		{name: "discovery", method: http.MethodGet, path: "/apis/admissionregistration.k8s.io/v1"},
	}

	type request struct{ Method, Path, Query string }
	received := make(chan request, 1)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received <- request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}
		w.WriteHeader(http.StatusOK)
	}))
	defer server.Close()

	cfg := scopedConfig(&rest.Config{Host: server.URL}, Options{
		Secret:                         types.NamespacedName{Namespace: "license-operator-system", Name: "webhook-server-cert"},
		ValidatingWebhookConfiguration: "license-operator-validating-webhook-configuration",
		MutatingWebhookConfiguration:   "license-operator-mutating-webhook-configuration",
	})
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := server.URL + tc.path
			if tc.query != "" {
				u += "?" + tc.query
			}
			req, err := http.NewRequest(tc.method, u, nil)
			if err != nil {
				t.Fatal(err)
			}
			sent := req.URL.String()
			resp, err := httpClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			want := request{Method: tc.method, Path: tc.path, Query: tc.query}
			if tc.wantQuery != "" {
				want.Query = tc.wantQuery
			}
			if diff := cmp.Diff(want, <-received); diff != "" {
				t.Errorf("the API server received (-want +got):\n%s", diff)
			}
			if req.URL.String() != sent {
				t.Errorf("the caller's request was changed: %s, sent %s", req.URL, sent)
			}
		})
	}

	// The config of the manager, which every other client uses, is not changed.
	if cfg.WrapTransport == nil {
		t.Fatal("the scoped config has no transport wrapper")
	}
	plain := &rest.Config{Host: server.URL}
	_ = scopedConfig(plain, Options{Secret: types.NamespacedName{Namespace: "ns", Name: "s"}})
	if plain.WrapTransport != nil {
		t.Error("scopedConfig changed the manager's config")
	}
}
