/// Placeholder until the stage's benchmark is written: fails loudly rather than reporting a number.
func benchInflate(_ arguments: [String]) throws {
    throw BenchError("not written yet")
}
