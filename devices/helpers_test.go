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
			s += " src=" + m.SourceTime.Format("2006-01-02T15:04:05")
			if m.Power != nil {
				s += fmt.Sprintf(" P=%v", *m.Power)
			}
			if m.Forward != nil {
				s += fmt.Sprintf(" F=%d(%s)", m.Forward.Value, m.Forward.Kind)
			}
			if m.Reverse != nil {
				s += fmt.Sprintf(" R=%d(%s)", m.Reverse.Value, m.Reverse.Kind)
			}
			if m.SoC != nil {
				s += fmt.Sprintf(" SoC=%v", *m.SoC)
			}
		}
		parts[i] = s + "}"
	}
	return "[" + strings.Join(parts, " ") + "]"
}
