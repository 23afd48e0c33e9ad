package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"time"
)

// ServerConfig returns the TLS configuration of a gRPC server: TLS 1.3
// only, its certificate from f.Cert and f.Key, and a client certificate
// signed by f.CA required on every connection. The key pair is read again
// when its files change, so a renewed certificate is served without a
// restart; the CA is read once.
func ServerConfig(f Files) (*tls.Config, error) {
	pool, kp, err := load(f)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs:  pool,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return kp.get()
		},
	}, nil
}

// ClientConfig returns the TLS configuration of a client of the service
// serverName: TLS 1.3 only, f.Cert and f.Key presented as the client's
// certificate, and the server's certificate checked against f.CA and
// serverName (whatever address is dialled).
func ClientConfig(f Files, serverName string) (*tls.Config, error) {
	pool, kp, err := load(f)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		RootCAs:    pool,
		ServerName: serverName,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return kp.get()
		},
	}, nil
}

// HTTPSConfig returns the TLS configuration of an HTTPS server without
// client certificates (browsers): TLS 1.2 and later, the key pair read
// again when its files change.
func HTTPSConfig(certFile, keyFile string) (*tls.Config, error) {
	kp, err := newKeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return kp.get()
		},
	}, nil
}

func load(f Files) (*x509.CertPool, *keyPair, error) {
	if m := f.Missing(); len(m) > 0 {
		return nil, nil, fmt.Errorf("tls: missing %v file", m)
	}
	b, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, nil, fmt.Errorf("tls ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, nil, fmt.Errorf("tls ca %s: no PEM certificate", f.CA)
	}
	kp, err := newKeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, nil, err
	}
	return pool, kp, nil
}

// reloadCheck is how often a handshake may look at the key pair's files;
// connections are long-lived, so handshakes are rare anyway.
const reloadCheck = 10 * time.Second

// keyPair is a certificate and key read from files, read again when the
// certificate file's modification time changes. A pair that fails to load
// leaves the last good one in use.
type keyPair struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	mod     time.Time
	checked time.Time
}

func newKeyPair(certFile, keyFile string) (*keyPair, error) {
	kp := &keyPair{certFile: certFile, keyFile: keyFile}
	if err := kp.reload(); err != nil {
		return nil, err
	}
	return kp, nil
}

func (kp *keyPair) reload() error {
	st, err := os.Stat(kp.certFile)
	if err != nil {
		return fmt.Errorf("tls cert: %w", err)
	}
	c, err := tls.LoadX509KeyPair(kp.certFile, kp.keyFile)
	if err != nil {
		return fmt.Errorf("tls key pair %s, %s: %w", kp.certFile, kp.keyFile, err)
	}
	kp.cert, kp.mod, kp.checked = &c, st.ModTime(), time.Now()
	return nil
}

func (kp *keyPair) get() (*tls.Certificate, error) {
	kp.mu.Lock()
	defer kp.mu.Unlock()
	if time.Since(kp.checked) < reloadCheck {
		return kp.cert, nil
	}
	kp.checked = time.Now()
	if st, err := os.Stat(kp.certFile); err == nil && !st.ModTime().Equal(kp.mod) {
		_ = kp.reload() // keep serving the last good pair; the next check retries
	}
	return kp.cert, nil
}
