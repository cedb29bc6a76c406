package main

// wireGame wires the /game namespace and the game routes (issue 4).
// Nothing is wired yet: the original's game surface is not served, and the
// README says so.
func wireGame(*core) error { return nil }
