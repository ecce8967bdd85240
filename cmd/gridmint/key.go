package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gridmint/gridmint/node"
	"golang.org/x/term"
)

// passphraseEnv names the environment variable that may hold the node
// key's passphrase, for services started without a terminal.
const passphraseEnv = "GRIDMINT_PASSPHRASE"

// configPassphraseOption is where run and audit read a passphrase file.
const configPassphraseOption = "identity.passphrase_file in the config"

// passphraseFromEnvOrPrompt returns the passphrase source of a command:
// GRIDMINT_PASSPHRASE, else a prompt on the terminal (twice when confirm
// is set), else an error that says how to provide one, naming the
// command's own file option (fileOption).
func passphraseFromEnvOrPrompt(prompt io.Writer, confirm bool, fileOption string) func() ([]byte, error) {
	return func() ([]byte, error) {
		if p, ok := os.LookupEnv(passphraseEnv); ok {
			return []byte(p), nil
		}
		fd := int(os.Stdin.Fd())
		if !term.IsTerminal(fd) {
			return nil, fmt.Errorf("no passphrase: set %s or %s, or run on a terminal", passphraseEnv, fileOption)
		}
		fmt.Fprint(prompt, "Node key passphrase: ")
		p, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt)
		if err != nil || !confirm {
			return p, err
		}
		fmt.Fprint(prompt, "Repeat it: ")
		again, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt)
		if err != nil {
			return nil, err
		}
		if string(again) != string(p) {
			return nil, errors.New("the passphrases differ")
		}
		return p, nil
	}
}

func initKey(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", node.DefaultDataDir, "the node's data directory")
	keystoreDir := fs.String("keystore", "", "keystore directory (default <data-dir>/keystore)")
	passFile := fs.String("passphrase-file", "", "read the passphrase from the first line of this file (else "+passphraseEnv+" or a prompt)")
	lightKDF := fs.Bool("light-kdf", false, "weaker key derivation (4 MiB instead of 256 MiB to unlock), for small boards")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: gridmint init [flags]

Creates the node's one secp256k1 key, encrypted with a passphrase in a
go-ethereum keystore. Its libp2p peer ID, its Ethereum address and every
signature the node makes derive from it. init refuses to replace a key.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("init: unexpected arguments %q", fs.Args())
	}
	if *keystoreDir == "" {
		*keystoreDir = filepath.Join(*dataDir, "keystore")
	}
	var pass []byte
	var err error
	if *passFile != "" {
		pass, err = node.ReadPassphraseFile(*passFile)
	} else {
		pass, err = passphraseFromEnvOrPrompt(stderr, true, "--passphrase-file")()
	}
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	kdf := node.KDFStandard
	if *lightKDF {
		kdf = node.KDFLight
	}
	id, err := node.CreateIdentity(*keystoreDir, pass, kdf)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	fmt.Fprintf(stdout, "node key created in %s\n  address  %s\n  peer ID  %s\nKeep the passphrase: without it the key, and the node's identity, are lost.\n",
		*keystoreDir, id.Address, id.PeerID)
	return nil
}

// address prints the node's address, which prefixes its device ids
// (<address>/<dialect>/<serial>), from the keystore without the
// passphrase, for scripts and the README's examples.
func address(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("address", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", node.DefaultDataDir, "the node's data directory (its key is in <data-dir>/keystore)")
	keystoreDir := fs.String("keystore", "", "keystore directory (default <data-dir>/keystore)")
	configPath := fs.String("config", "", "the node's YAML configuration: its identity.keystore or data_dir")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: gridmint address [--data-dir DIR | --keystore DIR | --config FILE]

Prints the node's Ethereum address, the first part of its device ids
(<address>/<dialect>/<serial>), read from its keystore without the
passphrase. For example:
  curl http://127.0.0.1:8088/api/v1/devices/$(gridmint address)/goe/200001

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("address: unexpected arguments %q", fs.Args())
	}
	dir := *keystoreDir
	switch {
	case dir != "":
	case *configPath != "":
		cfg, err := node.LoadConfig(*configPath)
		if err != nil {
			return err
		}
		dir = cfg.Identity.Keystore
	default:
		dir = filepath.Join(*dataDir, "keystore")
	}
	addr, err := node.KeystoreAddress(dir)
	if errors.Is(err, node.ErrNoKey) {
		return fmt.Errorf("address: %w: create it with gridmint init, or start gridmint demo once", err)
	}
	if err != nil {
		return fmt.Errorf("address: %w", err)
	}
	fmt.Fprintln(stdout, addr.Hex())
	return nil
}
