package kubecluster

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/yaml"

	kueuev1beta2 "sigs.k8s.io/kueue/apis/kueue/v1beta2"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/controller"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/internal/webhook/workload"
)

// Scheme has the built-in kinds and the licensing kinds.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = licensingv1alpha1.AddToScheme(s)
	_ = kueuev1beta2.AddToScheme(s)
	return s
}

// KustomizedWebhooks renders config/webhook with kubectl kustomize (kubectl from
// the envtest assets) and returns the webhook configurations exactly as they
// ship: namespaceSelector, matchConditions and timeouts included.
func KustomizedWebhooks(assets string) ([]*admissionregistrationv1.MutatingWebhookConfiguration, []*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	out, err := Kustomize(assets, filepath.Join("config", "webhook"))
	if err != nil {
		return nil, nil, err
	}
	var muts []*admissionregistrationv1.MutatingWebhookConfiguration
	var vals []*admissionregistrationv1.ValidatingWebhookConfiguration
	err = eachDocument(bytes.NewReader(out), func(kind string, doc []byte) error {
		switch kind {
		case "MutatingWebhookConfiguration":
			m := &admissionregistrationv1.MutatingWebhookConfiguration{}
			if err := yaml.Unmarshal(doc, m); err != nil {
				return err
			}
			muts = append(muts, m)
		case "ValidatingWebhookConfiguration":
			v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
			if err := yaml.Unmarshal(doc, v); err != nil {
				return err
			}
			vals = append(vals, v)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return muts, vals, nil
}

// Kustomize renders the kustomization in dir, a directory of the repository
// such as config/samples, with kubectl kustomize (kubectl from the envtest
// assets), as `kubectl apply -k` would.
func Kustomize(assets, dir string) ([]byte, error) {
	var out, stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(assets, "kubectl"), "kustomize", filepath.Join(utiltesting.RepoRoot(), dir))
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("kubectl kustomize %s: %w: %s", dir, err, stderr.String())
	}
	return out.Bytes(), nil
}

// KustomizedObjects renders the kustomization in dir (Kustomize) and returns
// its objects in the order kustomize emits them.
func KustomizedObjects(assets, dir string) ([]*unstructured.Unstructured, error) {
	out, err := Kustomize(assets, dir)
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	err = eachDocument(bytes.NewReader(out), func(_ string, doc []byte) error {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
		return nil
	})
	return objs, err
}

// FreePort returns a free TCP port on the loopback interface.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// NewWebhookManager returns a manager serving webhooks on 127.0.0.1:port with
// the certificate in certDir, with metrics and probes off. Several may run in
// one process (controller names are not required to be unique).
func NewWebhookManager(cfg *rest.Config, scheme *runtime.Scheme, port int, certDir string) (ctrl.Manager, error) {
	return ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer:          webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: port, CertDir: certDir}),
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
		// The production cache: Pods only with the licensed label.
		Cache: controller.CacheOptions(),
	})
}

// Proxy is a round-robin proxy on loopback in front of several webhook
// servers, standing for a Service in front of webhook replicas. A TCP proxy
// balances connections, and the API server keeps one connection open to a
// webhook, so this one terminates TLS (with the webhook certificate) and
// balances each request.
type Proxy struct {
	srv  *http.Server
	ln   net.Listener
	next atomic.Uint64
	// Requests counts the requests sent to each backend.
	Requests []atomic.Int64
}

// StartProxy serves TLS on addr with tls.crt/tls.key of certDir and forwards to
// the https backends, whose certificate caData signs.
func StartProxy(addr, certDir string, caData []byte, backends ...string) (*Proxy, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(certDir, "tls.crt"), filepath.Join(certDir, "tls.key"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caData)
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 256}
	p := &Proxy{Requests: make([]atomic.Int64, len(backends))}
	rp := &httputil.ReverseProxy{
		Transport: transport,
		Rewrite: func(r *httputil.ProxyRequest) {
			i := int(p.next.Add(1)-1) % len(backends)
			p.Requests[i].Add(1)
			r.SetURL(&url.URL{Scheme: "https", Host: backends[i]})
		},
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p.ln = ln
	p.srv = &http.Server{Handler: rp, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.ServeTLS(ln, "", "") }()
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() error { return p.srv.Close() }

// StartManagers starts each manager in the background and returns a func that
// stops them and waits.
func StartManagers(ctx context.Context, mgrs ...ctrl.Manager) (stop func(), errs <-chan error) {
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan error, len(mgrs))
	var wg sync.WaitGroup
	for _, m := range mgrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.Start(ctx); err != nil {
				ch <- err
			}
		}()
	}
	return func() { cancel(); wg.Wait() }, ch
}

// eachDocument calls fn with the kind and the text of each document of a
// multi-document YAML stream.
func eachDocument(in io.Reader, fn func(kind string, doc []byte) error) error {
	r := utilyaml.NewYAMLReader(bufio.NewReader(in))
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return err
		}
		if err := fn(meta.Kind, doc); err != nil {
			return err
		}
	}
}

// WebhookConfigurations are the names config/webhook gives the webhook
// configurations, before config/default's "license-operator-" name prefix:
// the names the suites install them under, for the manager's matchConditions
// syncer, which reads and writes those two only.
var WebhookConfigurations = workload.WebhookConfigurations{
	Validating: "validating-webhook-configuration",
	Mutating:   "mutating-webhook-configuration",
}
