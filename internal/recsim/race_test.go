//go:build race

package recsim

// raceEnabled: the race detector slows the simulated day tenfold.
const raceEnabled = true
