// Package landslide holds tsingma's slope-hazard domain code: rainfall
// infiltration and infinite-slope stability after Iverson (2000) as used by
// the USGS program TRIGRS (Baum et al. 2002, 2008; Savage et al. 2004 for
// the unsaturated Gardner zone), rolling rainfall accumulations, gauge
// interpolation, the territory-wide rainfall-to-landslide warning, the
// inverse-velocity failure-time forecast (Fukuzono 1985, Voight 1988) and
// the per-slope risk level that combines them.
//
// Everything here is pure: no file or network I/O, no printing, no
// package-level mutable state. Units are SI unless a name says otherwise:
// lengths and depths in m (depth measured vertically below the ground
// surface), time in s, rainfall intensity and hydraulic conductivity in m/s,
// diffusivity in m²/s, cohesion in Pa, unit weights in N/m³, angles in
// degrees, Gardner α in 1/m, pressure head in m of water (negative =
// suction). Values are safe for concurrent use unless a type says otherwise;
// the streaming types (Rolling, Forecaster) are not goroutine-safe.
package landslide
