/*
Copyright 2026 The atlas-issuer Authors.

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

package plugin

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/cert-manager/cert-manager/pkg/util/pki"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/issuance"
)

func newCertificateCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "certificate",
		Aliases: []string{"cert", "certificates"},
		Short:   "Show, revoke or rekey a certificate of the account",
		Long: `Work with one certificate of the Atlas account, named by its serial number
in hex as Atlas and "kubectl atlas stats" print it:

  get SERIAL                 status, subject, SANs and validity
  revoke SERIAL | --secret   revoke, after a confirmation prompt
  rekey SERIAL --csr FILE    reissue with the same names for a new key`,
		Example: `  kubectl atlas certificate get 01A2B3C4D5E6F708192A3B4C5D6E7F80 --issuer atlas -n web
  kubectl atlas certificate revoke --secret www-tls --reason keyCompromise --issuer atlas -n web
  kubectl atlas certificate rekey 01A2B3C4D5E6F708192A3B4C5D6E7F80 --csr new.csr --issuer atlas -n web`,
	}
	cmd.AddCommand(newCertificateGetCommand(o), newRevokeCommand(o), newRekeyCommand(o))
	return cmd
}

// certificateView is a certificate as the plugin prints it: Atlas's status
// and the fields decoded from the PEM.
type certificateView struct {
	Serial      string   `json:"serial"`
	Status      string   `json:"status"`
	UpdatedAt   string   `json:"updated_at,omitempty"`
	Subject     string   `json:"subject,omitempty"`
	Issuer      string   `json:"issuer,omitempty"`
	DNSNames    []string `json:"dns_names,omitempty"`
	IPAddresses []string `json:"ip_addresses,omitempty"`
	Emails      []string `json:"emails,omitempty"`
	URIs        []string `json:"uris,omitempty"`
	NotBefore   string   `json:"not_before,omitempty"`
	NotAfter    string   `json:"not_after,omitempty"`
	Certificate string   `json:"certificate,omitempty"`
}

// notFoundError is an object Atlas does not know, in words for the user.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

// getCertificate retrieves a certificate and decodes it for display.
func (s *session) getCertificate(ctx context.Context, serial string) (*certificateView, error) {
	info, err := s.atlas.RetrieveCertificate(ctx, serial)
	if atlas.IsNotFound(err) {
		return nil, &notFoundError{fmt.Sprintf("certificate %s not found in the Atlas account of %s", serial, s.issuer)}
	}
	if err != nil {
		return nil, s.explain("reading certificate "+serial, err)
	}
	v := &certificateView{Serial: serial, Status: string(info.Status), Certificate: info.Certificate}
	if info.UpdatedAt != 0 {
		v.UpdatedAt = unixTime(info.UpdatedAt)
	}
	if info.Certificate == "" {
		return v, nil
	}
	c, err := pki.DecodeX509CertificateBytes([]byte(info.Certificate))
	if err != nil {
		return nil, fmt.Errorf("certificate %s from Atlas: %w", serial, err)
	}
	v.Subject, v.Issuer = c.Subject.String(), c.Issuer.String()
	v.DNSNames, v.Emails = c.DNSNames, c.EmailAddresses
	for _, ip := range c.IPAddresses {
		v.IPAddresses = append(v.IPAddresses, ip.String())
	}
	for _, u := range c.URIs {
		v.URIs = append(v.URIs, u.String())
	}
	v.NotBefore, v.NotAfter = formatTime(c.NotBefore), formatTime(c.NotAfter)
	return v, nil
}

// describe writes the certificate as "Field: value" lines.
func (v *certificateView) describe(w io.Writer, indent string) {
	line := func(k, val string) { fmt.Fprintf(w, "%s%s:\t%s\n", indent, k, val) }
	line("Serial", v.Serial)
	line("Status", v.Status)
	if v.Status == string(atlas.StatusPending) {
		return
	}
	line("Subject", orDash(v.Subject))
	line("DNS names", list(v.DNSNames))
	if len(v.IPAddresses) > 0 {
		line("IP addresses", list(v.IPAddresses))
	}
	if len(v.Emails) > 0 {
		line("Emails", list(v.Emails))
	}
	if len(v.URIs) > 0 {
		line("URIs", list(v.URIs))
	}
	line("Not before", orDash(v.NotBefore))
	line("Not after", orDash(v.NotAfter))
	line("Issuer", orDash(v.Issuer))
	if v.Status == string(atlas.StatusRevoked) {
		line("Revoked at", orDash(v.UpdatedAt))
	}
}

// certificateGetOptions are the settings of certificate get.
type certificateGetOptions struct {
	readOptions
	serial string
}

func newCertificateGetCommand(o *options) *cobra.Command {
	g := &certificateGetOptions{readOptions: readOptions{options: o, allowPEM: true}}
	return &cobra.Command{
		Use:   "get SERIAL",
		Short: "Show a certificate's status, subject, SANs and validity",
		Long: `Show a certificate of the account: ISSUED, REVOKED or PENDING (Atlas is
still issuing it), its subject, subject alternative names and validity.
-o pem prints the certificate itself.`,
		Example: `  kubectl atlas certificate get 01A2B3C4D5E6F708192A3B4C5D6E7F80 --issuer atlas -n web
  kubectl atlas certificate get 01A2B3C4D5E6F708192A3B4C5D6E7F80 --issuer atlas -n web -o pem | openssl x509 -noout -text`,
		Args: exactArgs("SERIAL"),
		RunE: runE(g),
	}
}

// Validate checks -o and takes the serial.
func (g *certificateGetOptions) Validate(cmd *cobra.Command, args []string) error {
	if err := g.readOptions.Validate(cmd, args); err != nil {
		return err
	}
	g.serial = args[0]
	return nil
}

// Run reads the certificate and prints it, as PEM for -o pem.
func (g *certificateGetOptions) Run(cmd *cobra.Command) error {
	s, err := g.connect(cmd.Context(), cmd)
	if err != nil {
		return err
	}
	v, err := s.getCertificate(cmd.Context(), g.serial)
	if err != nil {
		return err
	}
	if g.format == formatPEM {
		if v.Certificate == "" {
			return fmt.Errorf("certificate %s is %s: Atlas has no PEM for it yet", v.Serial, v.Status)
		}
		_, err := fmt.Fprint(g.streams.Out, strings.TrimSpace(v.Certificate)+"\n")
		return err
	}
	return g.emit(g.format, v, func(w io.Writer) { v.describe(w, "") })
}

// parseReason matches a --reason value case-insensitively against the
// reasons Atlas knows and returns its canonical spelling.
func parseReason(s string) (atlas.RevocationReason, error) {
	for _, r := range atlas.RevocationReasons {
		if strings.EqualFold(s, string(r)) {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown revocation reason %q: use one of %s", s, strings.Join(reasonNames(), ", "))
}

// serialHex is the certificate's serial as upper-case hex of its DER
// bytes. Unlike %X of the number it keeps the leading zero digit that
// Atlas serials (01...) have, so it matches what Atlas and stats print.
func serialHex(c *x509.Certificate) string {
	return strings.ToUpper(hex.EncodeToString(c.SerialNumber.Bytes()))
}

// serialFromSecret reads the leaf certificate of a kubernetes.io/tls Secret.
func (s *session) serialFromSecret(ctx context.Context, name string) (string, error) {
	sec := &corev1.Secret{}
	key := types.NamespacedName{Namespace: s.namespace, Name: name}
	if err := s.kube.Get(ctx, key, sec); err != nil {
		switch {
		case apierrors.IsNotFound(err):
			return "", fmt.Errorf("secret %s not found in namespace %s", name, s.namespace)
		case apierrors.IsForbidden(err):
			return "", fmt.Errorf("you may not read secret %s in namespace %s: %w", name, s.namespace, err)
		}
		return "", fmt.Errorf("reading secret %s: %w", key, err)
	}
	data, ok := sec.Data[corev1.TLSCertKey]
	if !ok || len(data) == 0 {
		return "", fmt.Errorf("secret %s has no %s: is it a certificate Secret?", key, corev1.TLSCertKey)
	}
	c, err := pki.DecodeX509CertificateBytes(data)
	if err != nil {
		return "", fmt.Errorf("secret %s key %s: %w", key, corev1.TLSCertKey, err)
	}
	return serialHex(c), nil
}

// revokeOptions are the settings of certificate revoke.
type revokeOptions struct {
	*options
	secret string
	reason string
	yes    bool

	format string
	serial string
	r      atlas.RevocationReason
}

func newRevokeCommand(o *options) *cobra.Command {
	ro := &revokeOptions{options: o}
	cmd := &cobra.Command{
		Use:   "revoke SERIAL | --secret NAME",
		Short: "Revoke a certificate, after confirmation",
		Long: fmt.Sprintf(`Revoke a certificate of the account. Name it by serial, or by the
Secret cert-manager stored it in (--secret, in the namespace of the current
context or -n): the serial is read from the Secret's tls.crt.

The certificate is shown and you are asked to confirm on stdin; --yes skips
the question. Without --yes and without an answer on stdin nothing is
revoked. Revocation cannot be undone.

Reasons: %s.`, strings.Join(reasonNames(), ", ")),
		Example: `  kubectl atlas certificate revoke 01A2B3C4D5E6F708192A3B4C5D6E7F80 --issuer atlas -n web
  kubectl atlas certificate revoke --secret www-tls --reason superseded --issuer atlas -n web
  kubectl atlas certificate revoke --secret www-tls --reason keyCompromise --yes --issuer atlas -n web`,
		Args: cobra.MaximumNArgs(1),
		RunE: runE(ro),
	}
	cmd.Flags().StringVar(&ro.secret, "secret", "", "revoke the certificate in this kubernetes.io/tls Secret's tls.crt")
	cmd.Flags().StringVar(&ro.reason, "reason", string(atlas.ReasonUnspecified), "revocation reason: "+strings.Join(reasonNames(), ", "))
	cmd.Flags().BoolVarP(&ro.yes, "yes", "y", false, "revoke without asking for confirmation")
	return cmd
}

// Validate checks the arguments and flags before anything is read.
func (ro *revokeOptions) Validate(cmd *cobra.Command, args []string) error {
	var err error
	if ro.format, err = ro.options.format(cmd, false); err != nil {
		return err
	}
	if (len(args) == 1) == (ro.secret != "") {
		return usageError(cmd, "name the certificate to revoke with either a SERIAL or --secret NAME")
	}
	if len(args) == 1 {
		ro.serial = args[0]
	}
	if ro.r, err = parseReason(ro.reason); err != nil {
		return usageError(cmd, "--reason: %v", err)
	}
	return nil
}

// Run shows the certificate, asks for confirmation unless --yes, and
// revokes it.
func (ro *revokeOptions) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	s, err := ro.connect(ctx, cmd)
	if err != nil {
		return err
	}
	serial := ro.serial
	if serial == "" {
		if serial, err = s.serialFromSecret(ctx, ro.secret); err != nil {
			return err
		}
	}
	v, err := s.getCertificate(ctx, serial)
	if err != nil {
		var nf *notFoundError
		if ro.secret != "" && errors.As(err, &nf) {
			return fmt.Errorf("%w (the serial is from secret %s/%s: was it issued by another issuer?)", err, s.namespace, ro.secret)
		}
		return err
	}
	switch atlas.CertificateStatus(v.Status) {
	case atlas.StatusRevoked:
		return fmt.Errorf("certificate %s is already revoked (at %s)", serial, orDash(v.UpdatedAt))
	case atlas.StatusPending:
		return fmt.Errorf("certificate %s is still being issued; it can be revoked once it is ISSUED", serial)
	}
	if !ro.yes {
		ok, err := ro.confirm(ctx, s, v, ro.r)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintf(ro.streams.ErrOut, "Certificate %s was not revoked.\n", serial)
			return nil
		}
	}
	if err := s.atlas.RevokeCertificate(ctx, serial, atlas.RevokeRequest{RevocationReason: ro.r}); err != nil && !s.revokedAfterAll(ctx, serial, err) {
		return s.explain("revoking certificate "+serial, err)
	}
	result := struct {
		Serial string `json:"serial"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	}{serial, string(atlas.StatusRevoked), string(ro.r)}
	return ro.emit(ro.format, result, func(w io.Writer) {
		fmt.Fprintf(w, "certificate %s revoked (reason %s)\n", serial, ro.r)
	})
}

// revokedAfterAll reports whether a revocation that failed with 409 did in
// fact happen: the client retries a PATCH after a 5xx or a timeout, and
// when the first attempt went through, the retry finds the certificate
// already revoked. The certificate was ISSUED just before, so REVOKED now
// is this command's doing.
func (s *session) revokedAfterAll(ctx context.Context, serial string, err error) bool {
	if atlas.StatusCode(err) != http.StatusConflict {
		return false
	}
	info, gerr := s.atlas.RetrieveCertificate(ctx, serial)
	return gerr == nil && info.Status == atlas.StatusRevoked
}

func reasonNames() []string {
	names := make([]string, len(atlas.RevocationReasons))
	for i, r := range atlas.RevocationReasons {
		names[i] = string(r)
	}
	return names
}

// errNoConfirmation is returned when nobody answered the revoke prompt.
var errNoConfirmation = errors.New("no confirmation: nothing was revoked. Answer the prompt on a terminal, or pass --yes")

// confirm shows what will be revoked and reads the answer from stdin. Only
// an explicit yes proceeds; end of input, as with stdin from /dev/null or
// a CI job, refuses.
func (o *options) confirm(ctx context.Context, s *session, v *certificateView, r atlas.RevocationReason) (bool, error) {
	w := o.streams.ErrOut
	fmt.Fprintf(w, "This revokes a certificate in the Atlas account of %s:\n", s.issuer)
	tw := newDescribeWriter(w)
	v.describe(tw, "  ")
	fmt.Fprintf(tw, "  Reason:\t%s\n", r)
	_ = tw.Flush() // terminal output, like the prompt itself
	fmt.Fprint(w, "Revocation cannot be undone. Revoke it? [y/N]: ")
	if o.streams.In == nil {
		fmt.Fprintln(w)
		return false, errNoConfirmation
	}
	type reply struct {
		answer string
		err    error
	}
	// The read blocks until Enter; reading aside lets Ctrl-C, which the
	// signal context catches, still end the command.
	replies := make(chan reply, 1)
	go func() {
		answer, err := bufio.NewReader(o.streams.In).ReadString('\n')
		replies <- reply{answer, err}
	}()
	var rep reply
	select {
	case <-ctx.Done():
		fmt.Fprintln(w)
		return false, ctx.Err()
	case rep = <-replies:
	}
	answer := strings.ToLower(strings.TrimSpace(rep.answer))
	f, isFile := o.streams.In.(*os.File)
	terminal := isFile && isTerminal(f)
	if answer == "" && rep.err != nil {
		fmt.Fprintln(w)
		if !errors.Is(rep.err, io.EOF) {
			return false, fmt.Errorf("reading the answer: %w", rep.err)
		}
		if isFile && !terminal {
			return false, fmt.Errorf("%w (stdin is not a terminal)", errNoConfirmation)
		}
		return false, errNoConfirmation
	}
	if !terminal {
		// Nobody typed Enter, so the prompt line is still open.
		fmt.Fprintln(w)
	}
	return slices.Contains([]string{"y", "yes"}, answer), nil
}

// rekeyOptions are the settings of certificate rekey.
type rekeyOptions struct {
	readOptions
	csrFile string

	serial string
	key    *publicKeyFile
}

func newRekeyCommand(o *options) *cobra.Command {
	ro := &rekeyOptions{readOptions: readOptions{options: o}}
	cmd := &cobra.Command{
		Use:   "rekey SERIAL --csr FILE",
		Short: "Reissue an ISSUED certificate for a new key",
		Long: `Ask Atlas for a new certificate with the names and lifetime of an ISSUED one,
for a new key. --csr takes a PEM file with a certificate signing request or
a public key: accounts whose policy takes a CSR (key_format PKCS10) need the
CSR, others are sent its public key. The new serial is printed; Atlas may
take a moment to issue it (see "certificate get").`,
		Example: `  openssl req -new -newkey rsa:2048 -nodes -keyout new.key -subj /CN=www.example.com -out new.csr
  kubectl atlas certificate rekey 01A2B3C4D5E6F708192A3B4C5D6E7F80 --csr new.csr --issuer atlas -n web`,
		Args: exactArgs("SERIAL"),
		RunE: runE(ro),
	}
	cmd.Flags().StringVar(&ro.csrFile, "csr", "", "PEM file with the CSR (or public key) of the new key")
	return cmd
}

// Validate checks -o, takes the serial and reads the key from --csr.
func (ro *rekeyOptions) Validate(cmd *cobra.Command, args []string) error {
	if err := ro.readOptions.Validate(cmd, args); err != nil {
		return err
	}
	if ro.csrFile == "" {
		return usageError(cmd, "--csr FILE is required: the CSR or public key of the new key")
	}
	data, err := os.ReadFile(ro.csrFile)
	if err != nil {
		return fmt.Errorf("--csr: %w", err)
	}
	if ro.key, err = readPublicKeyFile(data); err != nil {
		return fmt.Errorf("--csr %s: %w", ro.csrFile, err)
	}
	ro.serial = args[0]
	return nil
}

// Run sends the new key in the form the account's policy takes and prints
// the new serial.
func (ro *rekeyOptions) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	s, err := ro.connect(ctx, cmd)
	if err != nil {
		return err
	}
	policy, err := s.atlas.ValidationPolicy(ctx)
	if err != nil {
		return s.explain("reading the validation policy", err)
	}
	pub, err := ro.key.forPolicy(policy)
	if err != nil {
		return fmt.Errorf("--csr %s: %w", ro.csrFile, err)
	}
	serial := ro.serial
	// The policy's signature section governs a rekey as it does an issuance.
	rekey := atlas.RekeyRequest{PublicKey: pub, Signature: issuance.Signature(policy, ro.key.algorithm)}
	newSerial, err := s.atlas.RekeyCertificate(ctx, serial, rekey)
	if atlas.IsNotFound(err) {
		return &notFoundError{fmt.Sprintf("certificate %s not found in the Atlas account of %s", serial, s.issuer)}
	}
	if err != nil {
		return s.explain("rekeying certificate "+serial, err)
	}
	result := struct {
		Serial    string `json:"serial"`
		NewSerial string `json:"new_serial"`
	}{serial, newSerial}
	return ro.emit(ro.format, result, func(w io.Writer) {
		fmt.Fprintf(w, "certificate %s rekeyed: new certificate %s\n", serial, newSerial)
		fmt.Fprintf(ro.streams.ErrOut, "Atlas may take a moment to issue it: kubectl atlas certificate get %s\n", newSerial)
	})
}

// publicKeyFile is what --csr held.
type publicKeyFile struct {
	csrPEM    string // set when the file is a CSR
	spkiPEM   string
	algorithm x509.PublicKeyAlgorithm
}

// readPublicKeyFile accepts a PEM CSR or a PEM SubjectPublicKeyInfo.
func readPublicKeyFile(data []byte) (*publicKeyFile, error) {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("no PEM CERTIFICATE REQUEST or PUBLIC KEY block")
		}
		switch b.Type {
		case "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST":
			csr, err := x509.ParseCertificateRequest(b.Bytes)
			if err != nil {
				return nil, err
			}
			if err := csr.CheckSignature(); err != nil {
				return nil, fmt.Errorf("the CSR's signature is invalid: %w", err)
			}
			spki, err := x509.MarshalPKIXPublicKey(csr.PublicKey)
			if err != nil {
				return nil, err
			}
			return &publicKeyFile{
				csrPEM:    string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: b.Bytes})),
				spkiPEM:   string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})),
				algorithm: csr.PublicKeyAlgorithm,
			}, nil
		case "PUBLIC KEY":
			pub, err := x509.ParsePKIXPublicKey(b.Bytes)
			if err != nil {
				return nil, err
			}
			return &publicKeyFile{spkiPEM: string(pem.EncodeToMemory(b)), algorithm: publicKeyAlgorithm(pub)}, nil
		}
	}
}

// forPolicy returns the public_key value the account's policy asks for.
func (k *publicKeyFile) forPolicy(p *atlas.ValidationPolicy) (string, error) {
	if p.NeedsPrivateKey() {
		return "", errors.New("the account requires a public_key_signature made with the private key, which this plugin does not handle")
	}
	if p.KeyFormat() == atlas.KeyFormatPKCS10 {
		if k.csrPEM == "" {
			return "", errors.New("the account's validation policy takes a CSR (key_format PKCS10), and the file holds a bare public key")
		}
		return k.csrPEM, nil
	}
	return k.spkiPEM, nil
}

// publicKeyAlgorithm names the type of a parsed public key the way a parsed
// CSR does.
func publicKeyAlgorithm(pub crypto.PublicKey) x509.PublicKeyAlgorithm {
	switch pub.(type) {
	case *rsa.PublicKey:
		return x509.RSA
	case *ecdsa.PublicKey:
		return x509.ECDSA
	case ed25519.PublicKey:
		return x509.Ed25519
	}
	return x509.UnknownPublicKeyAlgorithm
}
