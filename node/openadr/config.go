package openadr

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Config is the node's `openadr:` section.
type Config struct {
	// Enabled serves the VTN at /openadr3/3.1.0/.
	Enabled bool `yaml:"enabled"`
	// TokenTTL is how long an access token is valid (clock time);
	// default 1h.
	TokenTTL time.Duration `yaml:"token_ttl"`
	// TokenKeyFile holds the HMAC key tokens are signed with (at least
	// 32 bytes). Empty: a random key per start, so tokens do not survive
	// a restart and clients fetch new ones.
	TokenKeyFile string `yaml:"token_key_file"`
	// Clients are the OAuth2 clients: the utility's business logic and
	// its customers' VENs.
	Clients []ClientConfig `yaml:"clients"`
	// VEN follows an external VTN (ven.go); independent of Enabled.
	VEN VENConfig `yaml:"ven"`
}

// ClientConfig is one OAuth2 client.
type ClientConfig struct {
	ID string `yaml:"id"`
	// Secret, or SecretFile holding it (one of the two).
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	// Role is "bl" (business logic: the utility) or "ven".
	Role Role `yaml:"role"`
}

// Validate checks the section; with Enabled it needs at least one client.
func (c Config) Validate() error {
	if err := c.VEN.Validate(); err != nil {
		return err
	}
	if !c.Enabled {
		return nil
	}
	if c.TokenTTL < 0 || c.TokenTTL > 24*time.Hour {
		return fmt.Errorf("openadr.token_ttl %v: want 0 (1h) to 24h", c.TokenTTL)
	}
	if len(c.Clients) == 0 {
		return fmt.Errorf("openadr: enabled with no clients: add openadr.clients")
	}
	seen := map[string]bool{}
	for i, cl := range c.Clients {
		switch {
		case cl.ID == "" || len(cl.ID) > 128:
			return fmt.Errorf("openadr.clients[%d].id %q: want 1-128 bytes", i, cl.ID)
		case seen[cl.ID]:
			return fmt.Errorf("openadr.clients[%d].id %q: given twice", i, cl.ID)
		case (cl.Secret == "") == (cl.SecretFile == ""):
			return fmt.Errorf("openadr.clients[%d] (%s): give one of secret and secret_file", i, cl.ID)
		case cl.Role != RoleBL && cl.Role != RoleVEN:
			return fmt.Errorf("openadr.clients[%d] (%s).role %q: want bl or ven", i, cl.ID, cl.Role)
		}
		seen[cl.ID] = true
	}
	return nil
}

// clients resolves secret files.
func (c Config) clients() (map[string]client, error) {
	out := map[string]client{}
	for _, cl := range c.Clients {
		secret := cl.Secret
		if cl.SecretFile != "" {
			b, err := os.ReadFile(cl.SecretFile)
			if err != nil {
				return nil, fmt.Errorf("openadr client %s: %w", cl.ID, err)
			}
			secret = strings.TrimSpace(string(b))
			if secret == "" {
				return nil, fmt.Errorf("openadr client %s: secret_file %s is empty", cl.ID, cl.SecretFile)
			}
		}
		out[cl.ID] = client{id: cl.ID, secret: secret, role: cl.Role}
	}
	return out, nil
}
