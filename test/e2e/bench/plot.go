/*
Copyright 2026 The atlas-issuer Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package bench

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"slices"
	"sort"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Plot geometry and colours.
const (
	plotW, plotH                        = 900, 560
	marginL, marginR, marginT, marginB  = 80, 220, 60, 70
	tickLen                             = 5
	seriesLimit, seriesCRs, seriesCerts = "latency limit: concurrency / (2 calls x latency)", "CertificateRequests (the issuer alone)", "Certificates (the whole cert-manager pipeline)"
	kindRequests                        = "CertificateRequests"
)

var (
	colBG    = color.RGBA{255, 255, 255, 255}
	colAxis  = color.RGBA{40, 40, 40, 255}
	colGrid  = color.RGBA{225, 225, 225, 255}
	colLimit = color.RGBA{150, 150, 150, 255}
	colCRs   = color.RGBA{31, 119, 180, 255}
	colCerts = color.RGBA{230, 120, 20, 255}
)

// canvas is an RGBA image with the few drawing primitives a chart needs.
type canvas struct{ img *image.RGBA }

func (c canvas) set(x, y int, col color.Color) {
	if image.Pt(x, y).In(c.img.Bounds()) {
		c.img.Set(x, y, col)
	}
}

// line draws a line of the given width; dash > 0 draws dash pixels on and
// dash off.
func (c canvas) line(x0, y0, x1, y1 float64, width int, dash int, col color.Color) {
	n := int(math.Max(math.Abs(x1-x0), math.Abs(y1-y0))) + 1
	for i := 0; i <= n; i++ {
		if dash > 0 && (i/dash)%2 == 1 {
			continue
		}
		t := float64(i) / float64(n)
		x, y := x0+t*(x1-x0), y0+t*(y1-y0)
		for dx := -(width - 1) / 2; dx <= width/2; dx++ {
			for dy := -(width - 1) / 2; dy <= width/2; dy++ {
				c.set(int(math.Round(x))+dx, int(math.Round(y))+dy, col)
			}
		}
	}
}

func (c canvas) dot(x, y float64, r int, col color.Color) {
	for dx := -r; dx <= r; dx++ {
		for dy := -r; dy <= r; dy++ {
			if dx*dx+dy*dy <= r*r {
				c.set(int(math.Round(x))+dx, int(math.Round(y))+dy, col)
			}
		}
	}
}

func (c canvas) rect(r image.Rectangle, col color.Color) {
	draw.Draw(c.img, r, &image.Uniform{col}, image.Point{}, draw.Src)
}

// text draws s with its left end at x and its baseline at y.
func (c canvas) text(x, y int, s string, col color.Color) {
	d := &font.Drawer{Dst: c.img, Src: image.NewUniform(col), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func textWidth(s string) int {
	return font.MeasureString(basicfont.Face7x13, s).Round()
}

// bold draws s twice, one pixel apart, for the title.
func (c canvas) bold(x, y int, s string, col color.Color) {
	c.text(x, y, s, col)
	c.text(x+1, y, s, col)
}

// yTicks are the log-scale gridlines.
var yTicks = []float64{0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}

// writePlot draws throughput against --max-concurrent-requests: the
// latency limit, the issuer alone and the whole pipeline, on log-log axes
// (concurrency 1, 4, 16, 64 equally spaced).
func writePlot(path string, points []ConcurrencyPoint, latency time.Duration) error {
	img, err := renderPlot(points, latency)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		_ = f.Close() // the encode error is the one to report
		return err
	}
	return f.Close()
}

func renderPlot(points []ConcurrencyPoint, latency time.Duration) (*image.RGBA, error) {
	if len(points) == 0 {
		return nil, fmt.Errorf("no points to plot")
	}
	var conc []int
	seen := map[int]bool{}
	yMin, yMax := math.Inf(1), math.Inf(-1)
	for _, p := range points {
		if !seen[p.Concurrency] {
			seen[p.Concurrency] = true
			conc = append(conc, p.Concurrency)
		}
		for _, v := range []float64{p.PerSecond, p.LimitPerSecond} {
			if v > 0 {
				yMin, yMax = math.Min(yMin, v), math.Max(yMax, v)
			}
		}
	}
	sort.Ints(conc)
	lo, hi := yTicks[0], yTicks[len(yTicks)-1]
	for _, t := range yTicks {
		if t <= yMin {
			lo = t
		}
	}
	for _, yTick := range slices.Backward(yTicks) {
		if yTick >= yMax*1.15 {
			hi = yTick
		}
	}

	c := canvas{image.NewRGBA(image.Rect(0, 0, plotW, plotH))}
	c.rect(c.img.Bounds(), colBG)
	x0, x1 := float64(marginL), float64(plotW-marginR)
	y0, y1 := float64(plotH-marginB), float64(marginT)
	xOf := func(i int) float64 {
		return x0 + 30 + float64(i)*(x1-x0-60)/math.Max(1, float64(len(conc)-1))
	}
	yOf := func(v float64) float64 {
		return y0 - (math.Log(v)-math.Log(lo))/(math.Log(hi)-math.Log(lo))*(y0-y1)
	}

	// Grid and y axis labels.
	for _, t := range yTicks {
		if t < lo || t > hi {
			continue
		}
		y := yOf(t)
		c.line(x0, y, x1, y, 1, 0, colGrid)
		c.line(x0-tickLen, y, x0, y, 1, 0, colAxis)
		lbl := trimFloat(t)
		c.text(int(x0)-tickLen-4-textWidth(lbl), int(y)+4, lbl, colAxis)
	}
	index := map[int]int{}
	for i, cc := range conc {
		index[cc] = i
		x := xOf(i)
		c.line(x, y0, x, y0+tickLen, 1, 0, colAxis)
		lbl := fmt.Sprint(cc)
		c.text(int(x)-textWidth(lbl)/2, int(y0)+tickLen+14, lbl, colAxis)
	}
	c.line(x0, y0, x1, y0, 1, 0, colAxis)
	c.line(x0, y0, x0, y1, 1, 0, colAxis)

	title := fmt.Sprintf("Throughput against --max-concurrent-requests, fake Atlas at %d ms per call", latency/time.Millisecond)
	c.bold((plotW-textWidth(title))/2, 30, title, colAxis)
	xl := "--max-concurrent-requests (log scale)"
	c.text(int(x0+x1)/2-textWidth(xl)/2, plotH-20, xl, colAxis)
	c.text(int(x0)-60, int(y1)-14, "certificates per second (log scale)", colAxis)

	// Series.
	type pt struct{ x, y, v float64 }
	series := map[string][]pt{}
	for _, p := range points {
		x := xOf(index[p.Concurrency])
		if p.LimitPerSecond > 0 && (len(series[seriesLimit]) == 0 || series[seriesLimit][len(series[seriesLimit])-1].x != x) {
			series[seriesLimit] = append(series[seriesLimit], pt{x, yOf(p.LimitPerSecond), p.LimitPerSecond})
		}
		name := seriesCerts
		if p.Kind == kindRequests {
			name = seriesCRs
		}
		if p.PerSecond > 0 {
			series[name] = append(series[name], pt{x, yOf(p.PerSecond), p.PerSecond})
		}
	}
	styles := []struct {
		name  string
		col   color.Color
		dash  int
		label bool
	}{
		{seriesLimit, colLimit, 6, false},
		{seriesCRs, colCRs, 0, true},
		{seriesCerts, colCerts, 0, true},
	}
	for si, s := range styles {
		pts := series[s.name]
		sort.Slice(pts, func(a, b int) bool { return pts[a].x < pts[b].x })
		for i := 1; i < len(pts); i++ {
			c.line(pts[i-1].x, pts[i-1].y, pts[i].x, pts[i].y, 2, s.dash, s.col)
		}
		for _, p := range pts {
			c.dot(p.x, p.y, 4, s.col)
			if s.label {
				// Requests above left, Certificates below right: the two
				// lines often nearly meet.
				lbl := fmt.Sprintf("%.1f", p.v)
				x, y := int(p.x)-8-textWidth(lbl), int(p.y)-8
				if si == 2 {
					x, y = int(p.x)+8, int(p.y)+18
				}
				c.text(x, y, lbl, s.col)
			}
		}
		// Legend.
		ly := marginT + 20 + si*48
		lx := plotW - marginR + 20
		c.line(float64(lx), float64(ly), float64(lx+28), float64(ly), 2, s.dash, s.col)
		c.dot(float64(lx+14), float64(ly), 4, s.col)
		for i, part := range wrap(s.name, 22) {
			c.text(lx+36, ly+4+i*13, part, colAxis)
		}
	}
	return c.img, nil
}

// wrap splits s into lines of at most n characters at spaces.
func wrap(s string, n int) []string {
	var out []string
	line := ""
	word := ""
	flush := func() {
		if line == "" {
			line = word
		} else if len(line)+1+len(word) <= n {
			line += " " + word
		} else {
			out = append(out, line)
			line = word
		}
		word = ""
	}
	for _, r := range s {
		if r == ' ' {
			flush()
			continue
		}
		word += string(r)
	}
	flush()
	return append(out, line)
}
