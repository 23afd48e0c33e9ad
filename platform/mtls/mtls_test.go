package mtls

import (
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestInitDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	wrote, err := InitDir(dir, []string{"disputes.example", "10.0.0.7"})
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 + 2*(len(Services)+1); len(wrote) != want {
		t.Fatalf("wrote %d files, want %d: %v", len(wrote), want, wrote)
	}
	for _, name := range append(slices.Clone(Services), ClientName) {
		t.Run(name, func(t *testing.T) {
			f := DirFiles(dir, name)
			st, err := os.Stat(f.Key)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s mode %v, want 0600", f.Key, st.Mode().Perm())
			}
			c, err := readCert(f.Cert)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(c.DNSNames, name) || !slices.Contains(c.DNSNames, "localhost") ||
				!slices.Contains(c.DNSNames, "disputes.example") {
				t.Errorf("DNS SANs %v", c.DNSNames)
			}
			var ips []string
			for _, ip := range c.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Contains(ips, "127.0.0.1") || !slices.Contains(ips, "10.0.0.7") {
				t.Errorf("IP SANs %v", ips)
			}
		})
	}
	if st, _ := os.Stat(filepath.Join(dir, "ca-key.pem")); st.Mode().Perm() != 0o600 {
		t.Errorf("ca-key.pem mode %v", st.Mode().Perm())
	}

	before, _ := os.ReadFile(filepath.Join(dir, "intake.pem"))
	again, err := InitDir(dir, nil)
	if err != nil || len(again) != 0 {
		t.Fatalf("second run wrote %v, %v; want nothing", again, err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "intake.pem"))
	if string(before) != string(after) {
		t.Error("second run changed intake.pem")
	}

	os.Remove(filepath.Join(dir, "routing.pem"))
	os.Remove(filepath.Join(dir, "routing-key.pem"))
	again, err = InitDir(dir, nil)
	if err != nil || len(again) != 2 {
		t.Fatalf("after removing routing's pair InitDir wrote %v, %v; want routing's two files", again, err)
	}

	other := t.TempDir()
	if _, err := InitDir(other, nil); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(other, "meeting.pem"), filepath.Join(dir, "meeting.pem"))
	copyFile(t, filepath.Join(other, "meeting-key.pem"), filepath.Join(dir, "meeting-key.pem"))
	if _, err := InitDir(dir, nil); err == nil || !strings.Contains(err.Error(), "meeting.pem") {
		t.Errorf("a certificate of another CA: %v, want an error naming meeting.pem", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// handshake runs one TLS handshake between a server with srv and a client
// with cli and returns the client's and the server's errors.
func handshake(t *testing.T, srv, cli *tls.Config) (error, error) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	serr := make(chan error, 1)
	go func() {
		c, err := lis.Accept()
		if err != nil {
			serr <- err
			return
		}
		defer c.Close()
		tc := tls.Server(c, srv)
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		if err := tc.Handshake(); err != nil {
			serr <- err
			return
		}
		// TLS 1.3 clients learn of a refused certificate on their first read.
		_, err = tc.Write([]byte("ok"))
		serr <- err
	}()
	c, err := tls.Dial("tcp", lis.Addr().String(), cli)
	if err == nil {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadFull(c, make([]byte, 2))
		c.Close()
	}
	return err, <-serr
}

func TestConfigs(t *testing.T) {
	dir, otherDir := t.TempDir(), t.TempDir()
	for _, d := range []string{dir, otherDir} {
		if _, err := InitDir(d, nil); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := ServerConfig(DirFiles(dir, "intake"))
	if err != nil {
		t.Fatal(err)
	}
	client := func(d, name, serverName string) *tls.Config {
		c, err := ClientConfig(DirFiles(d, name), serverName)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	noCert := &tls.Config{RootCAs: client(dir, "client", "intake").RootCAs, ServerName: "intake"}
	tests := []struct {
		name     string
		cli      *tls.Config
		wantFail bool
	}{
		{"the gateway calling intake", client(dir, "gateway", "intake"), false},
		{"the client certificate", client(dir, "client", "intake"), false},
		{"intake's certificate is not routing's", client(dir, "gateway", "routing"), true},
		{"a client certificate of another CA", client(otherDir, "gateway", "intake"), true},
		{"no client certificate", noCert, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cerr, serr := handshake(t, srv, tt.cli)
			if failed := cerr != nil || serr != nil; failed != tt.wantFail {
				t.Errorf("client %v, server %v; want failure %v", cerr, serr, tt.wantFail)
			}
		})
	}
}

func TestFilesMissing(t *testing.T) {
	if _, err := ServerConfig(Files{Cert: "a.pem"}); err == nil || !strings.Contains(err.Error(), "key ca") {
		t.Errorf("err = %v, want the missing key and ca named", err)
	}
}
