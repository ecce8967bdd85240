package devices

import (
	"fmt"
	"strings"
)

func fmtUpdates(ups []Update) string {
	parts := make([]string, len(ups))
	for i, u := range ups {
		s := fmt.Sprintf("{%s", u.Serial)
		if u.Name != "" {
			s += " name=" + u.Name
		}
		if u.Availability != AvailabilityUnknown {
			s += fmt.Sprintf(" avail=%d", u.Availability)
		}
		if m := u.Measurement; m != nil {
			s += fmt.Sprintf(" src=%s P=%v C=%d(%s)", m.SourceTime.Format("2006-01-02T15:04:05"), m.Power, m.Counter, m.CounterKind)
		}
		parts[i] = s + "}"
	}
	return "[" + strings.Join(parts, " ") + "]"
}
