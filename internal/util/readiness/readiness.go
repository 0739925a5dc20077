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

// Package readiness holds the manager's readiness checks beyond
// controller-runtime's own.
package readiness

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/healthz"
)

// syncProbe bounds how long one probe waits for the caches: a probe answers
// at once, it does not hold the kubelet's request.
const syncProbe = 10 * time.Millisecond

// Syncer is what CacheSynced asks: a controller-runtime cache.
type Syncer interface {
	WaitForCacheSync(ctx context.Context) bool
}

// CacheSynced is a readiness check that fails until the informers of c have
// synced, and passes from then on. The webhooks answer from that cache: a
// replica that served before its first list completed would time out or
// decide on a partial view, and with failurePolicy Fail a timeout is a
// refusal. controller-runtime's webhook StartedChecker only says that the
// server listens.
func CacheSynced(c Syncer) healthz.Checker {
	var synced atomic.Bool
	return func(req *http.Request) error {
		if synced.Load() {
			return nil
		}
		ctx, cancel := context.WithTimeout(req.Context(), syncProbe)
		defer cancel()
		if !c.WaitForCacheSync(ctx) {
			return errors.New("the informer caches have not synced yet")
		}
		synced.Store(true)
		return nil
	}
}
