package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/c0fe5641/sessionrecovery/recovery"
)

// parseShard reads --shard K/N: K a number from 0 to N-1, or the name of
// an environment variable that holds it (JOB_COMPLETION_INDEX in a
// Kubernetes Indexed Job, AWS_BATCH_JOB_ARRAY_INDEX in an AWS Batch array
// job), so that every machine of a job runs the same command line.
func parseShard(v string, getenv func(string) string) (recovery.Shard, error) {
	k, n, ok := strings.Cut(v, "/")
	if !ok || k == "" || n == "" {
		return recovery.Shard{}, fmt.Errorf("--shard %q: want K/N, such as 0/4 or JOB_COMPLETION_INDEX/4", v)
	}
	count, err := strconv.Atoi(n)
	if err != nil || count < 1 || count > recovery.MaxShards {
		return recovery.Shard{}, fmt.Errorf("--shard %q: the count N must be a number from 1 to %d", v, recovery.MaxShards)
	}
	index, err := strconv.Atoi(k)
	if err != nil {
		if !isEnvName(k) {
			return recovery.Shard{}, fmt.Errorf("--shard %q: K must be a number or the name of an environment variable holding one", v)
		}
		raw := getenv(k)
		if raw == "" {
			return recovery.Shard{}, fmt.Errorf("--shard %q: the environment variable %s is not set (it is set in each pod of a Kubernetes Indexed Job, or use AWS_BATCH_JOB_ARRAY_INDEX in an AWS Batch array job)", v, k)
		}
		index, err = strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return recovery.Shard{}, fmt.Errorf("--shard %q: %s is %q, not a number", v, k, raw)
		}
	}
	sh := recovery.Shard{Index: index, Count: count}
	if err := sh.Validate(); err != nil {
		return recovery.Shard{}, fmt.Errorf("--shard %q: the index must be from 0 to %d, got %d", v, count-1, index)
	}
	return sh, nil
}

func isEnvName(s string) bool {
	for i, c := range s {
		if !(c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}
