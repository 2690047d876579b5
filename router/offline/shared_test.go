package offline

import (
	"bytes"
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/tandem-llm/tandem/internal/testdata"
	"github.com/tandem-llm/tandem/router"
)

// defaultConfig is the documented command that trains router/default_model.json:
// tandem router train --data ../shared/routing/routellm --strong gpt-4 --weak mixtral -o router/default_model.json
func defaultConfig(t *testing.T) Config {
	return Config{Data: []string{testdata.SharedFile(t, "routing/routellm")}, Strong: "gpt-4", Weak: "mixtral",
		Split: "subject", Holdout: 0.3, Seed: 1, TargetShare: 0.3}
}

// TestDefaultModel retrains the committed model (it must come out byte for
// byte identical) and checks that it beats random routing on the held-out
// subjects.
func TestDefaultModel(t *testing.T) {
	c := defaultConfig(t)
	d, err := Prepare(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out subjects: %v (%d train rows, %d test rows)", d.TestSubjects, len(d.Train), len(d.Test))
	for _, r := range d.Train {
		if slices.Contains(d.TestSubjects, r.Subject) {
			t.Fatalf("subject %s is in both sets", r.Subject)
		}
	}
	// Same defaults as the train command's flags.
	m, _, err := Train(context.Background(), c, d, router.TrainOptions{Bits: 14, L2: 1e-4, MaxIter: 200})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := m.Save(&got); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../default_model.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Error("retrained model differs from router/default_model.json: retrain it with the command in the package doc")
	}

	scores := Score(m, d.Test)
	rep, err := Evaluate(d.Test, scores)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Policies {
		t.Logf("%-13s APGR %.4f CPT50 %.4f CPT80 %.4f AIQ %.4f", p.Name, p.APGR, p.CPT50, p.CPT80, p.AIQ)
	}
	// Margin: five standard deviations of a random router's APGR on these
	// rows (measured by shuffling the router's own scores), at least 0.03.
	rng := rand.New(rand.NewPCG(1, 1))
	shuffled := slices.Clone(scores)
	var sum, sum2 float64
	const perms = 30
	for range perms {
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		a := APGR(RouterCurve(d.Test, shuffled), rep.QWeak, rep.QStrong)
		sum += a
		sum2 += a * a
	}
	sd := math.Sqrt(sum2/perms - (sum/perms)*(sum/perms))
	margin := max(0.03, 5*sd)
	apgr, random := float64(rep.Policy("router").APGR), float64(rep.Policy("random").APGR)
	t.Logf("random-permutation APGR %.4f ± %.4f; margin %.4f", sum/perms, sd, margin)
	if apgr <= random+margin {
		t.Errorf("router APGR %.4f, want > random %.4f + %.4f", apgr, random, margin)
	}
	if cpt := float64(rep.Policy("router").CPT50); !(cpt < float64(rep.Policy("random").CPT50)) {
		t.Errorf("router CPT(50%%) %.4f is not below random's", cpt)
	}

	// Calibration on shifted traffic: the threshold is set for a 30% share
	// on the training subjects, then held-out traffic arrives, easiest
	// subjects first and hardest last (by the weak model's accuracy). The
	// online calibrator holds the share over the last window near the target.
	const target, window = 0.3, 500
	fixed := router.ThresholdForShare(Score(m, d.Train), target)
	acc := map[string][2]float64{}
	for _, r := range d.Test {
		a := acc[r.Subject]
		acc[r.Subject] = [2]float64{a[0] + r.Weak, a[1] + 1}
	}
	order := slices.Clone(d.Test)
	idx := make([]int, len(order))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		ai, aj := acc[order[i].Subject], acc[order[j].Subject]
		return cmp.Compare(aj[0]/aj[1], ai[0]/ai[1])
	})
	th, err := router.NewThreshold(target, window, fixed)
	if err != nil {
		t.Fatal(err)
	}
	var online, static []bool
	for _, i := range idx {
		online = append(online, th.Observe(scores[i]))
		static = append(static, scores[i] > fixed)
	}
	share := func(b []bool) float64 {
		n := 0
		for _, x := range b[len(b)-window:] {
			if x {
				n++
			}
		}
		return float64(n) / window
	}
	t.Logf("last %d of %d requests: online share %.3f, fixed-threshold share %.3f (target %.2f)", window, len(online), share(online), share(static), target)
	if math.Abs(share(online)-target) > 0.05 {
		t.Errorf("online share %.3f, want %.2f ± 0.05", share(online), target)
	}
}
