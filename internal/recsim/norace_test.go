//go:build !race

package recsim

const raceEnabled = false
