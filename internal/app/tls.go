package app

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certFiles serves a certificate and key read from files, and reads them
// again when either file changes (looked at no more than once every
// recheckCert, on a handshake), so that a renewed certificate is served
// without a restart. A renewal that does not load (a half-written pair)
// leaves the last good one in service and is logged.
type certFiles struct {
	cert, key string
	log       *slog.Logger

	mu      sync.Mutex
	cur     *tls.Certificate
	mod     time.Time // the newer modification time of the two files loaded
	checked time.Time
}

const recheckCert = time.Second

func loadCertFiles(cert, key string, log *slog.Logger) (*certFiles, error) {
	c := &certFiles{cert: cert, key: key, log: log}
	mod, err := c.modTime()
	if err != nil {
		return nil, err
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("tls certificate %s and key %s: %w", cert, key, err)
	}
	c.cur, c.mod, c.checked = &pair, mod, time.Now()
	return c, nil
}

func (c *certFiles) modTime() (time.Time, error) {
	var newest time.Time
	for _, f := range []string{c.cert, c.key} {
		st, err := os.Stat(f)
		if err != nil {
			return time.Time{}, fmt.Errorf("tls: %w", err)
		}
		if st.ModTime().After(newest) {
			newest = st.ModTime()
		}
	}
	return newest, nil
}

// get is tls.Config.GetCertificate.
func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.checked) >= recheckCert {
		c.checked = now
		if mod, err := c.modTime(); err == nil && !mod.Equal(c.mod) {
			pair, err := tls.LoadX509KeyPair(c.cert, c.key)
			if err != nil {
				c.log.Warn("tls certificate changed but does not load; serving the previous one", "cert", c.cert, "err", err)
			} else {
				c.cur, c.mod = &pair, mod
				c.log.Info("tls certificate reloaded", "cert", c.cert)
			}
		}
	}
	return c.cur, nil
}

// tlsConfig is the server side of HTTPS and MQTT over TLS.
func (c *certFiles) tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.get}
}
