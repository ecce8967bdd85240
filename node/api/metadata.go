package api

import (
	"cmp"
	"encoding/hex"
	"fmt"
	"html"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
)

// ERC-1155 token metadata of REC tokens, for wallets and explorers. The
// REC contract's uri(id) is a template ending in
// /api/v1/metadata/rec/{id}.json (chain.RECMetadataURI); a wallet
// replaces {id} with the token id as 64 lower-case hex digits, as
// ERC-1155 says, and fetches the JSON from any node of the chain: what
// it says comes from the chain's events alone (the ledger), so every
// node answers the same as of the same block.

// MetadataPath is the route's prefix; the token id and ".json" follow.
const MetadataPath = "/api/v1/metadata/rec/"

// maxMetadataDevices bounds the devices listed in one token's metadata:
// a zone's hour may have thousands, and wallets fetch it on every view.
const maxMetadataDevices = 100

// RECMetadata is the ERC-1155 metadata JSON of one REC token (EIP-1155
// "ERC-1155 Metadata URI JSON Schema": name, description, decimals,
// properties).
type RECMetadata struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Image is the token's picture: an SVG card (zone, technology, hour,
	// Wh) the node draws at the same path with .svg, on the host the
	// metadata was fetched from.
	Image string `json:"image"`
	// Decimals is 0: one token is one Wh, the unit the contract counts.
	Decimals   int           `json:"decimals"`
	Properties RECProperties `json:"properties"`
}

// RECProperties are the token's attributes: its id's parts and what
// the chain issued and retired of it.
type RECProperties struct {
	// Zone is the grid zone; Technology the EnergyTag energy_source
	// ("solar_pv"), TechnologyCode the contract's number for it.
	Zone           string `json:"zone"`
	Technology     string `json:"technology"`
	TechnologyCode uint8  `json:"technology_code"`
	// HourStart and HourEnd bound the production hour, UTC (RFC 3339).
	HourStart time.Time `json:"hour_start"`
	HourEnd   time.Time `json:"hour_end"`
	// Wh is the energy issued as this token; WhRetired what was retired
	// of it, WhOutstanding what is still held (Wh − WhRetired).
	Wh            uint64 `json:"wh"`
	WhRetired     uint64 `json:"wh_retired"`
	WhOutstanding uint64 `json:"wh_outstanding"`
	// Devices are the issuances the token's Wh come from, one per device
	// (the contract issues a device's hour once), at most 100, largest
	// first; DevicesTotal counts them all.
	Devices      []RECDeviceIssuance `json:"devices"`
	DevicesTotal int                 `json:"devices_total"`
	// ChainID, Contract and TokenID name the token on chain (TokenID
	// decimal, as explorers show it); AsOf is the block this reads.
	ChainID  string     `json:"chain_id"`
	Contract string     `json:"contract"`
	TokenID  string     `json:"token_id"`
	AsOf     ChainBlock `json:"as_of"`
}

// RECDeviceIssuance is one device's issuance of the token.
type RECDeviceIssuance struct {
	// Device is the device key (opaque: its node salts it); empty when
	// the issuing call could not be read.
	Device   string       `json:"device"`
	Wh       uint64       `json:"wh"`
	Issuance IssuanceView `json:"issuance"`
}

// ParseMetadataID reads the {id} of a metadata URL: 64 hex digits (the
// ERC-1155 substitution), optionally followed by ".json".
func ParseMetadataID(s string) (chain.TokenID, error) {
	return parseTokenHex(strings.TrimSuffix(s, ".json"), s)
}

// parseTokenHex reads 64 hex digits of a token id; s is what the caller
// was given, for the error.
func parseTokenHex(h, s string) (chain.TokenID, error) {
	if len(h) != 64 {
		return chain.TokenID{}, gridmint.Errorf(gridmint.EInvalid, "token id %q: want 64 hex digits (ERC-1155 {id}) and .json or .svg", clipText(s))
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return chain.TokenID{}, gridmint.Errorf(gridmint.EInvalid, "token id %q: want 64 hex digits (ERC-1155 {id}) and .json or .svg", clipText(s))
	}
	t, err := chain.DecodeTokenID(new(big.Int).SetBytes(b))
	if err != nil {
		return chain.TokenID{}, gridmint.Errorf(gridmint.EInvalid, "token id %s: %v", h, err)
	}
	return t, nil
}

