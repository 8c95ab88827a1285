package failpoint

import "testing"

func TestParse(t *testing.T) {
	var fired []string
	crash := func(name string) { fired = append(fired, name) }
	fp, err := Parse("after-submit=1, after-intent=0", func() float64 { return 0.5 }, crash)
	if err != nil {
		t.Fatal(err)
	}
	fp(AfterIntent)
	fp(AfterSubmit)
	fp(AfterIssue)
	if len(fired) != 1 || fired[0] != AfterSubmit {
		t.Fatalf("fired %v, want only after-submit", fired)
	}
	if fp, err := Parse("", nil, crash); fp != nil || err != nil {
		t.Fatal("empty spec must disarm")
	}
	for _, bad := range []string{"after-submit", "nowhere=0.5", "after-submit=2", "after-submit=x"} {
		if _, err := Parse(bad, nil, crash); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
