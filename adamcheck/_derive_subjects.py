"""What ``adamcheck derive`` can print: shared by the CLI (choices) and
:mod:`adamcheck.symbolic._derive` (dispatch), without importing SymPy."""

SUBJECTS = (
    "recurrence",
    "conditions",
    "theorem22",
    "shi",
    "theorem23",
    "reddi-theorem1",
    "counterexample",
    "d1",
    "shi-threshold",
)
PROBLEMS = ("counterexample", "reddi-online", "reddi-experiment", "reddi-stochastic")
