package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestResolveLeaderElectionNamespace(t *testing.T) {
	inCluster := func(string) ([]byte, error) { return []byte("license-operator-system\n"), nil }
	outside := func(string) ([]byte, error) { return nil, fs.ErrNotExist }
	cases := []struct {
		name        string
		leaderElect bool
		flag        string
		readFile    func(string) ([]byte, error)
		want        string
		wantErr     bool
	}{
		{name: "no leader election, outside a cluster", readFile: outside},
		{name: "the flag wins outside a cluster", leaderElect: true, flag: "ops", readFile: outside, want: "ops"},
		{name: "the flag wins in a cluster", leaderElect: true, flag: "ops", readFile: inCluster, want: "ops"},
		{name: "in a cluster: the own namespace", leaderElect: true, readFile: inCluster, want: "license-operator-system"},
		{name: "outside a cluster: an error naming the flag", leaderElect: true, readFile: outside, wantErr: true},
		{name: "an empty namespace file is no namespace", leaderElect: true,
			readFile: func(string) ([]byte, error) { return []byte(" \n"), nil }, wantErr: true},
		{name: "an unreadable namespace file", leaderElect: true,
			readFile: func(string) ([]byte, error) { return nil, errors.New("permission denied") }, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveLeaderElectionNamespace(tc.leaderElect, tc.flag, tc.readFile)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "--leader-election-namespace") {
					t.Fatalf("got %q, %v; want an error naming --leader-election-namespace", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// The leader-election Role grants get and update on the Lease of the
// default --leader-election-id only.
func TestLeaderElectionRoleNamesTheLease(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "config", "rbac", "leader_election_role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "- "+defaultLeaderElectionID+"\n") {
		t.Errorf("config/rbac/leader_election_role.yaml does not name the Lease %s", defaultLeaderElectionID)
	}
}

// --internal-cert-management needs its Secret, its DNS names and the
// directory the Secret is mounted in; each error names the flag to set.
func TestInternalCertOptions(t *testing.T) {
	valid := certFlags{
		webhooks: true, secret: "license-operator-system/webhook-server-cert",
		dnsNames: "license-operator-webhook-service.license-operator-system.svc, localhost",
		certPath: "/tmp/k8s-webhook-server/serving-certs", certName: "tls.crt", certKey: "tls.key",
		validating: "v", mutating: "m",
	}
	opts, err := internalCertOptions(valid)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Secret.Namespace != "license-operator-system" || opts.Secret.Name != "webhook-server-cert" {
		t.Errorf("Secret %s", opts.Secret)
	}
	if want := []string{"license-operator-webhook-service.license-operator-system.svc", "localhost"}; !slices.Equal(opts.DNSNames, want) {
		t.Errorf("DNSNames %v, want %v", opts.DNSNames, want)
	}
	if opts.CertDir != valid.certPath || opts.CertName != "tls.crt" || opts.KeyName != "tls.key" ||
		opts.ValidatingWebhookConfiguration != "v" || opts.MutatingWebhookConfiguration != "m" || opts.Ready == nil {
		t.Errorf("options %+v", opts)
	}

	cases := []struct {
		name string
		edit func(*certFlags)
		flag string
	}{
		{name: "no Secret", edit: func(f *certFlags) { f.secret = "" }, flag: "--webhook-cert-secret"},
		{name: "a Secret without a namespace", edit: func(f *certFlags) { f.secret = "webhook-server-cert" }, flag: "--webhook-cert-secret"},
		{name: "a Secret with an empty name", edit: func(f *certFlags) { f.secret = "ns/" }, flag: "--webhook-cert-secret"},
		{name: "a Secret with two slashes", edit: func(f *certFlags) { f.secret = "ns/a/b" }, flag: "--webhook-cert-secret"},
		{name: "no DNS names", edit: func(f *certFlags) { f.dnsNames = " , " }, flag: "--webhook-cert-dns-names"},
		{name: "no certificate directory", edit: func(f *certFlags) { f.certPath = "" }, flag: "--webhook-cert-path"},
		{name: "webhooks disabled", edit: func(f *certFlags) { f.webhooks = false }, flag: "--enable-webhooks"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := valid
			tc.edit(&f)
			_, err := internalCertOptions(f)
			if err == nil || !strings.Contains(err.Error(), tc.flag) {
				t.Fatalf("got %v, want an error naming %s", err, tc.flag)
			}
		})
	}
}
