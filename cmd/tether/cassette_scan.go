package main

func runCassetteScan(env *environ, args []string) int {
	return fail(env, usageError{"cassette scan: not built yet"})
}
