//go:build e2e

/*
Copyright 2026 The license-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package e2e

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"

	"github.com/license-operator/license-operator/test/localcluster"
)

const (
	// namespace is where the samples and the metrics callers live; the
	// API server creates it at start.
	namespace = "default"
	// metricsReaderRole is the ClusterRole config/rbac/metrics_reader_role.yaml
	// declares (without the name prefix config/default adds).
	metricsReaderRole = "metrics-reader"
)

var _ = Describe("The manager binary", Ordered, func() {
	It("is healthy and ready", func(ctx SpecContext) {
		for _, probe := range []string{"healthz", "readyz"} {
			status, body, err := get(ctx, manager.ProbeURL(probe), "")
			Expect(err).NotTo(HaveOccurred())
			Expect(status).To(Equal(http.StatusOK), "/%s answered %s", probe, body)
		}
	})

	Context("with config/samples", func() {
		var files []string

		BeforeAll(func() {
			var err error
			files, err = sampleFiles()
			Expect(err).NotTo(HaveOccurred())
			Expect(files).NotTo(BeEmpty(), "config/samples holds no manifest")
		})

		It("accepts every sample, and every sample is then in the cluster", func(ctx SpecContext) {
			for _, file := range files {
				rel := filepath.Join("config", "samples", filepath.Base(file))
				out, err := kubectl(ctx, "apply", "-f", file)
				Expect(err).NotTo(HaveOccurred(), "kubectl apply -f %s", rel)
				GinkgoWriter.Print(out)

				names, err := kubectl(ctx, "get", "-f", file, "-o", "name")
				Expect(err).NotTo(HaveOccurred(), "kubectl get -f %s", rel)
				Expect(strings.Fields(names)).To(HaveLen(strings.Count(out, "\n")),
					"kubectl get -f %s finds every object it applied", rel)
			}
		}, SpecTimeout(3*time.Minute))

		It("has every licensing sample stamped by the defaulting webhooks with the user who created it", func(ctx SpecContext) {
			out, err := kubectl(ctx, "get", "licensing", "-A", "-o",
				`jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.annotations.licensing\.license-operator\.dev/created-by}{"\n"}{end}`)
			Expect(err).NotTo(HaveOccurred())
			lines := strings.Fields(out)
			Expect(lines).NotTo(BeEmpty())
			for _, line := range lines {
				Expect(line).To(HaveSuffix("="+localcluster.AdminUser), "created-by of %s", line)
			}
		})

		It("lists every sample in its kustomization, which make run-local applies", func() {
			data, err := os.ReadFile(filepath.Join(samplesDir(), "kustomization.yaml"))
			if errors.Is(err, os.ErrNotExist) {
				// run-local applies the directory itself: every file is applied.
				return
			}
			Expect(err).NotTo(HaveOccurred())
			var k struct {
				Resources []string `json:"resources"`
			}
			Expect(yaml.Unmarshal(data, &k)).To(Succeed())
			for _, file := range files {
				Expect(k.Resources).To(ContainElement(filepath.Base(file)),
					"config/samples/kustomization.yaml does not list %s", filepath.Base(file))
			}
		})
	})

	Context("admission of Pods", func() {
		It("denies a Pod that needs a seat of a product when no assignment covers it", func(ctx SpecContext) {
			// acme-cad (config/samples) has only a named-user assignment,
			// which covers no Pod.
			err := createPod(ctx, "e2e-unlicensed", "acme-cad", "e2e-unlicensed")
			Expect(err).To(MatchError(ContainSubstring("acme-cad")))
			Expect(err).To(MatchError(ContainSubstring("denied the request")))
		})

		It("admits a Pod whose ServiceAccount holds an assignment of the product", func(ctx SpecContext) {
			// reporting-db (config/samples) gives the ServiceAccount
			// "reporting" three seats of globex-db.
			Expect(createPod(ctx, "e2e-reporting", "globex-db", "reporting")).To(Succeed())
		})
	})

	Context("metrics", func() {
		It("refuses a request without a token", func(ctx SpecContext) {
			status, body, err := get(ctx, manager.MetricsURL(), "")
			Expect(err).NotTo(HaveOccurred())
			Expect(status).To(Equal(http.StatusUnauthorized), "answer: %s", body)
		})

		It("refuses a ServiceAccount that may not read metrics", func(ctx SpecContext) {
			token := serviceAccountToken(ctx, "e2e-no-metrics")
			status, body, err := get(ctx, manager.MetricsURL(), token)
			Expect(err).NotTo(HaveOccurred())
			Expect(status).To(Equal(http.StatusForbidden), "answer: %s", body)
		})

		It("serves a ServiceAccount bound to the metrics-reader ClusterRole of config/rbac", func(ctx SpecContext) {
			_, err := kubectl(ctx, "apply", "-f",
				filepath.Join(cluster.RepoRoot, "config", "rbac", "metrics_reader_role.yaml"))
			Expect(err).NotTo(HaveOccurred())
			const sa = "e2e-metrics-reader"
			// The binding exists before the first request: the manager caches
			// a denial for half a minute.
			_, err = kubectl(ctx, "create", "clusterrolebinding", sa,
				"--clusterrole="+metricsReaderRole, "--serviceaccount="+namespace+":"+sa)
			Expect(err).NotTo(HaveOccurred())
			token := serviceAccountToken(ctx, sa)

			Eventually(func(g Gomega) {
				status, body, err := get(ctx, manager.MetricsURL(), token)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(status).To(Equal(http.StatusOK), "answer: %s", body)
				// The client-go metrics controller-runtime registers, and the
				// process collector: present in every manager.
				g.Expect(body).To(ContainSubstring("rest_client_requests_total"))
				g.Expect(body).To(ContainSubstring("process_start_time_seconds"))
			}).WithContext(ctx).WithPolling(time.Second).WithTimeout(time.Minute).Should(Succeed())
		}, SpecTimeout(2*time.Minute))
	})

	It("stops on SIGTERM with status 0 and leaves no process behind", func() {
		pid := manager.PID()
		Expect(manager.Stop()).To(Succeed())
		Expect(syscall.Kill(-pid, 0)).To(MatchError(syscall.ESRCH), "process group %d is empty", pid)
	})
})

// samplesDir is config/samples of the repository under test.
func samplesDir() string { return filepath.Join(cluster.RepoRoot, "config", "samples") }

// sampleFiles returns the manifests of config/samples in the order its
// kustomization lists them (products before the licences that name them),
// then any file it does not list, by name.
func sampleFiles() ([]string, error) {
	entries, err := os.ReadDir(samplesDir())
	if err != nil {
		return nil, err
	}
	var all []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || name == "kustomization.yaml" ||
			(filepath.Ext(name) != ".yaml" && filepath.Ext(name) != ".yml") {
			continue
		}
		all = append(all, name)
	}
	slices.Sort(all)

	var order []string
	if data, err := os.ReadFile(filepath.Join(samplesDir(), "kustomization.yaml")); err == nil {
		var k struct {
			Resources []string `json:"resources"`
		}
		if err := yaml.Unmarshal(data, &k); err != nil {
			return nil, fmt.Errorf("config/samples/kustomization.yaml: %w", err)
		}
		order = k.Resources
	}
	files := make([]string, 0, len(all))
	for _, name := range order {
		if slices.Contains(all, name) {
			files = append(files, filepath.Join(samplesDir(), name))
		}
	}
	for _, name := range all {
		if !slices.Contains(order, name) {
			files = append(files, filepath.Join(samplesDir(), name))
		}
	}
	return files, nil
}

// createPod creates a Pod in namespace that runs as serviceAccount and
// carries the product annotation. Nothing schedules or runs it: only
// admission is exercised.
func createPod(ctx context.Context, name, product, serviceAccount string) error {
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
  annotations:
    licensing.license-operator.dev/product: %s
spec:
  serviceAccountName: %s
  containers:
  - name: app
    image: registry.example.com/app:1.0
`, name, namespace, product, serviceAccount)
	_, err := cluster.KubectlWithInput(ctx, manifest, "create", "-f", "-")
	return err
}

// serviceAccountToken creates the ServiceAccount name in namespace (if
// needed) and returns a token for it from the TokenRequest API.
func serviceAccountToken(ctx context.Context, name string) string {
	GinkgoHelper()
	if _, err := kubectl(ctx, "get", "serviceaccount", name, "-n", namespace); err != nil {
		_, err := kubectl(ctx, "create", "serviceaccount", name, "-n", namespace)
		Expect(err).NotTo(HaveOccurred())
	}
	token, err := kubectl(ctx, "create", "token", name, "-n", namespace, "--duration=10m")
	Expect(err).NotTo(HaveOccurred())
	return strings.TrimSpace(token)
}

// get GETs url, with token as a bearer token when not empty, and returns the
// status code and body. The metrics certificate is self-signed: the test
// checks authentication and authorization, not the certificate.
func get(ctx context.Context, url, token string) (int, string, error) {
	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}
