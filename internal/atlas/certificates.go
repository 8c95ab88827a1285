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

package atlas

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// RequestCertificate submits req and returns the new certificate's serial,
// taken from the Location header exactly as Atlas wrote it. Issuance is
// asynchronous: poll RetrieveCertificate with the serial.
//
// The POST is repeated only when Atlas certainly did not act (429, 503, or
// no connection). Any other failure may have issued a certificate, so it is
// returned rather than risking a duplicate.
func (c *Client) RequestCertificate(ctx context.Context, req *CertificateRequest) (string, error) {
	if req == nil {
		return "", errors.New("atlas RequestCertificate: nil request")
	}
	resp, err := c.do(ctx, &request{
		op:     "RequestCertificate",
		method: http.MethodPost,
		path:   "/certificates",
		body:   req,
		unsafe: true,
		limit:  limitSmall,
	})
	if err != nil {
		return "", err
	}
	return lastSegment("RequestCertificate", resp.header.Get("Location"))
}

// RetrieveCertificate returns the certificate with the given serial. While
// Atlas is still issuing it (202) the result has Status StatusPending and
// no certificate; the client does not poll, the caller does.
func (c *Client) RetrieveCertificate(ctx context.Context, serial string) (*CertificateInfo, error) {
	seg, err := segment("serial", serial)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, &request{
		op:     "RetrieveCertificate",
		method: http.MethodGet,
		path:   "/certificates/" + seg,
		accept: []int{http.StatusOK, http.StatusAccepted},
		limit:  limitCertificate,
	})
	if err != nil {
		return nil, fmt.Errorf("retrieve certificate %s: %w", serial, err)
	}
	if resp.status == http.StatusAccepted {
		return &CertificateInfo{Status: StatusPending}, nil
	}
	var info CertificateInfo
	if err := decode("RetrieveCertificate", resp, &info, false); err != nil {
		return nil, fmt.Errorf("retrieve certificate %s: %w", serial, err)
	}
	return &info, nil
}

// RevokeCertificate revokes the certificate with a reason (PATCH). A 409
// means it is already revoked or not issued yet.
func (c *Client) RevokeCertificate(ctx context.Context, serial string, req RevokeRequest) error {
	seg, err := segment("serial", serial)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, &request{
		op:     "RevokeCertificate",
		method: http.MethodPatch,
		path:   "/certificates/" + seg,
		body:   req,
		limit:  limitSmall,
	})
	if err != nil {
		return fmt.Errorf("revoke certificate %s: %w", serial, err)
	}
	return nil
}

// RevokeCertificateDeprecated revokes the certificate with the DELETE
// endpoint Atlas has deprecated in favour of RevokeCertificate; it is kept
// for accounts or gateways that lack PATCH.
func (c *Client) RevokeCertificateDeprecated(ctx context.Context, serial string) error {
	seg, err := segment("serial", serial)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, &request{
		op:     "RevokeCertificateDeprecated",
		method: http.MethodDelete,
		path:   "/certificates/" + seg,
		limit:  limitSmall,
	})
	if err != nil {
		return fmt.Errorf("revoke certificate %s: %w", serial, err)
	}
	return nil
}

// RekeyCertificate reissues an ISSUED certificate for a new key and returns
// the new serial from the Location header. Like RequestCertificate it is
// repeated only when Atlas certainly did not act.
func (c *Client) RekeyCertificate(ctx context.Context, serial string, req RekeyRequest) (string, error) {
	seg, err := segment("serial", serial)
	if err != nil {
		return "", err
	}
	resp, err := c.do(ctx, &request{
		op:     "RekeyCertificate",
		method: http.MethodPost,
		path:   "/certificates/" + seg + "/rekey",
		body:   req,
		unsafe: true,
		limit:  limitSmall,
	})
	if err != nil {
		return "", fmt.Errorf("rekey certificate %s: %w", serial, err)
	}
	return lastSegment("RekeyCertificate", resp.header.Get("Location"))
}

// TrustChain returns the account's CA certificates as PEM, from the issuing
// CA to the root.
func (c *Client) TrustChain(ctx context.Context) ([]string, error) {
	var chain []string
	if err := c.getJSON(ctx, "TrustChain", "/trustchain", limitTrustChain, &chain); err != nil {
		return nil, err
	}
	return chain, nil
}

// ValidationPolicy returns the account's validation policy.
func (c *Client) ValidationPolicy(ctx context.Context) (*ValidationPolicy, error) {
	var p ValidationPolicy
	if err := c.getJSON(ctx, "ValidationPolicy", "/validationpolicy", limitPolicy, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// getJSON performs a GET that answers 200 with a JSON body.
func (c *Client) getJSON(ctx context.Context, op, path string, limit int64, v any) error {
	resp, err := c.do(ctx, &request{op: op, method: http.MethodGet, path: path, limit: limit})
	if err != nil {
		return err
	}
	return decode(op, resp, v, false)
}
