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
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
)

// Bounds on the work an encrypted PKCS#8 key may demand. The key comes from
// a Secret that anyone allowed to create an AtlasIssuer in a namespace can
// write, and it is decrypted inside the controller: without bounds, a key
// asking for 2^31 PBKDF2 iterations ties up a reconcile worker for an hour,
// and one asking for scrypt N=2^30 makes the process run out of memory, so
// one namespace could stop issuance for the whole cluster. A key within the
// bounds costs at most a few hundred milliseconds of one core with the
// dearest PRF, and a Secret's key is decrypted once per Secret version. What tools produce stays accepted:
// OpenSSL uses 2048 PBKDF2 iterations and scrypt N=16384, r=8, p=1
// (16 MiB, 2^17 block mixes).
const (
	maxPBKDF2Iterations = 50_000
	// maxScryptMemory bounds 128*N*r bytes; the chart's memory limit is
	// 128 MiB.
	maxScryptMemory = 32 << 20
	// maxScryptWork bounds N*r*p, the number of block mixes: OpenSSL's
	// default.
	maxScryptWork = 1 << 17
)

var (
	oidPBES2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidScrypt = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}
)

// These mirror the structures github.com/youmark/pkcs8 decodes, field for
// field, so that whatever it would accept is checked here first.
type encryptedKeyInfo struct {
	EncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedData       []byte
}

type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

type scryptParams struct {
	Salt                     []byte
	CostParameter            int
	BlockSize                int
	ParallelizationParameter int
}

// checkKDFCost refuses an EncryptedPrivateKeyInfo whose key derivation
// would cost more than the bounds above. Structures it cannot read are left
// to the decrypting library, which reads them the same way and fails too.
func checkKDFCost(der []byte) error {
	var info encryptedKeyInfo
	if _, err := asn1.Unmarshal(der, &info); err != nil || !info.EncryptionAlgorithm.Algorithm.Equal(oidPBES2) {
		return nil
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.EncryptionAlgorithm.Parameters.FullBytes, &params); err != nil {
		return nil
	}
	kdf := params.KeyDerivationFunc
	switch {
	case kdf.Algorithm.Equal(oidPBKDF2):
		var p pbkdf2Params
		if _, err := asn1.Unmarshal(kdf.Parameters.FullBytes, &p); err != nil {
			return nil
		}
		if p.IterationCount > maxPBKDF2Iterations {
			return fmt.Errorf("the encrypted key asks for %d PBKDF2 iterations, more than the %d this issuer accepts; re-encrypt it with fewer, for example with openssl pkcs8 -topk8 -v2 aes-256-cbc -iter 10000", p.IterationCount, maxPBKDF2Iterations)
		}
	case kdf.Algorithm.Equal(oidScrypt):
		var p scryptParams
		if _, err := asn1.Unmarshal(kdf.Parameters.FullBytes, &p); err != nil {
			return nil
		}
		n, r, par := int64(p.CostParameter), int64(p.BlockSize), int64(p.ParallelizationParameter)
		// Each factor is checked on its own first, so the products cannot
		// overflow.
		if n > maxScryptWork || r > maxScryptWork || par > maxScryptWork ||
			128*n*r > maxScryptMemory || n*r*par > maxScryptWork {
			return fmt.Errorf("the encrypted key asks for scrypt with N=%d, r=%d, p=%d, more memory or work than this issuer accepts (at most %d MiB and N*r*p <= %d); re-encrypt it with PBKDF2 or the OpenSSL defaults", p.CostParameter, p.BlockSize, p.ParallelizationParameter, maxScryptMemory>>20, maxScryptWork)
		}
	}
	return nil
}
