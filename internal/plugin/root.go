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

// Package plugin implements kubectl-atlas, the kubectl plugin that exposes
// the account-level GlobalSign Atlas API (quota, counters, statistics, trust
// chain, validation policy, revocation, rekey and domain claims) for the
// Atlas account behind an AtlasIssuer or AtlasClusterIssuer.
//
// The plugin reads the issuer and its Secret through the user's kubeconfig
// and builds its Atlas client with internal/credentials, exactly as the
// controller does, so a command that works here works for the issuer too,
// and a broken Secret is reported in the controller's words.
package plugin

import (
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/clock"

	"github.com/globalsign/atlas-issuer/internal/version"
)

// DefaultClusterResourceNamespace is where the plugin looks for the Secret of
// an AtlasClusterIssuer unless --cluster-resource-namespace says otherwise.
// The controller reads those Secrets from its own namespace (its
// --cluster-resource-namespace flag), which the plugin cannot discover; this
// is the namespace both the kustomize install and the documented Helm
// install use.
const DefaultClusterResourceNamespace = "atlas-issuer"

// options are the flags every command shares.
type options struct {
	// streams are the plugin's standard input, output and error. Tables and
	// -o output go to Out; prompts, progress and hints go to ErrOut so that
	// Out stays parseable.
	streams genericiooptions.IOStreams

	kubeconfig string
	overrides  clientcmd.ConfigOverrides

	issuer                   string
	clusterIssuer            string
	clusterResourceNamespace string

	output       string
	atlasTimeout time.Duration

	// now is the clock for relative times and credential expiry.
	clock clock.PassiveClock
}

const rootLong = `kubectl atlas calls the GlobalSign Atlas API of the account behind an
AtlasIssuer (--issuer NAME, in the namespace of the current context or -n)
or an AtlasClusterIssuer (--cluster-issuer NAME). It reads the issuer and its
credentials Secret with your kubeconfig, so you need permission to get both.

Account:
  quota                          remaining issuance quota
  counters                       certificates issued and revoked so far
  stats issued|revoked|expiring  certificates issued, revoked or expiring in a window
  trustchain                     the issuing CA and root certificates
  policy                         the account's validation policy

Certificates:
  certificate get SERIAL         status, subject, SANs and validity
  certificate revoke SERIAL      revoke (also --secret NAME), after confirmation
  certificate rekey SERIAL       reissue for a new key (--csr FILE)

Domain claims:
  claims list | submit DOMAIN | get ID | delete ID
  claims dns ID | verify-dns ID        DNS verification
  claims verify-http ID                HTTP verification
  claims email ID | verify-email ID    email verification
  claims reassert ID                   new token after assert_by has passed

Cluster:
  version                        this plugin's and the manager's versions
  migrate [--apply]              move from the earlier Issuer/ClusterIssuer kinds

Every command prints a table by default and JSON or YAML with -o json|yaml.
kubectl's connection flags work too (--kubeconfig, --context, -n, --cluster,
--user, --as, --as-group, --token, --server, --request-timeout, ...).`

// NewCommand returns the kubectl-atlas root command. It holds no global
// state, so tests can build and run as many as they like in one process.
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &options{streams: streams, clock: clock.RealClock{}}
	root := &cobra.Command{
		Use:   "kubectl-atlas",
		Short: "Use the GlobalSign Atlas account behind an AtlasIssuer",
		Long:  rootLong,
		Example: `  # Remaining quota of the AtlasIssuer "atlas" in namespace "web"
  kubectl atlas quota --issuer atlas -n web

  # Certificates issued in the last 7 days by an AtlasClusterIssuer's account
  kubectl atlas stats issued --cluster-issuer atlas --from 7d

  # Revoke the certificate stored in a cert-manager Secret
  kubectl atlas certificate revoke --secret www-tls --reason superseded --issuer atlas -n web`,
		Annotations: map[string]string{
			// Usage lines then read the way users type a plugin.
			cobra.CommandDisplayNameAnnotation: "kubectl atlas",
		},
		SilenceUsage:  true,
		SilenceErrors: true,
		// The default completion command would be named "kubectl-atlas
		// completion", which kubectl's plugin completion does not use.
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		Version:           version.Version,
	}
	root.SetVersionTemplate(version.String("kubectl-atlas") + "\n")
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)

	f := root.PersistentFlags()
	f.StringVar(&o.issuer, "issuer", "", "AtlasIssuer whose Atlas account to use, in the namespace of the current context or -n")
	f.StringVar(&o.clusterIssuer, "cluster-issuer", "", "AtlasClusterIssuer whose Atlas account to use")
	f.StringVar(&o.clusterResourceNamespace, "cluster-resource-namespace", DefaultClusterResourceNamespace,
		"namespace holding AtlasClusterIssuer Secrets: the controller's --cluster-resource-namespace, by default the namespace it runs in")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json or yaml (trustchain and certificate get also take pem)")
	f.DurationVar(&o.atlasTimeout, "atlas-timeout", 30*time.Second, "timeout of one HTTP call to Atlas")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	kubeFlags := pflag.NewFlagSet("kubectl", pflag.ContinueOnError)
	clientcmd.BindOverrideFlags(&o.overrides, kubeFlags, clientcmd.RecommendedConfigOverrideFlags(""))
	kubeFlags.VisitAll(func(fl *pflag.Flag) {
		// As in kubectl, the connection flags work everywhere but only the
		// everyday ones crowd every command's help.
		if fl.Name != "context" && fl.Name != "namespace" {
			fl.Hidden = true
		}
	})
	f.AddFlagSet(kubeFlags)

	root.AddCommand(
		newQuotaCommand(o),
		newCountersCommand(o),
		newStatsCommand(o),
		newTrustChainCommand(o),
		newPolicyCommand(o),
		newCertificateCommand(o),
		newClaimsCommand(o),
		newMigrateCommand(o),
		newVersionCommand(o),
	)
	return root
}

// runner is a subcommand's options: Validate checks the arguments and flags
// before anything is read from the cluster or Atlas, Run does the work.
type runner interface {
	Validate(cmd *cobra.Command, args []string) error
	Run(cmd *cobra.Command) error
}

// runE is the RunE of a subcommand whose options are r.
func runE(r runner) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := r.Validate(cmd, args); err != nil {
			return err
		}
		return r.Run(cmd)
	}
}

// readOptions are the settings of a command that reads from the account and
// prints what it read: only -o, which is checked before anything is read.
type readOptions struct {
	*options
	// allowPEM admits -o pem, for commands that print certificates.
	allowPEM bool

	format string
}

// Validate checks -o.
func (ro *readOptions) Validate(cmd *cobra.Command, _ []string) error {
	var err error
	ro.format, err = ro.options.format(cmd, ro.allowPEM)
	return err
}

// exactArgs is cobra.ExactArgs with the argument's name in the message.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == len(names) {
			return nil
		}
		if len(args) < len(names) {
			return usageError(cmd, "missing %s", names[len(args)])
		}
		return usageError(cmd, "unexpected argument %q", args[len(names)])
	}
}
