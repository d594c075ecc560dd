package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/c0fe5641/sessionrecovery/recovery"
)

func newMergeReportsCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "merge-reports FILE...",
		Short: "join the --json reports of the shards of one run into one",
		Long: `Join the JSON reports that the shards of one run wrote (scan or recover
--shard K/N --json, one file per shard, in any order) into the report one
run over the whole location would have written: the sessions in report
order, each as its shard reported it, the orphans by key, the totals
summed. A session in two reports (a file given twice, or shards of
different counts) is refused. "-" reads a report from stdin.

Example, four shards:
  for k in 0 1 2 3; do sessionrecovery recover --shard $k/4 --json LOCATION > shard-$k.json; done
  sessionrecovery merge-reports shard-*.json > report.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var reports []recovery.NamedReport
			for _, name := range args {
				if name == "-" {
					reports = append(reports, recovery.NamedReport{Name: "stdin", R: os.Stdin})
					continue
				}
				f, err := os.Open(name)
				if err != nil {
					return exitWith(usageError(e.stderr, "merge-reports", "%v", err))
				}
				defer f.Close()
				reports = append(reports, recovery.NamedReport{Name: name, R: f})
			}
			if err := recovery.MergeReports(e.stdout, reports...); err != nil {
				fmt.Fprintf(e.stderr, "sessionrecovery merge-reports: %v: the report on stdout is incomplete\n", err)
				return exitCode(exitErrors)
			}
			return nil
		},
	}
}
