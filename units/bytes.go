// Package units formats and parses byte sizes ("512M", "1.5 GiB") for flags,
// config files and messages.
package units

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseBytes reads a size such as "512M", "1.5GiB", "2g" or "1048576".
// K, M, G and T are binary multiples (1024), with or without "iB"/"B".
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToUpper(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	if n := len(t); n > 0 {
		if i := strings.IndexByte("KMGT", t[n-1]); i >= 0 {
			mult = int64(1) << (10 * (i + 1))
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || !(v >= 0) || v*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("invalid size %q (examples: 512M, 1.5G, 1073741824)", s)
	}
	return int64(v * float64(mult)), nil
}

// FormatBytes prints a byte count in binary units.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
