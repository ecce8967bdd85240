package node

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a log sink tests read while the node writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBrokerCredentialsNeverShown: credentials written into the broker
// URL log in to a Mosquitto that requires them, and appear nowhere the
// node shows its broker: the API, the health check, the page and the log.
func TestBrokerCredentialsNeverShown(t *testing.T) {
	parallel(t)
	const user, secret = "gridmint", "s3cret-Pa55word"
	passwd := filepath.Join(t.TempDir(), "passwd")
	if bin, err := exec.LookPath("mosquitto_passwd"); err == nil {
		if out, err := exec.Command(bin, "-c", "-b", passwd, user, secret).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v: %s", err, out)
		}
	}
	// Started as root, Mosquitto reads the password file after dropping
	// to user mosquitto, who cannot enter the test's temporary directory;
	// "user root" keeps it (and is ignored when not root).
	broker := startMosquittoAuth(t, "user root\nallow_anonymous false\npassword_file "+passwd+"\n")
	withCreds := strings.Replace(broker, "tcp://", "tcp://"+user+":"+secret+"@", 1)
	dir := t.TempDir()
	cfg, err := ParseConfig(fmt.Appendf(nil, "data_dir: %s\nhttp_addr: 127.0.0.1:0\nmqtt: {broker: %q}\np2p: {listen: [/ip4/127.0.0.1/tcp/0], mdns: false}\nadapters: [{dialect: tasmota}]\n", dir, withCreds))
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n, err := Start(context.Background(), cfg, Options{Logger: log, Passphrase: testPassphrase, CreateKey: KDFLight})
	if err != nil {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the start error shows the password: %v", err)
		}
		t.Fatal(err) // a refused login fails here: the credentials must reach the broker
	}
	defer n.Close()
	for _, path := range []string{"/api/v1/node", "/healthz", "/"} {
		resp, err := http.Get("http://" + n.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if bytes.Contains(body, []byte(secret)) {
			t.Errorf("GET %s shows the broker password:\n%s", path, body)
		}
		if path == "/api/v1/node" && !bytes.Contains(body, []byte(strings.TrimPrefix(broker, "tcp://"))) {
			t.Errorf("GET %s does not show the broker's address %s:\n%s", path, broker, body)
		}
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("the log shows the broker password:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "mqtt.password_file") {
		t.Errorf("no warning to move the credentials out of the URL in the log:\n%s", logs.String())
	}
}

func TestBrokerCredentialsConfig(t *testing.T) {
	tests := []struct {
		name, yaml       string
		wantBroker       string
		wantUser, wantPw string
		wantErr          string
	}{
		{name: "taken from the URL", yaml: "mqtt: {broker: 'tcp://alice:pw%40x@broker:1883'}", wantBroker: "tcp://broker:1883", wantUser: "alice", wantPw: "pw@x"},
		{name: "user without password", yaml: "mqtt: {broker: 'tcp://alice@broker:1883'}", wantBroker: "tcp://broker:1883", wantUser: "alice"},
		{name: "fields only", yaml: "mqtt: {broker: 'tcp://broker:1883', username: bob, password: pw}", wantBroker: "tcp://broker:1883", wantUser: "bob", wantPw: "pw"},
		{name: "both", yaml: "mqtt: {broker: 'tcp://alice:pw@broker:1883', username: bob}", wantErr: "credentials both in the URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tt.yaml + "\nadapters: [{dialect: tasmota}]\n"))
			if err == nil {
				cfg.applyDefaults()
				err = cfg.Validate()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "pw") {
					t.Errorf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MQTT.Broker != tt.wantBroker || cfg.MQTT.Username != tt.wantUser || cfg.MQTT.Password != tt.wantPw {
				t.Errorf("broker %q user %q password %q; want %q %q %q", cfg.MQTT.Broker, cfg.MQTT.Username, cfg.MQTT.Password, tt.wantBroker, tt.wantUser, tt.wantPw)
			}
		})
	}
	if got := RedactURL("tcp://u:p@h:1"); got != "tcp://h:1" {
		t.Errorf("RedactURL = %q, want tcp://h:1", got)
	}
	if got := RedactURL("tcp://u:p@h:1/%zz"); strings.Contains(got, "p@") {
		t.Errorf("RedactURL of an unparsable URL = %q, shows the password", got)
	}
}

// TestNodeRefusesForeignHosts: the running node answers its own names
// and allowed_hosts, and refuses a rebound name on every route.
func TestNodeRefusesForeignHosts(t *testing.T) {
	parallel(t)
	b := startTestBroker(t)
	cfg, err := ParseConfig(fmt.Appendf(nil, "data_dir: %s\nhttp_addr: 127.0.0.1:0\nallowed_hosts: [gridmint.lan]\nmqtt: {broker: %s}\np2p: {listen: [/ip4/127.0.0.1/tcp/0], mdns: false}\nadapters: [{dialect: tasmota}]\n", t.TempDir(), b.URL()))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Start(context.Background(), cfg, Options{Logger: testLogger(), Passphrase: testPassphrase, CreateKey: KDFLight})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if s := n.http; s.ReadTimeout == 0 || s.WriteTimeout == 0 || s.IdleTimeout == 0 || s.ReadHeaderTimeout == 0 || s.MaxHeaderBytes == 0 {
		t.Errorf("HTTP server limits: read %v, write %v, idle %v, header %v, header bytes %d; want all set",
			s.ReadTimeout, s.WriteTimeout, s.IdleTimeout, s.ReadHeaderTimeout, s.MaxHeaderBytes)
	}
	hostname, _ := os.Hostname()
	for _, tt := range []struct {
		host string
		want int
	}{{n.HTTPAddr(), 200}, {"localhost", 200}, {"gridmint.lan:8088", 200}, {hostname + ".local", 200}, {"rebind.attacker.example", 421}} {
		for _, path := range []string{"/api/v1/devices", "/api/v1/quarantine", "/metrics", "/"} {
			req, _ := http.NewRequest("GET", "http://"+n.HTTPAddr()+path, nil)
			req.Host = tt.host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("GET %s as %q: %d, want %d", path, tt.host, resp.StatusCode, tt.want)
			}
		}
	}
}
