package main

func runCassetteImport(env *environ, args []string) int {
	return fail(env, usageError{"cassette import: not built yet"})
}
