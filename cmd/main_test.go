package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
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
