package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tetherkit/tether/harness/release"
	"github.com/tetherkit/tether/harness/release/signature"
	"github.com/tetherkit/tether/internal/atomicfile"
)

const signHelp = `Usage:
  tether sign BUNDLE --key KEY [--out FILE]

sign signs a release bundle's exact bytes (its SHA-256) with the private
key KEY, offline, and writes the signature to BUNDLE.sigstore.json, where
'tether push' and 'tether verify --key' find it. The signature is a
Sigstore bundle (application/vnd.dev.sigstore.bundle.v0.3+json): a
message signature with the public key's ID as its verification material,
no certificate and no transparency log entry, so cosign and the other
Sigstore tools read it too.

KEY is a PEM file holding an unencrypted ECDSA P-256 private key (PKCS #8
"PRIVATE KEY" or SEC 1 "EC PRIVATE KEY"), as 'tether keygen' writes. Keep
it readable by its owner only. tether never prints a key.

'tether package --sign KEY' packages and signs in one step.

  --key KEY    the private key to sign with
  --out FILE   where to write the signature (default BUNDLE.sigstore.json);
               it is replaced atomically

Exit codes: 0 signed; 2 the bundle or the key cannot be read.

Examples:
  tether keygen acme
  tether sign dist/dealnotify-1.1.0.tar.gz --key acme.key
  tether verify dist/dealnotify-1.1.0.tar.gz --key acme.pub
`

func runSign(env *environ, args []string) int {
	fl := flag.NewFlagSet("sign", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	keyFile := fl.String("key", "", "")
	out := fl.String("out", "", "")
	bundle, err := parseOne(fl, args, "bundle", "give the bundle to sign, a .tar.gz written by tether package")
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(env.stdout, signHelp)
		return exitOK
	}
	if err == nil && *keyFile == "" {
		err = usageError{"give the private key to sign with: --key KEY (make a pair with tether keygen)"}
	}
	if err != nil {
		return fail(env, err)
	}
	signer, err := signature.LoadSigner(*keyFile)
	if err != nil {
		return fail(env, err)
	}
	if *out == "" {
		*out = bundle + signature.FileSuffix
	}
	if err := signBundle(signer, bundle, *out); err != nil {
		return fail(env, err)
	}
	fmt.Fprintf(env.stdout, "sign: wrote %s (key %s)\n", *out, signer.ID())
	return exitOK
}

// signBundle signs the bundle at path, which must read as a bundle, and
// writes the signature to out atomically.
func signBundle(signer *signature.Signer, path, out string) error {
	if _, err := release.ReadBundle(path); err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read bundle: %w", err)
	}
	sig, err := signer.Sign(data)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(out, 0o644, sig); err != nil {
		return fmt.Errorf("write signature: %w", err)
	}
	return nil
}

const keygenHelp = `Usage:
  tether keygen NAME

keygen makes a key pair to sign releases with: NAME.key, the private
key (PKCS #8 PEM, readable by its owner only), and NAME.pub, the public
key (PKIX PEM) to give to whoever verifies. The algorithm is ECDSA on the
NIST P-256 curve with SHA-256, the default of Sigstore's tools. Neither
file may exist: keygen never overwrites a key. The private key is not
encrypted: keep it in a secret store, not in a repository.

Exit codes: 0 written; 2 a file exists or cannot be written.

Example:
  tether keygen acme
  tether package ./connectors/dealnotify --sign acme.key
`

func runKeygen(env *environ, args []string) int {
	fl := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	name, err := parseOne(fl, args, "name", "give the name of the key pair: tether keygen NAME writes NAME.key and NAME.pub")
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(env.stdout, keygenHelp)
		return exitOK
	}
	if err != nil {
		return fail(env, err)
	}
	if err := signature.GenerateKey(name+".key", name+".pub"); err != nil {
		return fail(env, err)
	}
	k, err := signature.LoadPublicKey(name + ".pub")
	if err != nil {
		return fail(env, err)
	}
	fmt.Fprintf(env.stdout, "keygen: wrote %s.key (private, mode 0600) and %s.pub (key %s)\n", name, name, k.ID())
	return exitOK
}
