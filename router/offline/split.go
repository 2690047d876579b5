package offline

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
)

// SplitBySubject holds out whole subjects, so the test rows' subjects are
// never seen in training. Subjects are ranked by FNV-1a of "seed/subject" and
// the first round(holdout·n) (at least one, and at most n−1) are held out;
// the split depends only on the subject names, holdout and seed.
func SplitBySubject(rows []Row, holdout float64, seed int64) (train, test []Row, testSubjects []string, err error) {
	if !(holdout > 0 && holdout < 1) {
		return nil, nil, nil, fmt.Errorf("split: holdout %v must be in (0,1)", holdout)
	}
	var subjects []string
	for _, r := range rows {
		if !slices.Contains(subjects, r.Subject) {
			subjects = append(subjects, r.Subject)
		}
	}
	if len(subjects) < 2 {
		return nil, nil, nil, fmt.Errorf("split: need at least 2 subjects to hold some out, have %d (%v)", len(subjects), subjects)
	}
	key := func(s string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(strconv.FormatInt(seed, 10) + "/" + s))
		return h.Sum64()
	}
	slices.SortFunc(subjects, func(a, b string) int {
		if c := cmp.Compare(key(a), key(b)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	k := min(max(int(math.Round(holdout*float64(len(subjects)))), 1), len(subjects)-1)
	testSubjects = slices.Clone(subjects[:k])
	slices.Sort(testSubjects)
	for _, r := range rows {
		if _, held := slices.BinarySearch(testSubjects, r.Subject); held {
			test = append(test, r)
		} else {
			train = append(train, r)
		}
	}
	return train, test, testSubjects, nil
}
