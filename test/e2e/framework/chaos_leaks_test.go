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

package framework

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// dump writes b the way client-go logs a binary body.
func dump(b []byte) string {
	var sb strings.Builder
	for off := 0; off < len(b); off += 16 {
		end := min(off+16, len(b))
		fmt.Fprintf(&sb, "%08x  ", off)
		for i := off; i < end; i++ {
			sb.WriteString(hex.EncodeToString(b[i : i+1]))
			sb.WriteString(" ")
			if i-off == 7 {
				sb.WriteString(" ")
			}
		}
		fmt.Fprintf(&sb, " |%s|\n", strings.Map(func(r rune) rune {
			if r < 32 || r > 126 {
				return '.'
			}
			return r
		}, string(b[off:end])))
	}
	return sb.String()
}

func TestScanFindsCanariesInHexDumps(t *testing.T) {
	secret := "canary-secret-0123456789abcdef"
	body := []byte("k8s\x00\n\x0c\n\x02v1\x12\x06Secret\x12\x10\napiSecret\x12\x1e" + secret + "\x1a\x06Opaque")
	line := `{"msg":"Response Body","body":"` + strings.ReplaceAll(dump(body), "\n", `\n`) + `"}`
	if strings.Contains(line, secret) {
		t.Fatal("the dump shows the secret in one piece; the test proves nothing")
	}
	leaks := ScanText("log", line, WithEncodings([]Canary{{Kind: "api-secret", Value: secret}}))
	if len(leaks) != 1 || !strings.Contains(leaks[0].Where, "hex dump") || strings.Contains(leaks[0].Context, secret) {
		t.Fatalf("leaks = %+v", leaks)
	}
	if l := ScanText("log", `"data":{"apiSecret":"`+"Y2FuYXJ5LXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm"+`"}`, WithEncodings([]Canary{{Kind: "api-secret", Value: secret}})); len(l) != 1 {
		t.Errorf("base64 form not found: %+v", l)
	}
	if l := ScanText("log", "nothing here 00000000  6b 38", []Canary{{Kind: "api-secret", Value: secret}}); len(l) != 0 {
		t.Errorf("false positive: %+v", l)
	}
}
