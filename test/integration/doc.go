// Package integration holds the envtest suite of the issuer: a real API
// server with our CRDs and cert-manager's, the fake Atlas over HTTPS, and the
// manager assembled in-process the way main.go assembles it. There is no
// cert-manager controller: specs create and approve CertificateRequests
// themselves.
package integration
