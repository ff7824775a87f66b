package contracts

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestContractSpecComparesAsReadSpec holds the comparison of loaded
// contracts to the comparison of the same files read for it alone: a
// loaded contract is compared from the tree it was parsed into, without a
// second parse, and must find exactly the same changes.
func TestContractSpecComparesAsReadSpec(t *testing.T) {
	dir := corpusDir(t)
	pairs := []string{"slack-web-1.0.6-to-1.2.0", "twilio-api-v2010-2.4.2-to-2.5.0-enum-removed"}
	if !testing.Short() {
		pairs = append(pairs, "stripe-2022-08-01-version-bump")
	}
	for _, pair := range pairs {
		t.Run(pair, func(t *testing.T) {
			olds, _ := filepath.Glob(filepath.Join(dir, "pairs", pair, "old.*"))
			news, _ := filepath.Glob(filepath.Join(dir, "pairs", pair, "new.*"))
			if len(olds) != 1 || len(news) != 1 {
				t.Fatalf("the corpus pair %s has no old and new document", pair)
			}
			want, err := CompareFiles(olds[0], news[0])
			if err != nil {
				t.Fatal(err)
			}
			oc, err := Load(olds[0])
			if err != nil {
				t.Fatal(err)
			}
			nc, err := Load(news[0])
			if err != nil {
				t.Fatal(err)
			}
			got := Compare(oc.Spec(), nc.Spec())
			if len(got) == 0 || !slices.EqualFunc(got, want, func(a, b Change) bool { return a.String() == b.String() }) {
				t.Errorf("loaded contracts give %d changes, read specs %d; they must be the same", len(got), len(want))
			}
			if self := Compare(nc.Spec(), nc.Spec()); len(self) != 0 {
				t.Errorf("a loaded contract compared with itself gives %d changes, want none", len(self))
			}
		})
	}
}
