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

package main

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// The SPDX 2.3 JSON document, as far as this SBOM fills it in.
type spdxDocument struct {
	SPDXVersion       string             `json:"spdxVersion"`
	DataLicense       string             `json:"dataLicense"`
	SPDXID            string             `json:"SPDXID"`
	Name              string             `json:"name"`
	DocumentNamespace string             `json:"documentNamespace"`
	CreationInfo      spdxCreationInfo   `json:"creationInfo"`
	Packages          []spdxPackage      `json:"packages"`
	Relationships     []spdxRelationship `json:"relationships"`
}

type spdxCreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	Name                  string            `json:"name"`
	SPDXID                string            `json:"SPDXID"`
	VersionInfo           string            `json:"versionInfo,omitempty"`
	DownloadLocation      string            `json:"downloadLocation"`
	FilesAnalyzed         bool              `json:"filesAnalyzed"`
	LicenseConcluded      string            `json:"licenseConcluded"`
	LicenseDeclared       string            `json:"licenseDeclared"`
	CopyrightText         string            `json:"copyrightText"`
	PrimaryPackagePurpose string            `json:"primaryPackagePurpose,omitempty"`
	Checksums             []spdxChecksum    `json:"checksums,omitempty"`
	ExternalRefs          []spdxExternalRef `json:"externalRefs,omitempty"`
	Comment               string            `json:"comment,omitempty"`
}

type spdxChecksum struct {
	Algorithm     string `json:"algorithm"`
	ChecksumValue string `json:"checksumValue"`
}

type spdxExternalRef struct {
	ReferenceCategory string `json:"referenceCategory"`
	ReferenceType     string `json:"referenceType"`
	ReferenceLocator  string `json:"referenceLocator"`
}

type spdxRelationship struct {
	SPDXElementID      string `json:"spdxElementId"`
	RelationshipType   string `json:"relationshipType"`
	RelatedSPDXElement string `json:"relatedSpdxElement"`
}

const noAssertion = "NOASSERTION"

var spdxIDUnsafe = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

func spdxID(kind, s string) string {
	return "SPDXRef-" + kind + "-" + strings.Trim(spdxIDUnsafe.ReplaceAllString(s, "-"), "-")
}

// sbom describes a Go binary from the build information the Go linker
// embeds in it: the main module, every module compiled in, and the
// toolchain. The binary is the only input, so the document is as
// reproducible as the binary; its namespace is derived from the binary's
// hash, which makes it unique per build without randomness.
func sbom(binPath, platform, license string, created time.Time, binData []byte) ([]byte, error) {
	bi, err := buildinfo.ReadFile(binPath)
	if err != nil {
		return nil, fmt.Errorf("sbom: reading Go build info of %s: %w", binPath, err)
	}
	sum := sha256.Sum256(binData)
	version := bi.Main.Version
	if version == "" || version == "(devel)" {
		version = noAssertion
	}
	var settings []string
	for _, s := range bi.Settings {
		switch s.Key {
		case "GOOS", "GOARCH", "CGO_ENABLED", "-trimpath", "vcs.revision", "vcs.modified":
			settings = append(settings, s.Key+"="+s.Value)
		}
	}
	mainID := spdxID("Package", bi.Main.Path)
	main := spdxPackage{
		Name:                  bi.Main.Path,
		SPDXID:                mainID,
		VersionInfo:           version,
		DownloadLocation:      noAssertion,
		LicenseConcluded:      noAssertion,
		LicenseDeclared:       license,
		CopyrightText:         noAssertion,
		PrimaryPackagePurpose: "APPLICATION",
		Checksums:             []spdxChecksum{{Algorithm: "SHA256", ChecksumValue: hex.EncodeToString(sum[:])}},
		ExternalRefs:          []spdxExternalRef{purl(bi.Main.Path, version)},
		Comment:               fmt.Sprintf("Go binary for %s built with %s (%s)", platform, bi.GoVersion, strings.Join(settings, " ")),
	}
	if main.LicenseDeclared == "" {
		main.LicenseDeclared = noAssertion
	}
	doc := spdxDocument{
		SPDXVersion:       "SPDX-2.3",
		DataLicense:       "CC0-1.0",
		SPDXID:            "SPDXRef-DOCUMENT",
		Name:              bi.Main.Path + " " + platform,
		DocumentNamespace: "https://" + bi.Main.Path + "/spdx/" + hex.EncodeToString(sum[:]),
		CreationInfo: spdxCreationInfo{
			Created:  created.UTC().Format(time.RFC3339),
			Creators: []string{"Tool: atlas-issuer-hack-image"},
		},
		Packages:      []spdxPackage{main},
		Relationships: []spdxRelationship{{"SPDXRef-DOCUMENT", "DESCRIBES", mainID}},
	}
	for _, d := range dependencies(bi) {
		doc.Packages = append(doc.Packages, d)
		doc.Relationships = append(doc.Relationships, spdxRelationship{mainID, "DEPENDS_ON", d.SPDXID})
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	return append(out, '\n'), nil
}

// dependencies lists the toolchain and every module compiled into the
// binary (a replaced module under its replacement), sorted by SPDX ID so the
// document does not depend on the build info's order.
func dependencies(bi *buildinfo.BuildInfo) []spdxPackage {
	toolchain := spdxPackage{
		Name:                  "stdlib",
		SPDXID:                spdxID("Package", "stdlib-"+bi.GoVersion),
		VersionInfo:           bi.GoVersion,
		DownloadLocation:      noAssertion,
		LicenseConcluded:      noAssertion,
		LicenseDeclared:       "BSD-3-Clause",
		CopyrightText:         noAssertion,
		PrimaryPackagePurpose: "LIBRARY",
		ExternalRefs:          []spdxExternalRef{purl("stdlib", bi.GoVersion)},
	}
	deps := []spdxPackage{toolchain}
	for _, d := range bi.Deps {
		m := d
		if d.Replace != nil {
			m = d.Replace
		}
		p := spdxPackage{
			Name:                  m.Path,
			SPDXID:                spdxID("Package", m.Path+"-"+m.Version),
			VersionInfo:           m.Version,
			DownloadLocation:      noAssertion,
			LicenseConcluded:      noAssertion,
			LicenseDeclared:       noAssertion,
			CopyrightText:         noAssertion,
			PrimaryPackagePurpose: "LIBRARY",
			ExternalRefs:          []spdxExternalRef{purl(m.Path, m.Version)},
		}
		if m.Sum != "" {
			p.Comment = "go.sum hash " + m.Sum
		}
		deps = append(deps, p)
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i].SPDXID < deps[j].SPDXID })
	return deps
}

// purl is the package URL of a Go module (the purl spec's golang type).
func purl(module, version string) spdxExternalRef {
	loc := "pkg:golang/" + module
	if version != "" && version != noAssertion {
		loc += "@" + version
	}
	return spdxExternalRef{ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl", ReferenceLocator: loc}
}
