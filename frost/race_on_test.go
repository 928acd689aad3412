//go:build race

package frost

// raceEnabled: the race detector slows signing about eightfold; the
// heaviest tests sample instead of enumerating under it.
const raceEnabled = true
