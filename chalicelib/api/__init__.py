"""HTTP routes: parse, call one use case, answer. One module per resource."""
