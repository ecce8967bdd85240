package gridmint

import (
	"strings"
	"testing"
)

func TestSiteIDValidate(t *testing.T) {
	for _, ok := range []SiteID{"home-1", "Home_2", "a", "site.example", SiteID(strings.Repeat("x", MaxSiteIDLen))} {
		if err := ok.Validate(); err != nil {
			t.Errorf("SiteID(%q).Validate() = %v, want nil", ok, err)
		}
	}
	for _, bad := range []SiteID{"", ".", "..", "home 1", "home/1", "häus", "a\x00", SiteID(strings.Repeat("x", MaxSiteIDLen+1))} {
		if err := bad.Validate(); ErrorCode(err) != EInvalid {
			t.Errorf("SiteID(%q).Validate() code = %q, want %q", bad, ErrorCode(err), EInvalid)
		}
	}
}

func TestSiteValidate(t *testing.T) {
	good := Site{ID: "home-1", Name: "Home 1", GridMeter: "0xn/victron/grid-30", Zone: "DE-LU", Location: &Location{Lat: 48.1, Lon: 11.6}}
	if err := good.Validate(); err != nil {
		t.Fatalf("%+v: %v", good, err)
	}
	tests := []struct {
		name string
		edit func(*Site)
		want string
	}{
		{"bad id", func(s *Site) { s.ID = "a b" }, "site id"},
		{"long name", func(s *Site) { s.Name = strings.Repeat("n", MaxSiteNameLen+1) }, "name"},
		{"control in name", func(s *Site) { s.Name = "a\nb" }, "name"},
		{"long zone", func(s *Site) { s.Zone = strings.Repeat("z", MaxZoneLen+1) }, "zone"},
		{"meter not an id", func(s *Site) { s.GridMeter = "victron/grid-30" }, "grid_meter"},
		{"bad location", func(s *Site) { s.Location = &Location{Lat: 91} }, "location"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good
			tt.edit(&s)
			err := s.Validate()
			if ErrorCode(err) != EInvalid || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an invalid error naming %q", err, tt.want)
			}
		})
	}
}

func TestDeviceSiteIsValidated(t *testing.T) {
	d := Device{ID: "0xn/goe/1", Kind: KindEVCharger, Dialect: "goe", Serial: "1", Site: "home-1"}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	d.Site = "home/1"
	if err := d.Validate(); ErrorCode(err) != EInvalid || !strings.Contains(err.Error(), "site id") {
		t.Errorf("Validate() with site %q = %v, want an invalid error naming the site id", d.Site, err)
	}
}
