package main

func runContractExample(env *environ, args []string) int {
	return fail(env, usageError{"contract example: not built yet"})
}
