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

package localcluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"
)

// webhookInstallOptions renders config/webhook with the assets' kubectl
// (kustomize) and returns envtest options that install the webhook
// configurations exactly as they ship (scope, matchConditions, timeouts),
// pointed at a manager on loopback: envtest replaces each Service reference
// with https://127.0.0.1:<port>/<path> and issues a serving certificate.
// They carry config/default's names (NamePrefix), the ones the shipped role
// lets the matchConditions syncer read and update.
func webhookInstallOptions(ctx context.Context, repoRoot, kubectl string) (envtest.WebhookInstallOptions, error) {
	dir := filepath.Join(repoRoot, "config", "webhook")
	rendered, err := kustomize(ctx, kubectl, dir)
	if err != nil {
		return envtest.WebhookInstallOptions{}, err
	}
	var opts envtest.WebhookInstallOptions
	err = eachDocument(rendered, func(kind string, doc []byte) error {
		switch kind {
		case "MutatingWebhookConfiguration":
			c := &admissionregistrationv1.MutatingWebhookConfiguration{}
			if err := yaml.UnmarshalStrict(doc, c); err != nil {
				return err
			}
			c.Name = NamePrefix + c.Name
			opts.MutatingWebhooks = append(opts.MutatingWebhooks, c)
		case "ValidatingWebhookConfiguration":
			c := &admissionregistrationv1.ValidatingWebhookConfiguration{}
			if err := yaml.UnmarshalStrict(doc, c); err != nil {
				return err
			}
			c.Name = NamePrefix + c.Name
			opts.ValidatingWebhooks = append(opts.ValidatingWebhooks, c)
		}
		return nil
	})
	if err != nil {
		return opts, fmt.Errorf("the rendered config/webhook: %w", err)
	}
	if len(opts.MutatingWebhooks)+len(opts.ValidatingWebhooks) == 0 {
		return opts, fmt.Errorf("%s renders no webhook configuration", dir)
	}
	return opts, nil
}

// kustomize renders the kustomization in dir with kubectl kustomize.
func kustomize(ctx context.Context, kubectl, dir string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, kubectl, "kustomize", dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("kubectl kustomize %s: %w: %s", dir, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// eachDocument calls fn with the kind and the text of each document of a
// YAML stream (such as kustomize's output), in order, and stops at its
// first error.
func eachDocument(stream []byte, fn func(kind string, doc []byte) error) error {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var meta struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return err
		}
		if err := fn(meta.Kind, doc); err != nil {
			return err
		}
	}
}
