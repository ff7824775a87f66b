package main

func runCassetteLint(env *environ, args []string) int {
	return fail(env, usageError{"cassette lint: not built yet"})
}
