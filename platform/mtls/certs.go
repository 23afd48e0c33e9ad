// Package mtls is the platform's mutual TLS: a local certificate authority
// and one certificate per service naming it (InitDir, behind `disputectl
// certs init` and the tests), and the tls.Configs of gRPC servers (a client
// certificate from the CA is required) and of their clients (their own
// certificate, the server's name checked against the service it should be).
package mtls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Services are the names certificates are issued for by InitDir: each
// service's certificate names it (DNS SAN), and a client dialling the
// service checks that name.
var Services = []string{"intake", "routing", "meeting", "archive", "gateway"}

// ClientName is the certificate InitDir issues for people and tools
// (grpcurl, disputectl, tests): any certificate of the CA may call a
// service; who may do what is the token's business.
const ClientName = "client"

// Validity of what InitDir issues. A leaf that would expire within
// renewBefore is issued again on the next InitDir.
const (
	caValidity   = 5 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
	renewBefore  = 30 * 24 * time.Hour
)

// Files names the three PEM files one party needs: its certificate, its
// private key and the CA certificate it verifies its peers with.
type Files struct {
	Cert, Key, CA string
}

// DirFiles returns the files of name in a directory made by InitDir:
// <name>.pem, <name>-key.pem and ca.pem.
func DirFiles(dir, name string) Files {
	return Files{
		Cert: filepath.Join(dir, name+".pem"),
		Key:  filepath.Join(dir, name+"-key.pem"),
		CA:   filepath.Join(dir, "ca.pem"),
	}
}

// Set reports whether all three files are named.
func (f Files) Set() bool { return f.Cert != "" && f.Key != "" && f.CA != "" }

// Missing returns the names ("cert", "key", "ca") of the files not given.
func (f Files) Missing() []string {
	var m []string
	for _, x := range []struct{ name, v string }{{"cert", f.Cert}, {"key", f.Key}, {"ca", f.CA}} {
		if x.v == "" {
			m = append(m, x.name)
		}
	}
	return m
}

// InitDir makes dir hold a local CA (ca.pem, ca-key.pem, ECDSA P-256) and,
// for each of Services and ClientName, a certificate signed by it with the
// name in its DNS SANs beside localhost, 127.0.0.1, ::1 and hosts (DNS
// names or IP addresses), usable for both server and client
// authentication. Files that exist and are still good are kept, so it is
// safe to run on every start; a leaf that expires within 30 days is issued
// again, and one the CA did not sign is an error (remove it to reissue).
// Private keys are written 0600. It returns the files it wrote.
func InitDir(dir string, hosts []string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("certs dir: %w", err)
	}
	var wrote []string
	ca, caKey, made, err := loadOrCreateCA(dir)
	if err != nil {
		return nil, err
	}
	if made {
		wrote = append(wrote, filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem"))
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	for _, name := range append(append([]string(nil), Services...), ClientName) {
		f := DirFiles(dir, name)
		good, err := leafGood(f, name, pool)
		if err != nil {
			return wrote, err
		}
		if good {
			continue
		}
		if err := issueLeaf(f, name, hosts, ca, caKey); err != nil {
			return wrote, fmt.Errorf("issue %s certificate: %w", name, err)
		}
		wrote = append(wrote, f.Cert, f.Key)
	}
	return wrote, nil
}

func loadOrCreateCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, bool, error) {
	certPath, keyPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	_, cerr := os.Stat(certPath)
	_, kerr := os.Stat(keyPath)
	switch {
	case cerr == nil && kerr == nil:
		cert, err := readCert(certPath)
		if err != nil {
			return nil, nil, false, err
		}
		key, err := readKey(keyPath)
		if err != nil {
			return nil, nil, false, err
		}
		if !key.PublicKey.Equal(cert.PublicKey) {
			return nil, nil, false, fmt.Errorf("%s does not match %s", keyPath, certPath)
		}
		return cert, key, false, nil
	case errors.Is(cerr, fs.ErrNotExist) && errors.Is(kerr, fs.ErrNotExist):
	default:
		return nil, nil, false, fmt.Errorf("%s and %s: one exists without the other; remove both to make a new CA", certPath, keyPath)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, false, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "disputes local CA", Organization: []string{"disputes"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, false, fmt.Errorf("create CA: %w", err)
	}
	if err := writeKey(keyPath, key); err != nil {
		return nil, nil, false, err
	}
	if err := writePEM(certPath, "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, false, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, true, err
}

// leafGood reports whether f holds a certificate and matching key for name,
// signed by the CA and not about to expire. Missing files are not good.
func leafGood(f Files, name string, pool *x509.CertPool) (bool, error) {
	_, cerr := os.Stat(f.Cert)
	_, kerr := os.Stat(f.Key)
	if errors.Is(cerr, fs.ErrNotExist) && errors.Is(kerr, fs.ErrNotExist) {
		return false, nil
	}
	cert, err := readCert(f.Cert)
	if err != nil {
		return false, err
	}
	key, err := readKey(f.Key)
	if err != nil {
		return false, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return false, fmt.Errorf("%s does not match %s; remove both to reissue", f.Key, f.Cert)
	}
	if _, err := cert.Verify(x509.VerifyOptions{
		DNSName: name, Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		var expired x509.CertificateInvalidError
		if errors.As(err, &expired) && expired.Reason == x509.Expired {
			return false, nil
		}
		return false, fmt.Errorf("%s: %w; remove it and its key to reissue", f.Cert, err)
	}
	return time.Until(cert.NotAfter) > renewBefore, nil
}

func issueLeaf(f Files, name string, hosts []string, ca *x509.Certificate, caKey *ecdsa.PrivateKey) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: name, Organization: []string{"disputes"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{name, "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return err
	}
	// The key first: a certificate without its key would be "good" to no one.
	if err := writeKey(f.Key, key); err != nil {
		return err
	}
	return writePEM(f.Cert, "CERTIFICATE", der, 0o644)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n
}

func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func readKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an ECDSA key", path)
	}
	return ec, nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

// writePEM writes the file whole under a temporary name, then renames it
// into place, so a reader never sees half a key.
func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := pem.Encode(tmp, &pem.Block{Type: typ, Bytes: der}); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
