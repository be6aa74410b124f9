package landslide

import (
	"math"
	"testing"
)

func baseParams() Params {
	return Params{
		SlopeDeg: 35, DepthToBase: 3, WaterTableDepth: 1.5, SteadyFlux: 1e-8,
		Soil: Soil{Cohesion: 5000, FrictionDeg: 36, UnitWeight: 19500, Ksat: 5e-6, Diffusivity: 5e-5,
			ThetaSat: 0.42, ThetaRes: 0.05, Alpha: 3},
		Flow: FlowGeneral, WaterTableRise: true, BackgroundFlux: true, AnalyticFillable: true,
	}
}

func saturatedParams(finite bool) Params {
	p := baseParams()
	p.Soil.Alpha = -1
	p.FiniteDepth = finite
	return p
}

// With no rain the pressure head stays at the steady profile β(z − d).
func TestZeroRainIsSteady(t *testing.T) {
	for _, finite := range []bool{false, true} {
		p := saturatedParams(finite)
		c, err := newColumn(p, Rainfall{{0, 86400, 0}})
		if err != nil {
			t.Fatal(err)
		}
		z := Depths(0, p.DepthToBase, 30)
		pr := c.saturated(86400, z)
		for _, n := range pr.Nodes {
			want := math.Min(c.beta*(n.Z-p.WaterTableDepth), c.beta*n.Z)
			if math.Abs(n.Psi-want) > 1e-15 {
				t.Fatalf("finite=%v z=%g: got ψ %g, want %g", finite, n.Z, n.Psi, want)
			}
		}
	}
}

// Mass balance: a unit normalised flux for a time τ stores D1·τ over the
// column (∫ψ dz), for the finite-depth solution in both of its series and
// for Iverson's infinite-depth solution.
func TestStepResponseMassBalance(t *testing.T) {
	const d1, L = 1e-4, 2.0
	for _, tau := range []float64{600, 3600, 13333, 13334, 86400, 2e5, 1e6} { // across the early/late switch (L²/(3·D1) ≈ 13333 s)
		n := 4000
		sum := 0.0
		for i := 0; i <= n; i++ {
			z := L * float64(i) / float64(n)
			w := 1.0
			if i == 0 || i == n {
				w = 0.5
			}
			sum += w * finiteStep(z, tau, d1, L, 200)
		}
		got := sum * L / float64(n)
		if want := d1 * tau; math.Abs(got-want) > 1e-6*want+1e-9 {
			t.Errorf("finite τ=%g: ∫ψdz = %.9g, want %.9g", tau, got, want)
		}
	}
	for _, tau := range []float64{600, 3600, 86400} {
		zmax := 20 * math.Sqrt(d1*tau)
		n := 20000
		sum := 0.0
		for i := 0; i <= n; i++ {
			z := zmax * float64(i) / float64(n)
			w := 1.0
			if i == 0 || i == n {
				w = 0.5
			}
			sum += w * iversonStep(z, tau, 4*d1)
		}
		got := sum * zmax / float64(n)
		if want := d1 * tau; math.Abs(got-want) > 1e-4*want {
			t.Errorf("infinite τ=%g: ∫ψdz = %.9g, want %.9g", tau, got, want)
		}
	}
}

