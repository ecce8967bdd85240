package api

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// A minimal PDF 1.4 writer for retirement statements: text lines in the
// standard Helvetica, Helvetica-Bold and Courier fonts (every PDF reader
// has them, so nothing is embedded), A4 pages, long lines wrapped. Text
// is WinAnsi: characters outside Latin-1 print as '?' (the HTML
// statement and the JSON keep them exactly). No dependency, and the same
// statement gives the same bytes.

// pdfFont selects one of the three standard fonts.
type pdfFont int

const (
	pdfRegular pdfFont = iota
	pdfBold
	pdfMono
)

// pdfLine is one paragraph: wrapped to the page width.
type pdfLine struct {
	Font pdfFont
	Size float64 // points
	Text string
	// Gap is extra space above, points.
	Gap float64
}

// A4 in points, and the margins.
const (
	pdfPageW  = 595.0
	pdfPageH  = 842.0
	pdfMargin = 56.0
)

// pdfWrap cuts text into lines that fit the page: by words, and inside
// a word (hashes, commands) when one word is too long.
func pdfWrap(l pdfLine) []string {
	// Average glyph width as a share of the size: Courier is 0.6 exactly;
	// Helvetica averages about 0.5 (0.55 bold), kept conservative.
	w := 0.52
	switch l.Font {
	case pdfBold:
		w = 0.58
	case pdfMono:
		w = 0.6
	}
	n := max(int((pdfPageW-2*pdfMargin)/(l.Size*w)), 10)
	var out []string
	for _, para := range strings.Split(l.Text, "\n") {
		cur := ""
		for _, word := range strings.Fields(para) {
			for utf8.RuneCountInString(word) > n {
				if cur != "" {
					out = append(out, cur)
					cur = ""
				}
				r := []rune(word)
				out = append(out, string(r[:n]))
				word = string(r[n:])
			}
			switch {
			case cur == "":
				cur = word
			case utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(word) <= n:
				cur += " " + word
			default:
				out = append(out, cur)
				cur = word
			}
		}
		out = append(out, cur)
	}
	return out
}

// pdfString is s as a PDF literal string in WinAnsi.
func pdfString(s string) string {
	var b strings.Builder
	b.WriteByte('(')
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r >= 0xa0 && r <= 0xff:
			fmt.Fprintf(&b, "\\%03o", r)
		default:
			b.WriteByte('?')
		}
	}
	b.WriteByte(')')
	return b.String()
}

// pdfDocument lays lines out on A4 pages and returns the PDF file.
func pdfDocument(title string, lines []pdfLine) []byte {
	var pages []bytes.Buffer
	var page *bytes.Buffer
	y := 0.0
	newPage := func() {
		pages = append(pages, bytes.Buffer{})
		page = &pages[len(pages)-1]
		y = pdfPageH - pdfMargin
	}
	newPage()
	fonts := map[pdfFont]string{pdfRegular: "/F1", pdfBold: "/F2", pdfMono: "/F3"}
	for _, l := range lines {
		lead := l.Size * 1.3
		y -= l.Gap
		for _, text := range pdfWrap(l) {
			if y-lead < pdfMargin {
				newPage()
			}
			y -= lead
			fmt.Fprintf(page, "BT %s %.1f Tf %.1f %.1f Td %s Tj ET\n", fonts[l.Font], l.Size, pdfMargin, y, pdfString(text))
		}
	}

	// Objects: 1 catalog, 2 pages, 3-5 fonts, 6 info, then a page and its
	// content stream per page.
	var objs []string
	kids := make([]string, len(pages))
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", 7+2*i)
	}
	objs = append(objs,
		"<< /Type /Catalog /Pages 2 0 R >>",
		fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages)),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Title %s /Producer (gridmint) >>", pdfString(title)),
	)
	for i, p := range pages {
		objs = append(objs,
			fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.0f %.0f] /Resources << /Font << /F1 3 0 R /F2 4 0 R /F3 5 0 R >> >> /Contents %d 0 R >>",
				pdfPageW, pdfPageH, 8+2*i),
			fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", p.Len(), p.String()),
		)
	}
	var out bytes.Buffer
	out.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return out.Bytes()
}