// recMetadata is GET /api/v1/metadata/rec/{id}.json: the token's
// metadata, 404 for a token never issued. Open to any origin: wallets
// and explorers in a browser fetch it from their own pages.
func (s *Server) recMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	id := r.PathValue("id")
	svg := strings.HasSuffix(id, ".svg")
	var tok chain.TokenID
	var err error
	if svg {
		tok, err = parseTokenHex(strings.TrimSuffix(id, ".svg"), id)
	} else {
		tok, err = ParseMetadataID(id)
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	l, err := s.cfg.Certificates.Ledger(r.Context())
	if err != nil {
		s.writeErr(w, err)
		return
	}
	m, ok := s.recMetadataOf(l, tok)
	if !ok {
		s.writeErr(w, gridmint.Errorf(gridmint.ENotFound, "token %s was never issued (as of block %d)", tok, l.Head.Number))
		return
	}
	if svg {
		writeRECCard(w, m)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	m.Image = fmt.Sprintf("%s://%s%s%064x.svg", scheme, r.Host, MetadataPath, tok.Big())
	s.writeJSON(w, http.StatusOK, m)
}

// writeRECCard draws a token's card: 400 × 400, text only, every string
// escaped. The response forbids scripts and outside loads, so an SVG
// opened on its own cannot run anything.
func writeRECCard(w http.ResponseWriter, m RECMetadata) {
	p := m.Properties
	hour := "hour unknown"
	if !p.HourStart.IsZero() {
		hour = p.HourStart.Format("2006-01-02") + " · " + p.HourStart.Format("15:04") + "–" + p.HourEnd.Format("15:04") + " UTC"
	}
	esc := html.EscapeString
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400" viewBox="0 0 400 400" role="img" aria-label="%s">
<rect width="400" height="400" rx="24" fill="#0f3d2e"/>
<circle cx="330" cy="70" r="36" fill="#f5c542"/>
<text x="32" y="80" font-family="sans-serif" font-size="44" font-weight="700" fill="#ffffff">REC</text>
<text x="32" y="120" font-family="sans-serif" font-size="20" fill="#cde8d9">%s · %s</text>
<text x="32" y="200" font-family="sans-serif" font-size="18" fill="#ffffff">%s</text>
<text x="32" y="270" font-family="sans-serif" font-size="40" font-weight="700" fill="#ffffff">%s Wh</text>
<text x="32" y="305" font-family="sans-serif" font-size="16" fill="#cde8d9">issued · %s Wh retired</text>
<text x="32" y="370" font-family="sans-serif" font-size="13" fill="#8fbfa6">gridmint · one token = one Wh · chain %s</text>
</svg>
`, esc(m.Name), esc(p.Zone), esc(strings.ReplaceAll(p.Technology, "_", " ")), esc(hour),
		groupThousands(p.Wh), groupThousands(p.WhRetired), esc(p.ChainID))
}

// groupThousands writes n with thin spaces between groups of three digits.
func groupThousands(n uint64) string {
	d := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range d {
		if i > 0 && (len(d)-i)%3 == 0 {
			b.WriteString("\u2009")
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (s *Server) recMetadataOf(l *chain.Ledger, tok chain.TokenID) (RECMetadata, bool) {
	p := RECProperties{
		Zone: tok.ZoneName(), Technology: gridmint.Technology(tok.Technology).EnergySource(), TechnologyCode: tok.Technology,
		Devices: []RECDeviceIssuance{}, Contract: s.cfg.Certificates.Contracts().REC.Hex(), TokenID: tok.Big().String(), AsOf: toChainBlock(l.Head),
	}
	if id := s.cfg.Certificates.ChainID(); id != nil {
		p.ChainID = id.String()
	}
	if tok.Hour <= maxJSONUnix/3600-1 {
		p.HourStart, p.HourEnd = time.Unix(int64(tok.Hour)*3600, 0).UTC(), time.Unix(int64(tok.Hour+1)*3600, 0).UTC()
	}
	for _, i := range l.Issuances {
		if i.Token != tok {
			continue
		}
		p.Wh += i.Wh
		p.DevicesTotal++
		d := RECDeviceIssuance{Wh: i.Wh, Issuance: IssuanceView{Tx: i.TxHash.Hex(), Block: i.Block, Time: unixTime(i.Time), ClaimWh: i.Wh, Known: i.Known, Attestors: []string{}}}
		if i.Known {
			d.Device = i.Device.Hex()
			d.Issuance.ID, d.Issuance.Batch, d.Issuance.Issuer, d.Issuance.ReadingsRoot = i.ID.Hex(), i.BatchID.Hex(), i.Submitter.Hex(), i.ReadingsRoot.Hex()
			for _, a := range i.Attestors {
				d.Issuance.Attestors = append(d.Issuance.Attestors, a.Hex())
			}
		}
		p.Devices = append(p.Devices, d)
	}
	if p.DevicesTotal == 0 {
		return RECMetadata{}, false
	}
	for _, rt := range l.Retirements() {
		if rt.Token == tok {
			p.WhRetired += rt.Wh
		}
	}
	p.WhOutstanding = p.Wh - min(p.WhRetired, p.Wh)
	// Largest first, then chain order (the sort is stable).
	slices.SortStableFunc(p.Devices, func(a, b RECDeviceIssuance) int { return cmp.Compare(b.Wh, a.Wh) })
	if len(p.Devices) > maxMetadataDevices {
		p.Devices = p.Devices[:maxMetadataDevices]
	}
	hour := "hour " + tok.String()
	if !p.HourStart.IsZero() {
		hour = p.HourStart.Format("2006-01-02 15:04") + "–" + p.HourEnd.Format("15:04") + " UTC"
	}
	return RECMetadata{
		Name: fmt.Sprintf("REC %s %s %s", p.Zone, p.Technology, hour),
		Description: fmt.Sprintf("gridmint renewable energy certificates: one token is one Wh of %s electricity produced in grid zone %s in %s, "+
			"issued on chain from meter readings signed by the network's attestors. Retiring a token claims its Wh for a beneficiary.",
			strings.ReplaceAll(p.Technology, "_", " "), p.Zone, hour),
		Decimals: 0, Properties: p,
	}, true
}