// The early-time (image) and late-time (Fourier) finite-depth series agree
// where they switch, and the finite-depth solution equals the infinite-depth
// one while the pressure front is far from the base.
func TestFiniteDepthSeriesAgree(t *testing.T) {
	const d1, L = 1e-4, 2.0
	for _, th := range []float64{0.05, finiteLateTime, 1, 5} {
		tau := th * L * L / d1
		for _, z := range []float64{0, 0.5, 1, 1.9, 2} {
			x := L - z
			late := d1*tau/L + (3*x*x-L*L)/(6*L)
			s := 0.0
			for n := 1; n < 50; n++ {
				rn := float64(n)
				s += math.Pow(-1, rn) / (rn * rn) * math.Exp(-d1*tau*rn*rn*math.Pi*math.Pi/(L*L)) * math.Cos(rn*math.Pi*x/L)
			}
			late -= 2 * L * s / (math.Pi * math.Pi)
			// the image series, summed here without the switch
			t1 := math.Sqrt(tau * d1)
			im := 0.0
			for n := 1; n < 400; n++ {
				rn := 2*float64(n) - 1
				im += ierfc((rn*L-x)/(2*t1)) + ierfc((rn*L+x)/(2*t1))
			}
			early := 2 * t1 * im
			if got := finiteStep(z, tau, d1, L, 400); math.Abs(late-early) > 1e-12 || math.Abs(got-early) > 1e-12 {
				t.Errorf("θ=%g z=%g: Fourier %.15g, images %.15g, finiteStep %.15g", th, z, late, early, got)
			}
			// the load response: image and Fourier forms agree
			h := L - z
			img := 0.0
			for n := 1; n < 400; n++ {
				rn := 2*float64(n) - 1
				sg := 1.0
				if n%2 == 0 {
					sg = -1
				}
				img += sg * (math.Erfc((rn*L-h)/(2*t1)) + math.Erfc((rn*L+h)/(2*t1)))
			}
			if got := finiteLoadStep(h, L, t1, 400); math.Abs(got-img) > 1e-12 {
				t.Errorf("θ=%g h=%g: finiteLoadStep %.15g, images %.15g", th, h, got, img)
			}
		}
	}
	for _, z := range []float64{0, 0.1, 0.3} {
		tau := 600.0 // sqrt(D1 τ) = 0.24 m ≪ L − z
		fin := finiteStep(z, tau, d1, L, 200)
		inf := iversonStep(z, tau, 4*d1)
		if math.Abs(fin-inf) > 1e-9 {
			t.Errorf("z=%g: finite %.12g, infinite %.12g", z, fin, inf)
		}
	}
}

// Dry soil: the unsaturated model at t = 0 is the steady Gardner profile
// ψ = cosδ/α′·ln[q/Ks − (q/Ks − 1)·exp(−α′(d − z))], α′ = α·cos²δ.
func TestUnsaturatedSteadyGardner(t *testing.T) {
	p := baseParams()
	ps, err := UnsaturatedProfiles(p, Rainfall{{0, 3600, 1e-6}}, TimeGrid{Step: 600, Steps: 6}, []int{0}, 0, 30)
	if err != nil {
		t.Fatal(err)
	}
	cd := math.Cos(p.SlopeDeg * math.Pi / 180)
	al := p.Soil.Alpha * cd * cd
	r := p.SteadyFlux / p.Soil.Ksat
	for _, n := range ps[0].Nodes {
		if n.Z >= p.WaterTableDepth {
			continue
		}
		want := cd / al * math.Log(r-(r-1)*math.Exp(-al*(p.WaterTableDepth-n.Z)))
		if math.Abs(n.Psi-want) > 1e-12 {
			t.Errorf("z=%g: ψ %g, want %g", n.Z, n.Psi, want)
		}
		th := p.Soil.ThetaRes + (p.Soil.ThetaSat-p.Soil.ThetaRes)*math.Exp(al*want)
		if math.Abs(n.Theta-th) > 1e-12 {
			t.Errorf("z=%g: θ %g, want %g", n.Z, n.Theta, th)
		}
	}
}

