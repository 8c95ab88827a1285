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

// Package integration holds the envtest suite of the issuer: a real API
// server with our CRDs and cert-manager's, the fake Atlas over HTTPS, and the
// manager assembled in-process the way main.go assembles it. There is no
// cert-manager controller: specs create and approve CertificateRequests
// themselves.
package integration
