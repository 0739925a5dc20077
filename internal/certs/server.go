package certs

import (
	"context"
	"errors"
	"net/http"

	"sigs.k8s.io/controller-runtime/pkg/healthz"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
)

// waitingServer is a webhook server that starts serving once ready is closed.
type waitingServer struct {
	webhook.Server
	ready <-chan struct{}
}

// NewServer returns a webhook.Server, for ctrl.Options.WebhookServer, that
// starts the server of opts once ready (Options.Ready) is closed: once the
// certificate files are in opts.CertDir. controller-runtime's server loads
// them when it starts (its certificate watcher fails on missing files), and
// the kubelet mounts the Secret's new contents a minute or so after the
// rotator writes them. Register and WebhookMux are the server's from the
// start, so webhooks are registered as usual.
//
// Waiting blocks nothing else: the manager starts its webhook servers without
// waiting for them to be ready (controller-runtime's runnable group for
// webhooks has no readiness check), then its caches, the rotator among them.
// opts must leave TLSOpts' GetCertificate unset, so that the server watches
// opts.CertDir for renewed files.
func NewServer(ready <-chan struct{}, opts webhook.Options) webhook.Server {
	return &waitingServer{Server: webhook.NewServer(opts), ready: ready}
}

// Start waits for ready (or ctx) and then runs the server.
func (s *waitingServer) Start(ctx context.Context) error {
	log := logf.FromContext(ctx).WithName("webhook-server")
	log.Info("Waiting for the webhook serving certificate (internal certificate management)")
	select {
	case <-s.ready:
	case <-ctx.Done():
		return nil
	}
	log.Info("The webhook serving certificate is mounted and its CA injected: starting the webhook server")
	return s.Server.Start(ctx)
}

// errWaiting is what StartedChecker reports before ready is closed.
var errWaiting = errors.New("the webhook server waits for its serving certificate (internal certificate management)")

// StartedChecker fails until ready is closed, and then until the server
// serves: /readyz (cmd/main.go's "webhook" check) stays unready meanwhile.
func (s *waitingServer) StartedChecker() healthz.Checker {
	started := s.Server.StartedChecker()
	return func(req *http.Request) error {
		select {
		case <-s.ready:
			return started(req)
		default:
			return errWaiting
		}
	}
}