func TestFactorOfSafetyTextbook(t *testing.T) {
	p := saturatedParams(false)
	p.Soil.Cohesion = 0
	fs, err := FactorOfSafety(p, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := math.Tan(36*math.Pi/180) / math.Tan(35*math.Pi/180)
	if math.Abs(fs-want) > 1e-14 {
		t.Errorf("dry cohesionless FS %g, want tanφ/tanδ = %g", fs, want)
	}
	// Full pore pressure ψ = z·cos²δ (slope-parallel seepage at the surface)
	// gives FS = (1 − γw/γs)·tanφ/tanδ.
	c := math.Cos(35 * math.Pi / 180)
	fs, _ = FactorOfSafety(p, 2, 2*c*c)
	if want2 := (1 - 9810.0/19500) * want; math.Abs(fs-want2) > 1e-12 {
		t.Errorf("saturated cohesionless FS %g, want %g", fs, want2)
	}
	if fs, _ := FactorOfSafety(p, 0.005, 0); fs != FSMax {
		t.Errorf("FS at 5 mm = %g, want the cap %g", fs, FSMax)
	}
}

// More rain never lowers the pressure head at any node and time, and in the
// saturated models never raises the factor of safety. (In the unsaturated
// model the suction-stress term χ·ψ = ψ·Se peaks at ψ = −1/α′, so wetting a
// very dry node can raise its FS slightly: that is the model, not a bug.)
func TestMoreRainNeverSafer(t *testing.T) {
	for _, model := range []string{"sat-inf", "sat-fin", "unsat"} {
		p := saturatedParams(model == "sat-fin")
		if model == "unsat" {
			p = baseParams()
		}
		g := TimeGrid{Step: 3600, Steps: 24}
		var prev []Profile
		for _, rate := range []float64{0, 5e-7, 1e-6, 3e-6, 1e-5} {
			rain := Rainfall{{0, 43200, rate}, {43200, 86400, rate / 2}}
			ps, err := UnsaturatedProfiles(p, rain, g, []int{6, 12, 18, 24}, 0, 20)
			if err != nil {
				t.Fatal(err)
			}
			if prev != nil {
				for k := range ps {
					for j := range ps[k].Nodes {
						a, b := prev[k].Nodes[j], ps[k].Nodes[j]
						if b.Psi < a.Psi-1e-9 || (model != "unsat" && b.FS > a.FS+1e-9) {
							t.Fatalf("%s rate %g t=%g z=%g: ψ %g→%g FS %g→%g", model, rate, ps[k].Time, b.Z, a.Psi, b.Psi, a.FS, b.FS)
						}
					}
				}
			}
			prev = ps
		}
	}
}

func TestValidate(t *testing.T) {
	bad := []func(*Params){
		func(p *Params) { p.SlopeDeg = 90 },
		func(p *Params) { p.DepthToBase = 0 },
		func(p *Params) { p.Soil.Ksat = 0 },
		func(p *Params) { p.Soil.Diffusivity = math.NaN() },
		func(p *Params) { p.WaterTableDepth = -1 },
	}
	for i, f := range bad {
		p := baseParams()
		f(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
	if err := (Rainfall{{0, 10, 1}, {11, 20, 1}}).Validate(); err == nil {
		t.Error("gap between periods accepted")
	}
	if err := (Rainfall{{0, 10, -1}}).Validate(); err == nil {
		t.Error("negative rain accepted")
	}
}

func TestGardnerRoots(t *testing.T) {
	for _, a := range []float64{0.05, 1, 4.2, 30} {
		r := gardnerRoots(a, 60)
		for k, x := range r {
			if lo, hi := (float64(k)+0.5)*math.Pi/a, float64(k+1)*math.Pi/a; x <= lo || x >= hi {
				t.Fatalf("a=%g root %d = %g outside (%g, %g)", a, k+1, x, lo, hi)
			}
			if f := math.Sin(a*x) + 2*x*math.Cos(a*x); math.Abs(f) > 1e-12*(1+2*x) {
				t.Fatalf("a=%g root %d = %g: residual %g", a, k+1, x, f)
			}
		}
	}
}

func TestIerfcTable(t *testing.T) {
	tab := newIerfcTable()
	worst := 0.0
	for x := 0.0; x < 7; x += 1e-4 {
		want := 0.0
		if x < farField {
			want = ierfc(x)
		}
		worst = math.Max(worst, math.Abs(tab.at(x)-want))
	}
	if worst > 1.4e-12 {
		t.Errorf("table error %g, bound 1.4e-12", worst)
	}
	t.Logf("max table error %.3g", worst)
}

// Output times after the last rainfall period (TRIGRS's extra dry period).
func TestUnsaturatedAfterRain(t *testing.T) {
	for _, finite := range []bool{false, true} {
		p := baseParams()
		p.FiniteDepth = finite
		ps, err := UnsaturatedProfiles(p, Rainfall{{0, 6 * 3600, 5e-6}}, TimeGrid{Step: 3600, Steps: 24}, []int{6, 12, 24}, 0, 20)
		if err != nil {
			t.Fatal(err)
		}
		for _, pr := range ps {
			for _, n := range pr.Nodes {
				if math.IsNaN(n.Psi) || math.IsNaN(n.FS) || n.FS <= 0 {
					t.Fatalf("finite=%v t=%g z=%g: ψ %g FS %g", finite, pr.Time, n.Z, n.Psi, n.FS)
				}
			}
		}
	}
}
