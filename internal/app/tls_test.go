package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// writeCert writes a self-signed certificate for 127.0.0.1 (common name
// cn) and its key, and returns a pool that trusts it.
func writeCert(t *testing.T, dir, cn string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// TestTLS: with a certificate and key, HTTP is HTTPS and MQTT is MQTT over
// TLS on the same addresses (the token no longer crosses the network in
// the clear); plain clients are refused; a renewed certificate is served
// without a restart.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	pool := writeCert(t, dir, "first")
	r := startWith(t, func(c *Config) { c.TLSCert, c.TLSKey = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem") })
	base := "https://" + r.a.HTTPAddr()
	get := func(pool *x509.CertPool) (*http.Response, error) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
		req, _ := http.NewRequest("GET", base+"/api/v1/whoami", nil)
		req.Header.Set("Authorization", "Bearer "+r.toks["a-viewer"])
		return c.Do(req)
	}
	resp, err := get(pool)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("https: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp, err := http.Get("http://" + r.a.HTTPAddr() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP answered 200 on the TLS port")
		}
	}
	// MQTT over TLS works; plain MQTT does not.
	opts := paho.NewClientOptions().AddBroker("ssl://" + r.a.MQTTAddr()).SetClientID("tls").SetAutoReconnect(false).
		SetUsername("x").SetPassword(r.toks["a-viewer"]).SetTLSConfig(&tls.Config{RootCAs: pool}).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt over tls: %v", tok.Error())
	}
	c.Disconnect(0)
	if c, err := mqttConnect(r.a.MQTTAddr(), "plain", r.toks["a-viewer"]); err == nil {
		c.Disconnect(0)
		t.Fatal("plain MQTT connected to the TLS listener")
	}
	// A renewed certificate (another key) is served once its file changes.
	time.Sleep(10 * time.Millisecond) // a later modification time
	pool2 := writeCert(t, dir, "second")
	later := time.Now().Add(time.Minute)
	os.Chtimes(filepath.Join(dir, "cert.pem"), later, later)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := get(pool2)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the renewed certificate is not served: %v", err)
		}
	}
	if resp, err := get(pool); err == nil {
		resp.Body.Close()
		t.Fatal("the old certificate is still served")
	}
}
